"""nnbp predict on real MNIST digits: the PNG round trip and MNIST-style preprocessing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nnbp import idx

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def trained(mnist_run) -> Path:
    """The book's network after one epoch (about 90% on the test set)."""
    return mnist_run[0]


@pytest.fixture(scope="module")
def test_images(mnist_dir):
    return idx.read_pair(
        mnist_dir / "mnist" / "t10k-images-idx3-ubyte.gz",
        mnist_dir / "mnist" / "t10k-labels-idx1-ubyte.gz",
    )


@pytest.fixture
def predict(invoke):
    """predict(*args): the rows of `nnbp predict ARGS`, each split at its tabs."""

    def run(*args) -> list[list[str]]:
        result = invoke("predict", *args)
        assert result.exit_code == 0, result.output
        return [line.split("\t") for line in result.stdout.splitlines()]

    return run


def test_png_round_trip_of_1000_test_images(predict, trained, test_images, tmp_path):
    images = test_images[0][:1000]
    idx.write_idx(tmp_path / "first-1000.idx", images)
    paths = []
    for i, img in enumerate(images):
        paths.append(tmp_path / f"{i:04d}.png")
        Image.fromarray(img).save(paths[-1])
    from_idx = predict("--weights", trained, "--idx", tmp_path / "first-1000.idx")
    from_png = predict("--weights", trained, *paths)
    assert len(from_png) == 1000
    assert [row[1:] for row in from_png] == [row[1:] for row in from_idx]  # labels, confidences


def _variants(img: np.ndarray, rng: np.random.Generator) -> dict[str, Image.Image]:
    """One MNIST digit drawn the ways users' images come."""
    big = Image.fromarray(255 - img).resize((112, 112), Image.Resampling.LANCZOS)
    canvas = Image.new("L", (400, 300), 255)  # dark ink, light paper, digit off-centre
    canvas.paste(big, (int(rng.integers(0, 280)), int(rng.integers(0, 180))))
    ink = np.asarray(canvas, dtype=np.float64) / 255
    rgb = np.stack([ink * 255, ink * 230 + 25, 255 - (1 - ink) * 90], axis=-1)  # blue-ish ink
    rgba = np.zeros((300, 400, 4), np.uint8)  # transparent background, opaque dark ink
    rgba[..., 3] = np.where(ink < 0.9, 255, 0)
    rgba[..., :3] = (ink[..., None] * 80).astype(np.uint8)
    return {
        "dark-on-light": canvas,
        "rgb": Image.fromarray(rgb.astype(np.uint8), "RGB"),
        "rgba": Image.fromarray(rgba, "RGBA"),
        "jpeg": canvas.convert("RGB"),
    }


def test_user_style_images_predict_like_the_idx_digit(predict, trained, test_images, tmp_path):
    """Digits the network gets right from the IDX file, redrawn as users' images (dark on
    light, off-centre on a large canvas, coloured, transparent, JPEG) keep their label."""
    images, labels = test_images
    rows = predict("--weights", trained, "--idx", _subset(images[:200], tmp_path))
    right = [i for i, row in enumerate(rows) if int(row[1]) == labels[i] and float(row[2]) > 0.9]
    chosen = right[:20]
    rng = np.random.default_rng(0)
    paths = {kind: [] for kind in ("dark-on-light", "rgb", "rgba", "jpeg")}
    for i in chosen:
        for kind, image in _variants(images[i], rng).items():
            path = tmp_path / f"{i}-{kind}.{'jpg' if kind == 'jpeg' else 'png'}"
            image.save(path, quality=90) if kind == "jpeg" else image.save(path)
            paths[kind].append(path)
    for kind, files in paths.items():
        got = [int(row[1]) for row in predict("--weights", trained, *files)]
        hits = sum(g == labels[i] for g, i in zip(got, chosen, strict=True))
        assert hits >= 18, f"{kind}: {hits}/20"


def _subset(images: np.ndarray, tmp_path: Path) -> Path:
    path = tmp_path / "subset.idx"
    idx.write_idx(path, images)
    return path
