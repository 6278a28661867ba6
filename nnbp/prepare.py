"""A light-on-dark grayscale picture -> the (rows, cols) field a network reads, per style.

Three ways of making a network's input, named in weights files as ``preparation``:

- ``digit``: MNIST's. The digit is cropped to its ink, scaled (aspect kept) so its longer
  side fills 20 of the field's 28 pixels, anti-aliased, and placed with its centre of
  mass at the centre of the field.
- ``object``: Fashion-MNIST's. The object is trimmed of the background around it, scaled
  (aspect kept) so its longer side fills the whole field, and centred by its extent.
- ``plain``: the whole picture resized to the field, for data prepared some other way.

Every function takes and returns uint8 arrays with the ink (or object) high on a 0
background; ``None`` means nothing stood out from the background (a blank page).
``is_blank`` is that test for every style.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

STYLES = ("digit", "object", "plain")

BOX = 20 / 28  # MNIST fits the longer side of a digit in 20 px of its 28 px field
MIN_CONTRAST = 16  # ink must stand this far (of 255) above the background, else blank
INK_FRACTION = 0.1  # below 10% of the strongest ink is noise when finding the digit's box
OBJECT_FRACTION = 0.04  # an object's faint parts (a white shirt on white) still count
FRAME_BAND = 0.1  # a box's side lies within 10% of the framed piece's size from its edge
FRAME_COVER = 0.85  # and runs along at least 85% of that edge
FRAME_INSIDE = 0.01  # a box holds ink on at least 1% of its area
FRAME_THIN = 0.1  # or has sides thinner than 10% of its size (a "0" has thicker strokes)
MIN_DIGIT = 0.04  # a digit's larger side is at least 4% of the page's shorter side
STROKE = 0.35  # a digit's strokes are thinner than 35% of its larger side


def border(a: np.ndarray) -> np.ndarray:
    """The outermost ring of pixels of a 2-D array, flattened (corners twice)."""
    return np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])


def background_level(gray: np.ndarray) -> int:
    """The background's level in a light-on-dark uint8 picture.

    Ink is a minority of the pixels and only ever raises these two estimates, so the
    lower of them holds if either does: the border's median is off when the digit covers
    most of the border, the overall median when the ink covers most of the picture.
    """
    return min(int(np.median(border(gray))), int(np.median(gray)))


def resize(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Float32 (h, w) -> float32 (rows, cols), Lanczos (anti-aliased when shrinking)."""
    # A float32 array makes a mode "F" image, so nothing is rounded before the end.
    return np.asarray(Image.fromarray(a).resize((cols, rows), Image.Resampling.LANCZOS))


def to_uint8(a: np.ndarray) -> np.ndarray:
    """Floats -> uint8, rounded; Lanczos's small overshoot is clipped away."""
    return np.rint(np.clip(a, 0, 255)).astype(np.uint8)


def bounding_box(mask: np.ndarray) -> tuple[slice, slice]:
    """(rows, cols) slices of the smallest box holding every True pixel of a non-empty mask."""
    r = np.flatnonzero(mask.any(axis=1))
    c = np.flatnonzero(mask.any(axis=0))
    return slice(r[0], r[-1] + 1), slice(c[0], c[-1] + 1)


def is_blank(gray: np.ndarray) -> bool:
    """Whether nothing in a light-on-dark picture stands out from its background."""
    return int(gray.max()) - background_level(gray) < MIN_CONTRAST


def fit_digit(gray: np.ndarray, rows: int, cols: int) -> np.ndarray | None:
    """MNIST's preparation of a clean light-on-dark picture (a scan, a drawing).

    The background goes to 0 and the strongest ink to 255, as in MNIST's strokes (grey
    paper and pencil become black and white), the ink is cropped to its box and placed.
    """
    background = background_level(gray)
    peak = int(gray.max()) - background
    if peak < MIN_CONTRAST:
        return None  # nothing stands out from the background: no digit
    crop = gray[bounding_box(gray > background + INK_FRACTION * peak)].astype(np.float32)
    return place_digit(np.clip((crop - background) * (255 / peak), 0, 255), rows, cols)


