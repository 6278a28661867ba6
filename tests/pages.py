"""Photographs of handwriting, simulated: MNIST digits written on realistic pages.

A test helper (not shipped with nnbp): ``page(digit, kind, rng)`` draws one MNIST digit
(uint8 28x28, ink high) with a pen on a page of the given kind and returns the picture a
user's phone would give, as a Pillow RGB image, with the file format to save it in:

- ``clean``: black pen on white paper, saved as PNG (a scan);
- ``lighting``: grey paper lit from one side, blue pen, a noisy JPEG;
- ``notebook``: ruled notebook paper (blue lines, a red margin line), JPEG;
- ``box``: the digit inside a box drawn around it, as in a form's field;
- ``dust``: a few dark specks of dust near the page's edges;
- ``shadow``: a soft shadow across one corner, JPEG.

``digit=None`` draws the same page with nothing written on it (a blank page).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

KINDS = ("clean", "lighting", "notebook", "box", "dust", "shadow")


def page(
    digit: np.ndarray | None,
    kind: str,
    rng: np.random.Generator,
    size: tuple[int, int] = (300, 520),
) -> tuple[Image.Image, str]:
    """(picture, "PNG" or "JPEG") of ``digit`` written on a page of ``kind``, its height
    and width drawn from ``size`` (pixels), the digit's field a third of the page or so."""
    h, w = int(rng.integers(size[0], size[1] + 1)), int(rng.integers(size[0], size[1] + 1))
    paper, pen = _colours(kind, rng)
    rgb = np.ones((h, w, 3), np.float32) * paper.astype(np.float32)
    # The digit's 28x28 field on the page, in pixels.
    side = int(rng.integers(round(0.3 * min(h, w)), round(0.45 * min(h, w)) + 1))
    top = int(rng.integers(20, h - side - 20))
    left = int(rng.integers(max(20, w // 5), w - side - 20)) if kind == "notebook" else None
    left = int(rng.integers(20, w - side - 20)) if left is None else left
    if kind == "notebook":
        _ruled(rgb, rng)
    ink = np.zeros((h, w), np.float32)
    if digit is not None:
        scaled = Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC)
        ink[top : top + side, left : left + side] = np.clip(np.asarray(scaled) / 255, 0, 1)
    if kind == "box":
        ink = np.maximum(ink, _box(h, w, (top, left, side), digit, rng))
    if kind == "dust":
        ink = np.maximum(ink, _dust(h, w, rng))
    rgb = rgb * (1 - ink[..., None]) + np.array(pen, np.float32) * ink[..., None]
    if kind == "lighting":
        rgb *= _gradient(h, w, rng)[..., None]
    if kind == "shadow":
        rgb *= _corner_shadow(h, w, rng)[..., None]
    if kind != "clean":
        rgb += 2.5 * rng.standard_normal(rgb.shape, np.float32)  # sensor noise
    picture = Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8), "RGB")
    return picture, "PNG" if kind == "clean" else "JPEG"


def save(picture: Image.Image, fmt: str, rng: np.random.Generator) -> bytes:
    """The picture's file content: PNG, or JPEG at a phone's quality (60 to 90)."""
    buf = io.BytesIO()
    if fmt == "JPEG":
        picture.save(buf, "JPEG", quality=int(rng.integers(60, 91)))
    else:
        picture.save(buf, "PNG")
    return buf.getvalue()


def _colours(kind: str, rng: np.random.Generator) -> tuple[np.ndarray, tuple[float, ...]]:
    """(paper RGB, pen RGB): white paper and a black pen, grey paper and a blue one."""
    if kind == "lighting":
        grey = rng.uniform(165, 205)
        paper = np.array([grey, grey * rng.uniform(0.97, 1.0), grey * rng.uniform(0.9, 0.97)])
        return paper, (rng.uniform(15, 40), rng.uniform(30, 60), rng.uniform(120, 170))
    white = rng.uniform(225, 252)
    paper = np.array([white, white, white * rng.uniform(0.95, 1.0)])
    if kind == "notebook" and rng.random() < 0.5:
        return paper, (rng.uniform(20, 40), rng.uniform(30, 60), rng.uniform(130, 180))
    return paper, (rng.uniform(10, 40),) * 3


def _ruled(rgb: np.ndarray, rng: np.random.Generator) -> None:
    """Draw light blue ruled lines across the page and a red margin line down it."""
    h, w, _ = rgb.shape
    spacing = int(rng.integers(26, 40))
    thick = int(rng.integers(1, 3))
    blue = (rng.uniform(140, 175), rng.uniform(170, 200), rng.uniform(215, 240))
    for y in range(int(rng.integers(20, 50)), h, spacing):
        rgb[y : y + thick] = blue
    x = int(rng.uniform(0.08, 0.16) * w)
    rgb[:, x : x + 2] = (rng.uniform(200, 235), rng.uniform(70, 110), rng.uniform(80, 120))


def _box(h: int, w: int, field: tuple[int, int, int], digit: np.ndarray | None,
         rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """Ink (h, w) of a rectangle drawn around the digit's ink, a few pixels clear of it."""
    top, left, side = field
    r0, r1, c0, c1 = 4, 24, 4, 24  # MNIST's 20-pixel box, when there is no digit
    if digit is not None:
        rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
        r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    scale = side / 28
    pad = rng.integers(6, 26, size=4)
    y0, y1 = max(2, int(top + r0 * scale - pad[0])), min(h - 3, int(top + r1 * scale + pad[1]))
    x0, x1 = max(2, int(left + c0 * scale - pad[2])), min(w - 3, int(left + c1 * scale + pad[3]))
    frame = Image.new("L", (w, h), 0)
    ImageDraw.Draw(frame).rectangle((x0, y0, x1, y1), outline=255, width=int(rng.integers(2, 5)))
    return np.asarray(frame) / 255


def _dust(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Ink (h, w) of 3 to 8 dark specks, each within 12% of the page's edge."""
    dust = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(dust)
    for _ in range(int(rng.integers(3, 9))):
        y, x = rng.uniform(0, h), rng.uniform(0, w)
        edge = int(rng.integers(4))  # which edge the speck lies near
        if edge < 2:
            y = rng.uniform(0, 0.12 * h) if edge == 0 else rng.uniform(0.88 * h, h)
        else:
            x = rng.uniform(0, 0.12 * w) if edge == 2 else rng.uniform(0.88 * w, w)
        r = rng.uniform(1.5, 4.5)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=int(rng.uniform(180, 255)))
    return np.asarray(dust) / 255


def _gradient(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Light (h, w) falling from 1 on the lit side to 0.45-0.65 on the far side."""
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.indices((h, w))
    t = (xs - w / 2) * np.cos(angle) + (ys - h / 2) * np.sin(angle)
    t = (t - t.min()) / (t.max() - t.min())
    return 1 - rng.uniform(0.35, 0.55) * t**1.3


def _corner_shadow(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Light (h, w): 1, and 0.4-0.6 in a soft-edged shadow over one corner."""
    ys, xs = np.indices((h, w)).astype(float)
    if rng.random() < 0.5:
        ys = h - 1 - ys
    if rng.random() < 0.5:
        xs = w - 1 - xs
    reach = rng.uniform(0.3, 0.5) * (h + w) / 2  # how far from the corner the shadow goes
    softness = rng.uniform(12, 40)  # width of its edge, in pixels
    inside = 1 / (1 + np.exp(((xs + ys) / np.sqrt(2) - reach) / softness))
    return 1 - rng.uniform(0.4, 0.6) * inside
