"""An image file -> the 28x28 uint8 array a network trained on MNIST expects.

MNIST's digits were size-normalised to fit a 20x20 box keeping their aspect ratio
(anti-aliased, hence the grey levels), then placed in a 28x28 field so that their centre
of mass is at the centre; ink is high (255) on a 0 background. ``load_image`` does the
same to any image Pillow reads, after making it grayscale and, when its ink is dark on a
light background (a drawing, a photo of paper), inverting it.

The result stays uint8: ``nnbp.inputs.scale_images`` is the one place where pixels become
network inputs in [0, 1].
"""

from __future__ import annotations

import os
import stat
import struct
import warnings
from collections.abc import Callable
from typing import TypeVar

import numpy as np
from PIL import Image, UnidentifiedImageError

from nnbp.errors import ImageError

__all__ = ["MAX_PIXELS", "ImageError", "load_image", "to_text"]

T = TypeVar("T")

MAX_PIXELS = 50_000_000
"""Largest image (width * height, as the file declares it) we decode, about 50 megapixels.

Checked right after the header is read, before any pixel is decoded, so a small file
declaring a huge size is refused instead of making us allocate gigabytes. Pillow's own
decompression-bomb check (89M pixels warns, 179M refuses) stays active behind it.
"""

_BOX = 20 / 28  # MNIST fits the longer side of a digit in 20 px of its 28 px field
_MIN_CONTRAST = 16  # ink must stand this far (of 255) above the background, else blank
_INK_FRACTION = 0.1  # below 10% of the strongest ink is noise when finding the digit's box
_REFUSED_FORMATS = {"EPS"}  # Pillow renders EPS by running Ghostscript on the file
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
_CHARS = " .:-=+*#%@"  # to_text's intensity scale, from background to full ink

# What Pillow raises for bytes it cannot decode (a truncated PNG gives SyntaxError or
# EOFError, a bad header struct.error, a DDS with an unknown pixel format
# NotImplementedError, ...). Only calls into Pillow are wrapped (``_pillow``): the same
# exception from nnbp's own code is a bug and keeps its traceback.
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError)
_DECODE_ERRORS += (KeyError, TypeError, ZeroDivisionError, NotImplementedError)


def _reason(e: BaseException) -> str:
    """One line saying why Pillow failed, without repeating the path."""
    if isinstance(e, UnidentifiedImageError):
        return "unknown or unsupported format"
    text = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
    return " ".join(text.split()) or type(e).__name__


def _pillow(where: str, call: Callable[[], T]) -> T:
    """``call()``, a call into Pillow, with its decoding errors as ImageError naming ``where``."""
    try:
        with warnings.catch_warnings():
            # Pillow warns about oddities it recovers from (corrupt EXIF, ...): the library
            # never prints, and the image either decodes or raises. Its bomb warning becomes
            # an error so that a huge declared size is refused, never decoded.
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return call()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(f"{where}: refused as a possible decompression bomb ({e})") from None
    except _DECODE_ERRORS as e:
        raise ImageError(f"{where}: cannot read as an image ({_reason(e)})") from None


def _pixels(where: str, im: Image.Image) -> tuple[np.ndarray, np.ndarray | None, str]:
    """The decoded first frame of ``im`` (read from ``where``) as (gray, alpha, kind).

    gray is (h, w): uint8 for 8-bit modes (kind "8"), uint16 for 16-bit ones ("16"),
    int32 ("I") or float32 ("F") for the wide modes. alpha is (h, w) uint8, or None when
    the image has no transparency. np.array, not asarray: Pillow's buffer would give a
    read-only array.
    """
    mode = im.mode
    if mode.startswith("I;16"):
        return _pillow(where, lambda: np.array(im.convert("I"))).astype(np.uint16), None, "16"
    if mode in ("I", "F"):
        return _pillow(where, lambda: np.array(im)), None, mode
    if mode == "LAB":
        return _pillow(where, lambda: np.array(im.getchannel("L"))), None, "8"  # L*: lightness
    if mode in _ALPHA_MODES or "transparency" in im.info:
        # RGBA first: Pillow applies palette and single-colour (tRNS) transparency there.
        la = _pillow(where, lambda: im.convert("RGBA").convert("LA"))
        gray = _pillow(where, lambda: np.array(la.getchannel("L")))
        return gray, _pillow(where, lambda: np.array(la.getchannel("A"))), "8"
    if mode in ("L", "RGB", "1", "P"):
        return _pillow(where, lambda: np.array(im.convert("L"))), None, "8"
    # CMYK, YCbCr, HSV, ...: through RGB, which all of them reach.
    return _pillow(where, lambda: np.array(im.convert("RGB").convert("L"))), None, "8"