def is_clean(gray: np.ndarray) -> bool:
    """Whether a light-on-dark picture is a clean scan that ``fit_digit`` reads as it is.

    Clean: the paper is one flat level (no lighting gradient, no shadow) and the ink is
    strokes (no square of a third of the digit's size is solid ink), the ink leaves
    no empty row or column inside its bounding box (no speck, ruled line or second piece
    apart from the rest), is not a lone speck, holds no ruled line and is not framed by
    a box. Anything else is a photographed page, cleaned first (photo.py).
    """
    background = background_level(gray)
    peak = int(gray.max()) - background
    ink = gray > background + INK_FRACTION * peak
    if not _flat(gray, ink, max(6, 0.05 * peak)):
        return False
    box = bounding_box(ink)
    if not (ink[box].any(axis=1).all() and ink[box].any(axis=0).all()):
        return False
    if max(ink[box].shape) < MIN_DIGIT * min(gray.shape):
        return False  # a speck of dust, not a digit
    if _has_solid_square(ink, max(3, round(STROKE * max(ink[box].shape)))):
        return False  # a shadow or a dark side, not strokes
    return not _ruled(ink) and frame_sides(ink[box]) is None


def _has_solid_square(ink: np.ndarray, k: int) -> bool:
    """Whether some k x k square of the bool (h, w) ``ink`` is ink all over."""
    if k > min(ink.shape):
        return False
    sums = np.pad(ink.astype(np.int32).cumsum(0).cumsum(1), ((1, 0), (1, 0)))  # integral image
    inside = sums[k:, k:] - sums[:-k, k:] - sums[k:, :-k] + sums[:-k, :-k]
    return bool((inside == k * k).any())


def _ruled(ink: np.ndarray) -> bool:
    """Whether the bool (h, w) ink holds a ruled line: a band of rows (or columns) with
    ink across half the page, thinner than 3% of it (a digit's stroke is thicker)."""
    for axis in (0, 1):
        long = np.concatenate([[False], ink.mean(axis=1 - axis) >= 0.5, [False]])
        edges = np.flatnonzero(np.diff(long.astype(np.int8)))  # starts and ends of bands
        widths = edges[1::2] - edges[::2]
        if (widths <= max(3, 0.03 * ink.shape[axis])).any():
            return True
    return False


def _flat(gray: np.ndarray, ink: np.ndarray, tolerance: float) -> bool:
    """Whether the paper (the pixels not ``ink``) keeps one level, within ``tolerance``,
    across an 8x8 grid of blocks (blocks mostly ink are not judged)."""
    n = 8
    h, w = gray.shape[0] // n, gray.shape[1] // n
    if h < 2 or w < 2:
        return True  # too small to hold a gradient worth removing
    levels = []
    for i in range(n):
        for j in range(n):
            block = gray[i * h : (i + 1) * h, j * w : (j + 1) * w]
            paper = block[~ink[i * h : (i + 1) * h, j * w : (j + 1) * w]]
            if paper.size >= block.size // 4:
                levels.append(float(np.median(paper)))
    return not levels or max(levels) - min(levels) <= tolerance


