"""nnbp.image: image files -> MNIST-style 28x28 uint8 digits, and their text drawing.

Every image is drawn here with Pillow/numpy and written to tmp_path.
"""

from __future__ import annotations

import io
import re
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFilter

import nnbp.image
from nnbp.errors import DataError, ImageError
from nnbp.image import MAX_PIXELS, load_image, to_text


def mnist_like() -> np.ndarray:
    """uint8 (28, 28): a blurred light "7" on black inside the central 20x20, like MNIST."""
    im = Image.new("L", (28, 28), 0)
    draw = ImageDraw.Draw(im)
    draw.line([(8, 6), (20, 6), (12, 22)], fill=255, width=3)
    # The blur gives the grey levels of MNIST's anti-aliasing, so "bit-identical" means it.
    return np.array(im.filter(ImageFilter.GaussianBlur(0.8)))


def dark_digit(width: int, height: int, box: tuple[int, int, int, int]) -> Image.Image:
    """A white "L" canvas of width x height with a thick black angular "2" in box.

    box is (x0, y0, x1, y1), the stroke's centre line; the "2" is lopsided enough that
    centring its box and centring its mass differ.
    """
    im = Image.new("L", (width, height), 255)
    x0, y0, x1, y1 = box
    stroke = max(2, (y1 - y0) // 8)
    ym = y0 + (y1 - y0) * 2 // 5
    points = [(x0, y0 + stroke), (x0 + stroke, y0), (x1, y0), (x1, ym), (x0, y1), (x1, y1)]
    ImageDraw.Draw(im).line(points, fill=0, width=stroke, joint="curve")
    return im


def save(im: Image.Image, path: Path, **kwargs) -> Path:
    im.save(path, **kwargs)
    return path


def centre_of_mass(a: np.ndarray) -> tuple[float, float]:
    ys, xs = np.indices(a.shape)
    total = a.sum(dtype=np.float64)
    return (a * ys).sum() / total, (a * xs).sum() / total


def assert_mnist_style(a: np.ndarray) -> None:
    """Shape, dtype, dark border, saturated ink, 20-px box, centre of mass at (14, 14)."""
    assert a.shape == (28, 28) and a.dtype == np.uint8
    assert np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]]).max() <= 5
    assert a.max() >= 250
    rows = np.flatnonzero(a.max(axis=1) > 0)
    cols = np.flatnonzero(a.max(axis=0) > 0)
    assert 18 <= max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) <= 20
    cy, cx = centre_of_mass(a)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


# --- MNIST images come back exactly --------------------------------------------------


@pytest.mark.parametrize("ext", ["png", "bmp", "pgm", "tiff", "gif"])
def test_mnist_image_round_trips_bit_identical(tmp_path: Path, ext: str) -> None:
    digit = mnist_like()
    got = load_image(save(Image.fromarray(digit), tmp_path / f"digit.{ext}"))
    assert got.dtype == np.uint8 and got.flags.writeable
    np.testing.assert_array_equal(got, digit)


def test_mnist_image_as_16_bit_and_rgba_round_trips(tmp_path: Path) -> None:
    digit = mnist_like()
    wide = Image.fromarray(digit.astype(np.uint16) * 257)  # 0..65535, mode "I;16"
    assert wide.mode == "I;16"
    np.testing.assert_array_equal(load_image(save(wide, tmp_path / "d16.png")), digit)
    rgba = Image.fromarray(digit).convert("RGBA")  # fully opaque: alpha changes nothing
    np.testing.assert_array_equal(load_image(save(rgba, tmp_path / "d.png")), digit)


def test_invert_false_leaves_mnist_image_unchanged_and_true_changes_it(tmp_path: Path) -> None:
    digit = mnist_like()
    path = save(Image.fromarray(digit), tmp_path / "digit.png")
    np.testing.assert_array_equal(load_image(path, invert=False), digit)
    assert not np.array_equal(load_image(path, invert=True), digit)


# --- dark ink on light, big canvases, colour and alpha --------------------------------