def _read(where: str) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Check that ``where`` is a regular file, decode it with Pillow; see ``_pixels``."""
    if "\0" in where:  # no file name holds one; os.stat would raise ValueError
        raise ImageError(f"{where!r}: not a file name (it holds a NUL byte; paths from"
                         " find -print0 need nnbp predict -0 -)")  # fmt: skip
    try:
        info = os.stat(where)
    except FileNotFoundError:
        raise ImageError(f"{where}: file not found") from None
    except OSError as e:
        raise ImageError(f"{where}: cannot read: {_reason(e)}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ImageError(f"{where}: is a directory, expected an image file")
    if not stat.S_ISREG(info.st_mode):
        # FIFOs and devices could block or never end.
        raise ImageError(f"{where}: not a regular file, expected an image file")
    if info.st_size == 0:
        raise ImageError(f"{where}: file is empty, expected an image file")
    with _pillow(where, lambda: Image.open(where)) as im:
        width, height = im.size
        if width * height > MAX_PIXELS:
            raise ImageError(
                f"{where}: image is {width}x{height} pixels, more than the {MAX_PIXELS}-pixel limit"
            )
        if im.format in _REFUSED_FORMATS:
            raise ImageError(f"{where}: {im.format} files are not supported")
        _pillow(where, im.load)  # the first frame only: Image.open leaves animations there
        return _pixels(where, im)


def _to_uint8(values: np.ndarray, kind: str) -> np.ndarray:
    """Wide gray levels (see ``_pixels``) -> uint8 (h, w) in 0..255.

    16-bit images map 0..65535 onto 0..255. "I" and "F" images carry no range, so it is
    guessed: values already in 0..255 are kept ("F" in 0..1 first multiplied by 255),
    0..65535 is taken as 16-bit, anything else is stretched from its min to its max.
    """
    if kind == "8":
        return values
    v = values.astype(np.float64)
    v[~np.isfinite(v)] = 0  # NaN/inf in a float TIFF: no meaningful level, call it 0
    lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 0.0)
    if kind == "16" or (lo >= 0 and 255 < hi <= 65535):
        v /= 257  # 65535 / 255
    elif kind == "F" and lo >= 0 and hi <= 1:
        v *= 255
    elif lo < 0 or hi > 255:
        v = (v - lo) * (255 / (hi - lo)) if hi > lo else np.zeros_like(v)
    return np.rint(np.clip(v, 0, 255)).astype(np.uint8)


def _border(a: np.ndarray) -> np.ndarray:
    """The outermost ring of pixels of a 2-D array, flattened (corners twice)."""
    return np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])


def _needs_inversion(gray: np.ndarray, alpha: np.ndarray | None) -> bool:
    """Whether the ink is dark on a light background, judged from the border.

    The background is what the border mostly shows: light (median > 127) means invert.
    With transparency, only opaque border pixels count; if the border is mostly
    transparent, the transparency is the background and the opaque pixels are the ink,
    so the ink's own median decides (dark ink: invert, as if drawn on white).
    """
    border = _border(gray)
    if alpha is not None:
        opaque = _border(alpha) >= 128
        if 2 * np.count_nonzero(opaque) < border.size:
            ink = gray[alpha >= 128]
            return ink.size > 0 and float(np.median(ink)) <= 127
        border = border[opaque]
    return float(np.median(border)) > 127


def _composite(gray: np.ndarray, alpha: np.ndarray, background: int) -> np.ndarray:
    """Blend uint8 ``gray`` (h, w) over a flat ``background`` level by uint8 ``alpha``."""
    a = alpha.astype(np.float32) / 255
    blended = gray * a + np.float32(background) * (1 - a)
    return np.rint(np.clip(blended, 0, 255)).astype(np.uint8)


def _fit(gray: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Light-on-dark uint8 (h, w) -> uint8 (rows, cols): crop, 20-px box, centre of mass."""
    # Ink is a minority of the pixels and only ever raises these two estimates of the
    # background level, so the lower of them holds if either does: the border's median
    # is off when the digit covers most of the border, the overall median when the ink
    # covers most of the image.
    background = min(int(np.median(_border(gray))), int(np.median(gray)))
    peak = int(gray.max()) - background
    blank = np.zeros((rows, cols), dtype=np.uint8)
    if peak < _MIN_CONTRAST:
        return blank  # nothing stands out from the background: no digit
    ink = gray > background + _INK_FRACTION * peak
    r = np.flatnonzero(ink.any(axis=1))
    c = np.flatnonzero(ink.any(axis=0))
    crop = gray[r[0] : r[-1] + 1, c[0] : c[-1] + 1].astype(np.float32)
    # The background goes to 0 and the strongest ink to 255, as in MNIST's strokes
    # (a photo's grey paper and pencil become black and white).
    crop = np.clip((crop - background) * (255 / peak), 0, 255)

    h, w = crop.shape
    box = max(1, round(min(rows, cols) * _BOX))
    new_h = max(1, round(h * box / max(h, w)))
    new_w = max(1, round(w * box / max(h, w)))
    # Lanczos anti-aliases when shrinking; its small overshoot is clipped away. (A float32
    # array makes a mode "F" image, so no rounding happens before the end.)
    resized = Image.fromarray(crop).resize((new_w, new_h), Image.Resampling.LANCZOS)
    digit = np.rint(np.clip(np.asarray(resized), 0, 255)).astype(np.uint8)

    total = digit.sum(dtype=np.float64)
    if total == 0:
        return blank
    ys, xs = np.indices(digit.shape)
    cy = (digit * ys).sum(dtype=np.float64) / total
    cx = (digit * xs).sum(dtype=np.float64) / total
    # Shift the centre of mass onto the canvas centre (rows / 2, cols / 2 in index
    # coordinates, (14, 14) for MNIST), keeping the whole digit on the canvas.
    top = min(max(round(rows / 2 - cy), 0), rows - new_h)
    left = min(max(round(cols / 2 - cx), 0), cols - new_w)
    blank[top : top + new_h, left : left + new_w] = digit
    return blank


