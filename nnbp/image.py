"""An image file -> the 28x28 uint8 array a network expects.

MNIST's digits were size-normalised to fit a 20x20 box keeping their aspect ratio
(anti-aliased, hence the grey levels), then placed in a 28x28 field so that their centre
of mass is at the centre; ink is high (255) on a 0 background. ``load_image`` does the
same to any image Pillow reads, after making it grayscale and, when its ink is dark on a
light background (a drawing, a photo of paper), inverting it; a photographed page is
cleaned first (photo.py). Other styles (Fashion-MNIST's objects, plain resizing) and the
fitting itself are in prepare.py; this module reads files and decides the polarity.

The result stays uint8: ``nnbp.inputs.scale_images`` is the one place where pixels become
network inputs in [0, 1].
"""

from __future__ import annotations

import os
import stat
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TypeVar

import numpy as np
from PIL import Image, UnidentifiedImageError

from nnbp.errors import ImageError, MissingExtra
from nnbp.prepare import STYLES, border, is_blank, prepare_field

__all__ = ["MAX_PIXELS", "STYLES", "ImageError", "Prepared", "load_image", "prepare", "to_text"]

T = TypeVar("T")
Source = str | os.PathLike | IO[bytes]  # a path, or a binary file object (an upload)

MAX_PIXELS = 50_000_000
"""Largest image (width * height, as the file declares it) we decode, about 50 megapixels.

Checked right after the header is read, before any pixel is decoded, so a small file
declaring a huge size is refused instead of making us allocate gigabytes. Pillow's own
decompression-bomb check (89M pixels warns, 179M refuses) stays active behind it.
"""

_UNEVEN_BORDER = 32  # levels between the border's quartiles: lit unevenly, not one colour
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
    return _decode(where, where)


def _read_source(source: Source) -> tuple[str, np.ndarray, np.ndarray | None, str]:
    """(name for messages, gray, alpha, kind) of a path or a binary file object."""
    where = source_name(source)
    if hasattr(source, "read"):
        return (where, *_decode(where, source))
    return (where, *_read(where))


def source_name(source: Source) -> str:
    """How messages and records name an image: its path, or a file object's name."""
    if hasattr(source, "read"):
        return str(getattr(source, "name", "") or "<stream>")
    return str(os.fspath(source))


def _decode(where: str, source: str | IO[bytes]) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Decode a checked file (or a file object) named ``where``; see ``_pixels``."""
    with _pillow(where, lambda: Image.open(source)) as im:
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


def _needs_inversion(gray: np.ndarray, alpha: np.ndarray | None) -> bool:
    """Whether the ink is dark on a light background, judged from the border.

    The background is what the border mostly shows: light (median > 127) means invert.
    With transparency, only opaque border pixels count; if the border is mostly
    transparent, the transparency is the background and the opaque pixels are the ink,
    so the ink's own median decides (dark ink: invert, as if drawn on white). A border
    of many levels (a photo lit from one side, a shadow over a corner) says little: the
    whole image's median then decides, light when nearer its lightest levels than its
    darkest (the paper fills most of a page, whatever the light).
    """
    edge = border(gray)
    if alpha is not None:
        opaque = border(alpha) >= 128
        if 2 * np.count_nonzero(opaque) < edge.size:
            ink = gray[alpha >= 128]
            return ink.size > 0 and float(np.median(ink)) <= 127
        edge = edge[opaque]
    low, high = np.percentile(edge, [25, 75]) if edge.size else (0, 0)
    if high - low <= _UNEVEN_BORDER:
        return float(np.median(edge)) > 127
    darkest, median, lightest = np.percentile(gray, [1, 50, 99])
    return median - darkest > lightest - median


def _composite(gray: np.ndarray, alpha: np.ndarray, background: int) -> np.ndarray:
    """Blend uint8 ``gray`` (h, w) over a flat ``background`` level by uint8 ``alpha``."""
    a = alpha.astype(np.float32) / 255
    blended = gray * a + np.float32(background) * (1 - a)
    return np.rint(np.clip(blended, 0, 255)).astype(np.uint8)


@dataclass(frozen=True)
class Prepared:
    """An image file prepared for a network, with what ``predict --show`` draws."""

    image: np.ndarray  # uint8 (rows, cols): the network's input, ink high on 0
    blank: bool  # nothing stood out from the background: no ink (or object) found
    # Each stage of the preparation, in order: name -> uint8 (h, w) picture (only when
    # asked for, see ``prepare``); "page" as the file shows it, the others ink high.
    stages: dict[str, np.ndarray] = field(default_factory=dict)
    inverted: bool = False  # whether the file's ink was dark on light


def prepare(
    source: Source,
    *,
    invert: bool | None = None,
    size: tuple[int, int] = (28, 28),
    style: str = "digit",
    stages: bool = False,
) -> Prepared:
    """``load_image``'s result with whether the image is blank, and its stages if asked."""
    rows, cols = size
    if rows < 1 or cols < 1:
        raise ValueError(f"size must be two positive ints (rows, cols), got {size}")
    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
    where, raw, alpha, kind = _read_source(source)
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
        # Already MNIST-shaped and -coloured: what the net was trained on.
        return Prepared(gray, is_blank(gray), {"input": gray} if stages else {}, invert)
    try:
        field, between = prepare_field(gray, rows, cols, style)
    except MissingExtra as e:
        raise MissingExtra(f"{where}: {e}") from None
    image = np.zeros((rows, cols), np.uint8) if field is None else field
    page = 255 - gray if invert else gray  # as the file shows it
    shown = {"page": page, **between, "input": image} if stages else {}
    return Prepared(image, field is None, shown, invert)


def load_image(
    source: Source,
    *,
    invert: bool | None = None,
    size: tuple[int, int] = (28, 28),
    style: str = "digit",
) -> np.ndarray:
    """Read an image as a network input: uint8 array of shape ``size`` (rows, cols).

    ``source`` is a path or a binary file object (an upload held in io.BytesIO). Any
    format Pillow reads (first frame of an animation) is made grayscale: colour by luma,
    16-bit and float levels scaled into 0..255, transparent pixels counted as background.
    ``invert`` None detects the polarity (a light border means dark ink, which is
    inverted), True or False forces it. An image already of shape ``size`` that needs no
    inversion is returned as is, pixel for pixel. Otherwise ``style`` (one of STYLES, see
    prepare.py) says how it is fitted to the field: ``digit`` as MNIST's digits (ink
    cropped, 20/28 of the field, centre of mass at the centre), ``object`` as
    Fashion-MNIST's products (trimmed, fitted to the whole field, centred), ``plain``
    resized as it is. A photographed page (uneven light, ruled lines, a box, dust) is
    cleaned first, which needs SciPy (MissingExtra without it). An image with no ink
    gives zeros. Raises ImageError naming the file for anything it cannot read.
    """
    return prepare(source, invert=invert, size=size, style=style).image


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