def test_dark_digit_on_white_is_inverted_cropped_scaled_and_centred(tmp_path: Path) -> None:
    got = load_image(save(dark_digit(200, 150, (60, 20, 140, 130)), tmp_path / "d.png"))
    assert_mnist_style(got)


def test_small_digit_in_corner_of_large_canvas(tmp_path: Path) -> None:
    got = load_image(save(dark_digit(600, 400, (10, 12, 50, 70)), tmp_path / "corner.png"))
    assert_mnist_style(got)
    # Where the digit sat on the canvas does not matter, only its shape.
    centred = load_image(save(dark_digit(200, 150, (80, 46, 120, 104)), tmp_path / "c.png"))
    assert correlation(got, centred) > 0.98


def test_grey_paper_and_ink_are_stretched_to_black_and_white(tmp_path: Path) -> None:
    # A dim photo: grey ink (90) on grey paper (170).
    dim = np.array(dark_digit(120, 90, (30, 10, 90, 80))) * (80 / 255) + 90
    got = load_image(save(Image.fromarray(dim.astype(np.uint8)), tmp_path / "dim.png"))
    assert_mnist_style(got)


def test_coloured_ink_on_white(tmp_path: Path) -> None:
    gray = dark_digit(120, 90, (30, 10, 90, 80))
    rgb = Image.new("RGB", gray.size, (255, 255, 255))
    rgb.paste((30, 40, 200), mask=Image.eval(gray, lambda v: 255 - v))  # blue ink
    got = load_image(save(rgb, tmp_path / "blue.png"))
    assert_mnist_style(got)
    assert correlation(got, load_image(save(gray, tmp_path / "gray.png"))) > 0.99


def test_rgba_transparent_background_dark_ink(tmp_path: Path) -> None:
    gray = dark_digit(120, 90, (30, 10, 90, 80))
    ink = np.array(gray) < 128
    rgba = np.zeros((*ink.shape, 4), np.uint8)  # transparent *black*: must not count as ink
    rgba[ink] = (10, 10, 10, 255)
    got = load_image(save(Image.fromarray(rgba), tmp_path / "dark.png"))
    assert_mnist_style(got)
    assert correlation(got, load_image(save(gray, tmp_path / "gray.png"))) > 0.99


def test_rgba_transparent_background_light_ink(tmp_path: Path) -> None:
    ink = np.array(dark_digit(120, 90, (30, 10, 90, 80))) < 128
    rgba = np.full((*ink.shape, 4), (255, 255, 255, 0), np.uint8)  # transparent *white*
    rgba[ink] = (240, 240, 240, 255)
    got = load_image(save(Image.fromarray(rgba), tmp_path / "light.png"))
    assert_mnist_style(got)


def test_palette_images_with_and_without_transparency(tmp_path: Path) -> None:
    gray = dark_digit(120, 90, (30, 10, 90, 80))
    expected = load_image(save(gray, tmp_path / "gray.png"))
    np.testing.assert_array_equal(load_image(save(gray.convert("P"), tmp_path / "p.png")), expected)
    # Index 0 transparent white paper, index 1 black ink.
    p = Image.fromarray((np.array(gray) < 128).astype(np.uint8), mode="P")
    p.putpalette([255, 255, 255, 0, 0, 0])
    got = load_image(save(p, tmp_path / "pt.png", transparency=0))
    assert correlation(got, expected) > 0.99


def test_16_bit_and_float_images_scale_into_0_255(tmp_path: Path) -> None:
    gray = dark_digit(120, 90, (30, 10, 90, 80))
    expected = load_image(save(gray, tmp_path / "gray.png"))
    wide = Image.fromarray(np.array(gray).astype(np.uint16) * 257)
    np.testing.assert_array_equal(load_image(save(wide, tmp_path / "w.png")), expected)
    floats = Image.fromarray(np.array(gray, dtype=np.float32) / 255)  # mode "F" in 0..1
    np.testing.assert_array_equal(load_image(save(floats, tmp_path / "f.tiff")), expected)


