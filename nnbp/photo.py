"""Finding the handwriting on a photographed page (SciPy's ``ndimage``: the ``photos`` extra).

A photo of a page is no clean scan: the paper is grey and unevenly lit, a shadow may lie
across a corner, and besides the digit the page holds ruled lines, a margin line, a box
drawn around the digit, dust. ``clean_page`` keeps the digit's strokes and nothing else:

1. the paper's brightness at each pixel (the background) is a grey closing of the page
   (smoothed a little first), which removes every stroke narrower than its window;
2. dividing the page by it gives the ink's strength ``s = 1 - page / background``, from 0
   (paper) to 1 (black ink): lighting and shadows divide out, and the threshold that
   follows is relative to the paper around each stroke;
3. ruled lines and margin lines (thin straight runs across 3/4 of the page) are
   subtracted;
4. the ink is what stands above half the strong ink's level (the 90th percentile of the
   ink's strengths), with its fainter edges (hysteresis down to a quarter); the digit's
   own level becomes 255, as in MNIST's strokes;
5. a piece of ink framed by straight runs on three or four sides of its bounding box
   (a box drawn around the digit) loses those sides;
6. the digit is the strongest piece not touching the page's border, with the pieces
   inside or near it; dust, far specks and junk touching the border are dropped (a
   page holding only specks or junk holds no digit; a digit touching the border of a
   photo is not found: a clean scan cropped tightly is read as it is, see prepare.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from nnbp.errors import MissingExtra
from nnbp.prepare import INK_FRACTION, MIN_DIGIT, bounding_box, frame_sides

INSTALL_HINT = (
    "reading a photographed page needs SciPy; install it with: pip install 'nnbp[photos]'"
    " (make install includes it)"
)
try:
    from scipy import ndimage
except ImportError:
    raise MissingExtra(INSTALL_HINT) from None

WORK_SIDE = 1024  # pages are cleaned at most this many pixels on their longer side
WINDOW = 1 / 6  # the background's window, as a share of the page's shorter side
FLAT = 12  # levels (of 255) the paper may vary by and still be one flat level
LINE = 0.75  # a ruled line runs straight across at least 3/4 of the page
THIN = 0.03  # and is thinner than 3% of the page
LEVEL = 90  # percentile of the ink's strengths that counts as full ink (255)
STRONG, WEAK = 0.5, 0.25  # ink thresholds, as shares of the strongest ink's level
EDGE = 2  # pixels around the kept strokes that keep their faint edges
MIN_LEVEL = 0.12  # ink weaker than this (12% darker than its paper) is no ink at all
SPECK = 0.1  # blobs smaller than 10% of the page's shorter side are dust
SPECK_PAIR = 0.07  # and two specks touching, smaller than 7% of it
NEAR = 0.35  # pieces this close to the digit (a share of its size) belong to it
MIN_PIECE = 0.03  # ... when they hold at least this share of its ink
_EIGHT = np.ones((3, 3), dtype=bool)  # pixels touching by a corner are connected


@dataclass(frozen=True)
class Cleaned:
    """What ``clean_page`` found; pictures are (h, w) at the working scale."""

    strength: np.ndarray  # float32 in [0, 1]: the ink's strength, background removed
    mask: np.ndarray  # bool: every piece of ink found (lines excluded)
    kept: np.ndarray  # float32 in [0, 255]: the digit's strokes, nothing else
    crop: np.ndarray | None  # float32 kept cropped to the digit's ink; None: no ink
    dropped: bool  # whether anything on the page was not the digit (lines, box, specks)
    flat: bool  # whether the paper is one level (no lighting to correct)


def clean_page(page: np.ndarray) -> Cleaned:
    """Keep the digit on a light-on-dark uint8 (h, w) page (see the module's docstring)."""
    paper = 255 - _working_scale(page).astype(np.float32)  # the page as photographed
    background = _background(paper)
    flat = float(background.max() - background.min()) <= FLAT
    removed = np.clip(1 - paper / np.maximum(background, 1), 0, 1)
    s, lines = _without_lines(removed)
    inky = s[s > MIN_LEVEL]
    level = float(np.percentile(inky, LEVEL)) if inky.size else 0.0
    if level < 2 * MIN_LEVEL:  # no ink stands out: a blank page
        empty = np.zeros(s.shape, np.float32)
        return Cleaned(removed, s > 1, empty, None, lines, flat)
    mask = _hysteresis(s, STRONG * level, WEAK * level)
    mask, framed = _without_frames(mask)
    labels, n = ndimage.label(mask, structure=_EIGHT)
    kept_labels = _digit(labels, n, s)
    keep = np.isin(labels, kept_labels)
    # The strokes' soft edges, as a clean scan keeps them.
    grown = ndimage.binary_dilation(keep, structure=_EIGHT, iterations=EDGE)
    if keep.any():
        level = float(np.percentile(s[keep], LEVEL))  # the digit's own ink is full ink
    kept = (np.clip(s / level, 0, 1) * 255 * grown).astype(np.float32)
    # Cropped where a clean scan is (prepare.fit_digit): at a tenth of the full ink.
    crop = kept[bounding_box(kept > INK_FRACTION * 255)] if keep.any() else None
    dropped = lines or framed or len(kept_labels) < n
    return Cleaned(removed, mask, kept, crop, dropped, flat)


def _working_scale(page: np.ndarray) -> np.ndarray:
    """The page shrunk (box filter) so its longer side is at most WORK_SIDE pixels."""
    h, w = page.shape
    if max(h, w) <= WORK_SIDE:
        return page
    f = WORK_SIDE / max(h, w)
    small = Image.fromarray(page).resize((max(1, round(w * f)), max(1, round(h * f))),
                                         Image.Resampling.BOX)  # fmt: skip
    return np.asarray(small)


def _background(paper: np.ndarray) -> np.ndarray:
    """The paper's brightness (h, w): strokes narrower than the window closed over.

    The page is first smoothed a little, so that the closing (an upper envelope) does
    not follow the noise's peaks; no smoothing after it, which would bleed a shadow's
    edge into the paper beside it.
    """
    k = max(9, round(min(paper.shape) * WINDOW)) | 1
    return ndimage.grey_closing(ndimage.gaussian_filter(paper, 1.5), size=(k, k))


def _without_lines(s: np.ndarray) -> tuple[np.ndarray, bool]:
    """(s less its ruled lines and margin lines, whether there were any).

    A line is a thin straight run of ink across 3/4 of the page (a grey opening with a
    line of that length, less what is as thick as THIN of the page: a digit's stroke in
    a tightly cropped picture is thick); the ink is first thickened by a pixel across
    the run, so that a slightly tilted line still runs. Where the digit crosses a line,
    only the line's own strength is subtracted, so the stroke stays whole.
    """
    lines = np.zeros_like(s)
    for axis in (0, 1):
        length = max(3, round(s.shape[axis] * LINE))
        across = max(3, round(s.shape[1 - axis] * THIN))
        thick = ndimage.maximum_filter1d(s, 3, axis=1 - axis)
        run = np.minimum(s, _opening(thick, length, axis))
        lines = np.maximum(lines, run - _opening(run, across, 1 - axis))
    return np.clip(s - lines, 0, 1), bool(lines.max(initial=0) > MIN_LEVEL)


def _opening(a: np.ndarray, length: int, axis: int) -> np.ndarray:
    """Grey opening of ``a`` by a line of ``length`` pixels along ``axis``."""
    run = ndimage.minimum_filter1d(a, length, axis=axis)
    return ndimage.maximum_filter1d(run, length, axis=axis)


def _hysteresis(s: np.ndarray, high: float, low: float) -> np.ndarray:
    """Pixels above ``low`` connected to a pixel above ``high``."""
    labels, n = ndimage.label(s > low, structure=_EIGHT)
    strong = np.zeros(n + 1, dtype=bool)
    strong[np.unique(labels[s > high])] = True
    strong[0] = False
    return strong[labels]


def _without_frames(mask: np.ndarray) -> tuple[np.ndarray, bool]:
    """(mask without the sides of boxes drawn around the digit, whether there were any)."""
    labels, _ = ndimage.label(mask, structure=_EIGHT)
    out, framed = mask.copy(), False
    for i, box in enumerate(ndimage.find_objects(labels), start=1):
        piece = labels[box] == i
        sides = frame_sides(mask[box])  # all the ink in its box: a digit inside counts
        if sides is None:
            continue
        framed = True
        region = out[box]  # a view: clearing it clears ``out``
        for rows, cols in sides:
            region[rows, cols] &= ~piece[rows, cols]
    return out, framed


def _digit(labels: np.ndarray, n: int, s: np.ndarray) -> list[int]:
    """The labels of the pieces that make the digit (see the module's docstring, step 6)."""
    h, w = labels.shape
    index = np.arange(1, n + 1)
    mass = ndimage.sum_labels(s, labels, index)
    slices = ndimage.find_objects(labels)
    boxes = [(b[0].start, b[0].stop, b[1].start, b[1].stop) for b in slices]
    inner = [b[0] > 0 and b[2] > 0 and b[1] < h and b[3] < w for b in boxes]
    dust = [_speck(labels[b] == i, min(h, w)) for i, b in enumerate(slices, start=1)]
    order = [i for i in sorted(range(n), key=lambda i: -mass[i]) if inner[i] and not dust[i]]
    if not order:
        return []  # only specks and junk along the border (a shadow's edge, the table)
    main = order[0]
    kept, (r0, r1, c0, c1) = {main}, boxes[main]
    grew = True
    while grew:
        grew = False
        reach = NEAR * max(r1 - r0, c1 - c0)
        for i in order:
            b = boxes[i]
            if i in kept:
                continue
            inside = b[0] >= r0 and b[1] <= r1 and b[2] >= c0 and b[3] <= c1
            gap = max(b[0] - r1, r0 - b[1], b[2] - c1, c0 - b[3], 0)
            if inside or (mass[i] >= MIN_PIECE * mass[main] and gap <= reach):
                kept.add(i)
                r0, r1, c0, c1 = min(r0, b[0]), max(r1, b[1]), min(c0, b[2]), max(c1, b[3])
                grew = True
    return [int(index[i]) for i in sorted(kept)]


def _speck(piece: np.ndarray, page_side: int) -> bool:
    """Whether a piece of ink (bool, its bounding box) is dust: tiny, or small and a blob
    rather than strokes. The largest disc inside a round speck is half its size, inside
    two touching specks a quarter; inside a digit's strokes, a fifth at most for the
    boldest small digits, a tenth for most."""
    side = max(piece.shape)
    if side < MIN_DIGIT * page_side or side >= SPECK * page_side:
        return side < MIN_DIGIT * page_side
    thickness = ndimage.distance_transform_edt(piece).max() / side
    return thickness >= 0.3 or (side < SPECK_PAIR * page_side and thickness >= 0.2)