def load_image(
    path: str | os.PathLike,
    *,
    invert: bool | None = None,
    size: tuple[int, int] = (28, 28),
) -> np.ndarray:
    """Read an image file as an MNIST-style digit: uint8 array of shape ``size`` (rows, cols).

    Any format Pillow reads (first frame of an animation) is made grayscale: colour by
    luma, 16-bit and float levels scaled into 0..255, transparent pixels counted as
    background. ``invert`` None detects the polarity (a light border means dark ink, which
    is inverted), True or False forces it. An image already of shape ``size`` that needs
    no inversion is returned as is, pixel for pixel. Otherwise the background is taken to
    0, the ink cropped to its bounding box, scaled (aspect kept) so its longer side fills
    20/28 of the canvas, and placed with its centre of mass at the centre; an image with
    no ink gives zeros. Raises ImageError naming ``path`` for anything it cannot read.
    """
    rows, cols = size
    if rows < 1 or cols < 1:
        raise ValueError(f"size must be two positive ints (rows, cols), got {size}")
    where = os.fspath(path)
    raw, alpha, kind = _read(where)
    gray = _to_uint8(raw, kind)
    if gray.size == 0:  # a header may declare a width or height of 0
        raise ImageError(f"{where}: image has no pixels ({gray.shape[1]}x{gray.shape[0]})")
    if invert is None:
        invert = _needs_inversion(gray, alpha)
    if alpha is not None:
        # Transparent pixels take the level that becomes 0 after the polarity step.
        gray = _composite(gray, alpha, 255 if invert else 0)
    if invert:
        gray = 255 - gray
    if gray.shape == (rows, cols) and not invert:
        return gray  # already MNIST-shaped and -coloured: what the net was trained on
    return _fit(gray, rows, cols)


def to_text(image: np.ndarray) -> str:
    """Draw a 2-D uint8 image (rows, cols) as ``rows`` lines of ``cols`` characters.

    Darker characters for more ink, from " " (0) to "@" (255); lines keep their trailing
    spaces so the shape shows, and there is no final newline.
    """
    a = np.asarray(image)
    if a.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {a.shape}")
    levels = np.clip(a, 0, 255).astype(np.int64) * len(_CHARS) // 256
    return "\n".join("".join(_CHARS[i] for i in row) for row in levels)