def test_jpeg_matches_png_loosely(tmp_path: Path) -> None:
    gray = dark_digit(200, 150, (60, 20, 140, 130))
    png = load_image(save(gray, tmp_path / "d.png"))
    jpeg = load_image(save(gray.convert("RGB"), tmp_path / "d.jpg", quality=75))
    assert jpeg.shape == (28, 28) and jpeg.dtype == np.uint8
    assert correlation(png, jpeg) > 0.9
    assert np.allclose(centre_of_mass(jpeg), (14, 14), atol=1)


def test_first_frame_of_an_animation(tmp_path: Path) -> None:
    digit = mnist_like()
    frames = [Image.fromarray(digit), Image.fromarray(255 - digit)]
    path = save(frames[0], tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    np.testing.assert_array_equal(load_image(path), digit)


# --- forcing the polarity, blank images -------------------------------------------------


def ring(light: bool) -> Image.Image:
    """A tightly cropped box-shaped "0": its stroke is the whole border, fooling detection."""
    a = np.zeros((60, 40), np.uint8)
    a[:6], a[-6:], a[:, :6], a[:, -6:] = 255, 255, 255, 255
    return Image.fromarray(a if light else 255 - a)


def test_forcing_polarity_when_the_border_is_ink(tmp_path: Path) -> None:
    light = save(ring(light=True), tmp_path / "light.png")
    dark = save(ring(light=False), tmp_path / "dark.png")
    # Detected from the border, the ring reads as background and the hole as ink.
    assert load_image(light)[14, 14] == 255
    forced = load_image(light, invert=False)
    assert forced[14, 14] == 0 and forced.max() == 255
    np.testing.assert_array_equal(load_image(dark, invert=True), forced)


@pytest.mark.parametrize("level", [0, 255])
@pytest.mark.parametrize("shape", [(28, 28), (50, 40)])
def test_blank_images_give_zeros(tmp_path: Path, level: int, shape: tuple[int, int]) -> None:
    path = save(Image.new("L", shape, level), tmp_path / "blank.png")
    got = load_image(path)
    assert got.shape == (28, 28) and got.dtype == np.uint8 and not got.any()


def test_size_parameter(tmp_path: Path) -> None:
    got = load_image(
        save(dark_digit(200, 150, (60, 20, 140, 130)), tmp_path / "d.png"), size=(40, 32)
    )
    assert got.shape == (40, 32)
    rows = np.flatnonzero(got.max(axis=1) > 0)
    assert rows[-1] - rows[0] + 1 <= round(32 * 20 / 28)
    with pytest.raises(ValueError):
        load_image(tmp_path / "d.png", size=(0, 28))


# --- files that are not images ---------------------------------------------------------


def png_bytes(shape: tuple[int, int] = (10, 12)) -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def bad_files(tmp_path: Path) -> dict[Path, str]:
    """Files that are not images -> a phrase their error message must contain."""
    (tmp_path / "text.png").write_text("this is not an image\n")
    (tmp_path / "empty.png").write_bytes(b"")
    data = png_bytes((40, 40))
    (tmp_path / "truncated.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "adir").mkdir()
    (tmp_path / "eps.eps").write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")
    files = {
        "text.png": "unknown or unsupported format",
        "empty.png": "file is empty",
        "truncated.png": "cannot read as an image",
        "adir": "is a directory",
        "missing.png": "file not found",
        "eps.eps": "EPS files are not supported",  # refused before Ghostscript could run
    }
    paths = {tmp_path / name: phrase for name, phrase in files.items()}
    if Path("/dev/null").exists():  # a character device: reading it would give nothing
        paths[Path("/dev/null")] = "not a regular file"
    return paths


def test_non_images_raise_image_error_naming_the_path(tmp_path: Path) -> None:
    for path, phrase in bad_files(tmp_path).items():
        with pytest.raises(ImageError) as info:
            load_image(path)
        message = str(info.value)
        assert message.startswith(f"{path}: ") and phrase in message, message
        assert "\n" not in message
    assert issubclass(ImageError, DataError) and ImageError.exit_code == 1
    assert nnbp.image.ImageError is ImageError  # still importable from nnbp.image


@pytest.mark.parametrize("mode", ["L", "RGBA", "CMYK", "I;16"])
def test_a_bug_in_nnbps_own_code_keeps_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """Only Pillow's calls are wrapped: the same exception types from nnbp's code between
    them (the decoding errors include ValueError) are bugs, not ImageErrors."""
    path = save(Image.fromarray(mnist_like()).convert(mode), tmp_path / "seven.tiff")

    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(nnbp.image, "_pixels", broken)  # nnbp's code, with the file open
    with pytest.raises(ValueError, match="a bug"):
        load_image(path)
    monkeypatch.undo()
    monkeypatch.setattr(Image.Image, "convert", broken)  # Pillow's code
    with pytest.raises(ImageError, match=f"^{re.escape(str(path))}: cannot read as an image"):
        load_image(path)


def png_declaring(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose IHDR is patched to declare width x height (CRC fixed)."""
    data = bytearray(png_bytes((1, 1)))
    # Signature (8 bytes), then IHDR: length (4), type (4), width and height (4 each).
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


@pytest.mark.parametrize("side", [8_000, 20_000])  # ours refuses 64M, Pillow's own 400M
def test_decompression_bomb_is_refused_without_decoding(tmp_path: Path, side: int) -> None:
    assert side * side > MAX_PIXELS
    path = tmp_path / "bomb.png"
    path.write_bytes(png_declaring(side, side))
    start = time.perf_counter()
    with pytest.raises(ImageError, match=f"^{re.escape(str(path))}: .*pixel"):
        load_image(path)
    assert time.perf_counter() - start < 0.5


# --- fuzzing: bad bytes give ImageError or a digit, nothing else --------------------------


def seeds() -> list[bytes]:
    """Small valid files in several formats, for the mutation test."""
    out = []
    rgb = Image.fromarray(np.random.default_rng(1).integers(0, 256, (9, 7, 3), dtype=np.uint8))
    for fmt, im in [
        ("PNG", rgb),
        ("PNG", rgb.convert("RGBA")),
        ("BMP", rgb),
        ("GIF", rgb.convert("P")),
        ("TIFF", rgb.convert("L")),
        ("PPM", rgb),
        ("JPEG", rgb),
    ]:
        buf = io.BytesIO()
        im.save(buf, fmt)
        out.append(buf.getvalue())
    return out


SEEDS = seeds()


def check_bytes(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        got = load_image(path)
    except ImageError as e:
        assert str(e).startswith(f"{path}: ") and "\n" not in str(e)
    else:
        assert got.shape == (28, 28) and got.dtype == np.uint8


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    check_bytes(tmp_path_factory.getbasetemp() / "fuzz.img", data)


@settings(max_examples=200, deadline=None)
@given(
    seed=st.sampled_from(SEEDS),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
    cut=st.none() | st.integers(0, 10_000),
)
def test_mutated_valid_files(
    tmp_path_factory: pytest.TempPathFactory,
    seed: bytes,
    edits: list[tuple[int, int]],
    cut: int | None,
) -> None:
    """A valid small file with a few bytes changed and maybe cut short."""
    data = bytearray(seed)
    for where, value in edits:
        data[where % len(data)] = value
    check_bytes(tmp_path_factory.getbasetemp() / "mutated.img", bytes(data[:cut]))


# --- to_text ----------------------------------------------------------------------------


def test_to_text_draws_one_fixed_width_line_per_row() -> None:
    text = to_text(mnist_like())
    lines = text.split("\n")
    assert len(lines) == 28 and all(len(line) == 28 for line in lines)
    assert not text.endswith("\n")
    assert to_text(np.zeros((28, 28), np.uint8)) == "\n".join([" " * 28] * 28)
    assert to_text(np.full((2, 3), 255, np.uint8)) == "@@@\n@@@"
    with pytest.raises(ValueError):
        to_text(np.zeros(784, np.uint8))