def frame_sides(piece: np.ndarray) -> list[tuple[slice, slice]] | None:
    """The sides of a box drawn around something, when the bool (h, w) ink ``piece`` has
    straight runs along three or four sides of its bounding box: (rows, cols) slices
    holding each side. With nothing inside, a thick frame is a box-shaped "0" (not a
    box) and a thin one (sides under FRAME_THIN of its size) an empty box."""
    h, w = piece.shape
    if min(h, w) < 8:
        return None
    band = max(2, round(FRAME_BAND * min(h, w)))
    sides, thickest = [], 0
    for axis, edge in ((0, "start"), (0, "stop"), (1, "start"), (1, "stop")):
        strip = piece if axis == 0 else piece.T  # rows run along the edge
        strip = strip[::-1] if edge == "stop" else strip  # row 0 is the edge
        if strip[:band].any(axis=0).mean() < FRAME_COVER:
            continue
        cover = strip[: min(h, w) // 2].mean(axis=1)  # how much of each row is ink
        peak = int(cover[:band].argmax())  # the side itself; a tilted side starts lower
        ends = cover[peak:] < 0.5
        if not ends.any():
            return None  # solid ink, not a side with something inside it
        thick = peak + int(np.argmax(ends)) + 1  # to where it ends, and a fringe
        thickest = max(thickest, thick - 1)
        across = slice(0, thick) if edge == "start" else slice(-thick, None)
        sides.append((across, slice(None)) if axis == 0 else (slice(None), across))
    if len(sides) < 3:
        return None
    inside = piece.copy()
    for rows, cols in sides:
        inside[rows, cols] = False
    if thickest <= FRAME_THIN * min(h, w):
        return sides
    return sides if np.count_nonzero(inside) >= FRAME_INSIDE * piece.size else None


def place_digit(crop: np.ndarray, rows: int, cols: int) -> np.ndarray | None:
    """A digit cropped to its ink, float32 (h, w) in 0..255 -> uint8 (rows, cols): scaled
    so its longer side is 20/28 of the field, its centre of mass at the field's centre."""
    h, w = crop.shape
    box = max(1, round(min(rows, cols) * BOX))
    new_h = max(1, round(h * box / max(h, w)))
    new_w = max(1, round(w * box / max(h, w)))
    digit = to_uint8(resize(crop, new_h, new_w))
    total = digit.sum(dtype=np.float64)
    if total == 0:
        return None
    ys, xs = np.indices(digit.shape)
    cy = (digit * ys).sum(dtype=np.float64) / total
    cx = (digit * xs).sum(dtype=np.float64) / total
    # Shift the centre of mass onto the canvas centre (rows / 2, cols / 2 in index
    # coordinates, (14, 14) for MNIST), keeping the whole digit on the canvas.
    top = min(max(round(rows / 2 - cy), 0), rows - new_h)
    left = min(max(round(cols / 2 - cx), 0), cols - new_w)
    field = np.zeros((rows, cols), dtype=np.uint8)
    field[top : top + new_h, left : left + new_w] = digit
    return field


def fit_object(gray: np.ndarray, rows: int, cols: int) -> np.ndarray | None:
    """Fashion-MNIST's preparation: trim the background, fit the longer side to the field.

    Levels are not stretched (a product's own shades are what the network learnt), only
    the background is taken to 0: ``v -> (v - background) * 255 / (255 - background)``.
    """
    background = background_level(gray)
    peak = int(gray.max()) - background
    if peak < MIN_CONTRAST:
        return None
    box = bounding_box(gray > background + max(2, OBJECT_FRACTION * peak))
    crop = (gray[box].astype(np.float32) - background) * (255 / (255 - background))
    h, w = crop.shape
    scale = min(rows / h, cols / w)
    new_h = min(rows, max(1, round(h * scale)))
    new_w = min(cols, max(1, round(w * scale)))
    field = np.zeros((rows, cols), dtype=np.uint8)
    top, left = (rows - new_h) // 2, (cols - new_w) // 2
    field[top : top + new_h, left : left + new_w] = to_uint8(resize(crop, new_h, new_w))
    return field


def fit_plain(gray: np.ndarray, rows: int, cols: int) -> np.ndarray | None:
    """The whole picture resized to (rows, cols), levels kept."""
    if is_blank(gray):
        return None
    return to_uint8(resize(gray.astype(np.float32), rows, cols))


Stages = dict[str, np.ndarray]  # name -> uint8 (h, w) picture, in the preparation's order


def prepare_digit(gray: np.ndarray, rows: int, cols: int) -> tuple[np.ndarray | None, Stages]:
    """(field or None, stages): MNIST's preparation, of a clean scan as it is, of a
    photographed page after finding its digit (photo.py; SciPy needed)."""
    background = background_level(gray)
    peak = max(1, int(gray.max()) - background)
    if peak < MIN_CONTRAST:  # one flat level: nothing written
        nothing = np.zeros_like(gray)
        return None, _digit_stages(nothing, nothing > 0, nothing)
    if is_clean(gray):
        removed = to_uint8((gray.astype(np.float32) - background) * (255 / peak))
        ink = gray > background + INK_FRACTION * peak
        return fit_digit(gray, rows, cols), _digit_stages(removed, ink, removed * ink)
    from nnbp import photo

    cleaned = photo.clean_page(gray)
    found = cleaned.crop is not None
    if found and not cleaned.dropped and cleaned.flat:
        field = fit_digit(gray, rows, cols)  # nothing to clean after all: as a scan
    else:
        field = place_digit(cleaned.crop, rows, cols) if found else None
    removed = to_uint8(cleaned.strength * 255)
    return field, _digit_stages(removed, cleaned.mask, to_uint8(cleaned.kept))


def _digit_stages(removed: np.ndarray, mask: np.ndarray, kept: np.ndarray) -> Stages:
    return {"background removed": removed, "ink mask": mask.astype(np.uint8) * 255, "kept": kept}


def prepare_field(
    gray: np.ndarray, rows: int, cols: int, style: str
) -> tuple[np.ndarray | None, Stages]:
    """(field or None when nothing stands out, the stages between page and field) of a
    light-on-dark picture prepared in ``style`` (one of STYLES)."""
    if style == "digit":
        return prepare_digit(gray, rows, cols)
    fit = fit_object if style == "object" else fit_plain
    return fit(gray, rows, cols), {}
