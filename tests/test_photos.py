"""Preparing photographs and other styles: pages.py's pages, blank pages, the preparation
record, predict's warnings and --show, and the photos extra (SciPy) being optional."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_error_line
from pages import KINDS, page, save
from PIL import Image, ImageDraw, ImageFilter
from test_image import assert_mnist_style, dark_digit

import nnbp
from nnbp import model_file, prepare
from nnbp.errors import ImageError, MissingExtra, ModelFileError
from nnbp.image import STYLES, load_image
from nnbp.image import prepare as prepare_image
from nnbp.network import Network


def digit_28() -> np.ndarray:
    """An MNIST-style "0" (uint8 28x28, ink high, blurred edges) to write on pages."""
    im = Image.new("L", (28, 28), 0)
    ImageDraw.Draw(im).ellipse((8, 4, 19, 23), outline=255, width=3)
    return np.array(im.filter(ImageFilter.GaussianBlur(0.8)))


def clean_zero() -> np.ndarray:
    """digit_28() as a clean scan reads: drawn large, dark on white."""
    big = Image.fromarray(255 - digit_28()).resize((140, 140), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    big.save(buf, "PNG")
    return load_image(buf)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The best correlation of two images when one is moved by up to a pixel each way."""
    moved = [np.roll(a, (dy, dx), axis=(0, 1)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    return max(float(np.corrcoef(m.ravel(), b.ravel())[0, 1]) for m in moved)


def page_bytes(kind: str, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    picture, fmt = page(digit_28(), kind, rng)
    return save(picture, fmt, rng)


def blank_bytes(kind: str, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    picture, fmt = page(None, kind, rng)
    return save(picture, fmt, rng)


# --- the library interface -------------------------------------------------------------


def test_styles_and_file_objects(tmp_path: Path) -> None:
    assert STYLES == ("digit", "object", "plain")
    path = tmp_path / "d.png"
    dark_digit(200, 150, (60, 20, 140, 130)).save(path)
    with open(path, "rb") as f:
        from_file = load_image(f)
    from_bytes = load_image(io.BytesIO(path.read_bytes()))
    np.testing.assert_array_equal(from_file, load_image(path))
    np.testing.assert_array_equal(from_bytes, load_image(path))
    with pytest.raises(ImageError, match=r"^<stream>: cannot read as an image"):
        load_image(io.BytesIO(b"not an image"))
    with pytest.raises(ValueError, match="style must be one of digit, object, plain"):
        load_image(path, style="fashion")


def test_object_style_fits_the_whole_field_keeping_aspect_and_levels(tmp_path: Path) -> None:
    im = Image.new("L", (300, 200), 255)  # a grey "trouser" 160 high, 80 wide, on white
    ImageDraw.Draw(im).rectangle((100, 20, 179, 179), fill=128)
    path = tmp_path / "product.png"
    im.save(path)
    got = load_image(path, style="object")
    rows = np.flatnonzero(got.max(axis=1) > 0)
    cols = np.flatnonzero(got.max(axis=0) > 0)
    assert rows[0] == 0 and rows[-1] == 27  # the longer side fills the field
    assert 13 <= cols[-1] - cols[0] + 1 <= 15 and abs((cols[0] + cols[-1]) / 2 - 13.5) <= 1
    assert abs(int(np.median(got[got > 0])) - 127) <= 2  # not stretched to 255


def test_plain_style_resizes_the_whole_image(tmp_path: Path) -> None:
    a = np.zeros((56, 84), np.uint8)
    a[:, :42] = 200  # left half light: no inversion (the border's median is 100, dark)
    Image.fromarray(a).save(tmp_path / "p.png")
    got = load_image(tmp_path / "p.png", style="plain", size=(28, 42))
    assert got.shape == (28, 42) and (got[:, :16] == 200).all() and (got[:, 26:] == 0).all()


@pytest.mark.parametrize("kind", KINDS)
def test_blank_pages_are_flagged(kind: str) -> None:
    for seed in range(3):
        prepared = prepare_image(io.BytesIO(blank_bytes(kind, seed)))
        assert prepared.blank, (kind, seed)
        assert not prepared.image.any()


@pytest.mark.parametrize("kind", KINDS)
def test_a_digit_on_each_kind_of_page_is_found_and_prepared_like_mnist(kind: str) -> None:
    for seed in range(3):
        prepared = prepare_image(io.BytesIO(page_bytes(kind, seed)), stages=True)
        assert not prepared.blank, (kind, seed)
        assert_mnist_style(prepared.image)
        # The same "0" as on a clean scan, give or take a pixel of centring: ruled lines,
        # the box, dust and shadows are gone.
        assert similarity(prepared.image, clean_zero()) > 0.93, (kind, seed)
        names = list(prepared.stages)
        assert names == ["page", "background removed", "ink mask", "kept", "input"]


def test_clean_scans_are_read_as_before() -> None:
    """A clean page goes through MNIST's own preparation, untouched by the cleaning."""
    for seed in range(5):
        data = page_bytes("clean", seed)
        gray = 255 - np.asarray(Image.open(io.BytesIO(data)).convert("L"))
        np.testing.assert_array_equal(load_image(io.BytesIO(data)), prepare.fit_digit(gray, 28, 28))


def test_a_clean_digit_in_two_pieces_is_read_as_before(tmp_path: Path) -> None:
    """The cleaning drops nothing from a flat page: MNIST's preparation reads it as it is."""
    im = Image.new("L", (200, 200), 255)
    draw = ImageDraw.Draw(im)
    draw.line([(60, 50), (140, 50)], fill=0, width=10)  # a "7" whose bar stands apart
    draw.line([(140, 75), (90, 160)], fill=0, width=10)
    im.save(tmp_path / "seven.png")
    gray = 255 - np.asarray(im)
    assert not prepare.is_clean(gray)  # an empty row between the pieces
    np.testing.assert_array_equal(
        load_image(tmp_path / "seven.png"), prepare.fit_digit(gray, 28, 28)
    )


def test_a_box_shaped_zero_is_a_digit_and_a_box_around_a_digit_is_not() -> None:
    ring = np.zeros((60, 40), bool)
    ring[:6], ring[-6:], ring[:, :6], ring[:, -6:] = True, True, True, True
    assert prepare.frame_sides(ring) is None
    boxed = np.zeros((60, 60), bool)
    boxed[:2], boxed[-2:], boxed[:, :2], boxed[:, -2:] = True, True, True, True
    boxed[20:40, 28:32] = True  # a "1" inside
    assert len(prepare.frame_sides(boxed)) == 4


# --- the preparation belongs to the model ----------------------------------------------


def save_weights(path: Path, **kwargs) -> Path:
    net = Network.create([784, 5, 10], np.random.default_rng(0))
    model_file.save(path, net, input_shape=(28, 28), class_names=[str(k) for k in range(10)],
                    config_sha256="x", **kwargs)  # fmt: skip
    return path


def test_weights_files_record_the_preparation(tmp_path: Path) -> None:
    assert nnbp.load(save_weights(tmp_path / "d.npz")).preparation == "digit"
    assert nnbp.load(save_weights(tmp_path / "o.npz", preparation="object")).preparation == "object"
    assert nnbp.datasets.get_dataset("fashion-mnist").preparation == "object"
    assert nnbp.datasets.get_dataset("mnist").preparation == "digit"
    with pytest.raises(ModelFileError, match="unknown preparation 'fancy'"):
        model_file.load(save_weights(tmp_path / "x.npz", preparation="fancy"))


def test_weights_without_the_record_read_digits(tmp_path: Path) -> None:
    path = save_weights(tmp_path / "old.npz")
    with np.load(path) as npz:
        arrays = dict(npz)
    meta = json.loads(str(arrays["metadata"]))
    del meta["preparation"]
    arrays["metadata"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    assert nnbp.load(path).preparation == "digit"


def test_training_records_the_datasets_preparation(tiny_config, runner, invoke) -> None:
    result = invoke("train", tiny_config())
    assert result.exit_code == 0, result.output
    assert nnbp.load("runs/tiny").metadata["preparation"] == "digit"


def test_the_model_prepares_images_its_own_way(tmp_path: Path) -> None:
    im = Image.new("L", (300, 200), 255)
    ImageDraw.Draw(im).rectangle((100, 20, 179, 179), fill=0)
    im.save(tmp_path / "p.png")
    digit = nnbp.load(save_weights(tmp_path / "d.npz"))
    product = nnbp.load(save_weights(tmp_path / "o.npz", preparation="object"))
    np.testing.assert_array_equal(digit.read_images([tmp_path / "p.png"])[0],
                                  load_image(tmp_path / "p.png"))  # fmt: skip
    np.testing.assert_array_equal(product.read_images([tmp_path / "p.png"])[0],
                                  load_image(tmp_path / "p.png", style="object"))  # fmt: skip


# --- predict: blank pages, records, --show ---------------------------------------------


@pytest.fixture
def photos(tmp_path: Path) -> dict[str, Path]:
    """A page of each kind with a "0", and a blank shadowed page."""
    paths = {}
    for kind in KINDS:
        paths[kind] = tmp_path / f"{kind}.{'png' if kind == 'clean' else 'jpg'}"
        paths[kind].write_bytes(page_bytes(kind, 1))
    paths["blank"] = tmp_path / "blank.jpg"
    paths["blank"].write_bytes(blank_bytes("shadow", 2))
    return paths


def test_predict_warns_of_a_blank_page_and_still_prints_its_line(invoke, photos, tmp_path):
    weights = save_weights(tmp_path / "w.npz")
    files = [photos["blank"], photos["clean"]]
    result = invoke("predict", "--weights", weights, *files)
    assert result.exit_code == 0, result.output
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == [str(f) for f in files]
    assert result.stderr == f"Warning: {photos['blank']}: no ink found\n"
    as_json = invoke("predict", "--weights", weights, "--json", *files)
    records = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert records[0]["warning"] == "no ink found" and "warning" not in records[1]
    # The library gives the very same records, for paths or uploaded bytes.
    model = nnbp.load(weights)
    assert model.predict_records(files) == records
    uploads = [io.BytesIO(f.read_bytes()) for f in files]
    assert model.predict_records(uploads, names=[str(f) for f in files]) == records


def test_predict_show_draws_every_stage(invoke, photos, tmp_path):
    weights = save_weights(tmp_path / "w.npz")
    result = invoke("predict", "--weights", weights, "--show", photos["notebook"])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == f"{photos['notebook']}:"
    headers = [line for line in lines if line.endswith("):")]
    assert [h.split(" (")[0] for h in headers] == [
        "page", "background removed", "ink mask", "kept", "input"
    ]  # fmt: skip
    assert headers[-1] == "input (28x28):" and lines[-29] == headers[-1]
    assert all(len(line) == 28 for line in lines[-28:])  # the input, drawn as it always was


def test_predict_show_dir_saves_a_picture_of_the_stages(invoke, photos, tmp_path):
    weights = save_weights(tmp_path / "w.npz")
    out = tmp_path / "shown" / "here"
    result = invoke("predict", "--weights", weights, "--show-dir", out, photos["box"],
                    photos["blank"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["blank.png", "box.png"]
    with Image.open(out / "box.png") as im:
        assert im.width > 4 * im.height  # five stages side by side
    assert result.stdout.count("\n") == 2


# --- the photos extra is optional ------------------------------------------------------


@pytest.fixture
def without_scipy(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if SciPy were not installed."""
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.delitem(sys.modules, "nnbp.photo", raising=False)
    monkeypatch.delattr(nnbp, "photo", raising=False)


def test_clean_scans_need_no_scipy_but_photos_name_the_extra(without_scipy, photos, tmp_path):
    assert load_image(photos["clean"]).any()
    Image.new("L", (300, 200), 240).save(tmp_path / "white.png")
    assert prepare_image(tmp_path / "white.png").blank
    with pytest.raises(MissingExtra, match=r"shadow\.jpg: .*pip install 'nnbp\[photos\]'"):
        load_image(photos["shadow"])


def test_predict_on_a_photo_without_scipy_says_what_to_install(
    without_scipy, invoke, photos, tmp_path
):
    result = invoke("predict", "--weights", save_weights(tmp_path / "w.npz"), photos["box"])
    assert_one_error_line(result, 1, "nnbp[photos]")


def test_training_never_imports_scipy(tiny_config) -> None:
    code = (
        "import sys\n"
        "from nnbp.cli import cli\n"
        f"cli(['train', {str(tiny_config())!r}, '--set', 'training.epochs=1'],"
        " standalone_mode=False)\n"
        "assert 'scipy' not in sys.modules, 'nnbp train imported scipy'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tiny_config().parent,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
