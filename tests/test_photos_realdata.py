"""nnbp predict on MNIST test digits written on realistic pages (pages.py), and on
Fashion-MNIST test images upscaled and photographed: accuracy close to the clean images'."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from pages import KINDS, page, save
from PIL import Image

import nnbp
from nnbp import datasets, idx
from nnbp.errors import DataError

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.realdata

N = 120  # digits per kind of page: a few seconds each
SIZE = (200, 320)  # pages' sides in pixels, smaller than a phone's to keep the test quick


@pytest.fixture(scope="module")
def mnist_test(mnist_dir) -> tuple[np.ndarray, np.ndarray]:
    """N MNIST test digits (seeded choice) and their labels."""
    images, labels = idx.read_pair(
        mnist_dir / "mnist" / "t10k-images-idx3-ubyte.gz",
        mnist_dir / "mnist" / "t10k-labels-idx1-ubyte.gz",
    )
    pick = np.random.default_rng(13).choice(len(labels), N, replace=False)
    return images[pick], labels[pick]


def train(config: str, home: Path, overrides: list[str]) -> Path:
    """The run directory of ``nnbp train configs/CONFIG --set OVERRIDES...`` under home."""
    from click.testing import CliRunner

    from nnbp.cli import cli

    args = ["train", str(ROOT / "configs" / config), "--out", str(home / "run")]
    for item in overrides:
        args += ["--set", item]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return home / "run"


@pytest.fixture(scope="module")
def chapter3(mnist_dir, tmp_path_factory) -> nnbp.Model:
    """The book's chapter-3 network after 2 epochs (about 95% on the test set)."""
    home = tmp_path_factory.mktemp("chapter3")
    return nnbp.load(
        train("nielsen-ch3.yaml", home, [f"data.dir={mnist_dir}", "training.epochs=2"])
    )


def accuracy(model: nnbp.Model, files: list[bytes], labels: np.ndarray) -> float:
    predicted = model.predict([io.BytesIO(f) for f in files])
    return float((predicted == labels).mean())


def test_each_kind_of_page_reads_close_to_the_clean_digits(chapter3, mnist_test) -> None:
    model = chapter3
    images, labels = mnist_test
    clean = float((model.predict(images) == labels).mean())
    rng = np.random.default_rng(14)
    got = {}
    for kind in KINDS:
        files = [save(*page(digit, kind, rng, SIZE), rng) for digit in images]
        got[kind] = accuracy(model, files, labels)
    # The targets are 93% on each kind for a network reading 97% of the clean
    # digits: 4 points below the clean digits at most.
    assert min(got.values()) >= clean - 0.04, f"clean digits {clean:.3f}, pages {got}"


def test_blank_pages_of_every_kind_are_flagged(chapter3) -> None:
    model = chapter3
    rng = np.random.default_rng(15)
    files = [save(*page(None, kind, rng, SIZE), rng) for kind in KINDS for _ in range(5)]
    records = model.predict_records([io.BytesIO(f) for f in files])
    unflagged = [i for i, r in enumerate(records) if r.get("warning") != "no ink found"]
    assert unflagged == [], [f"{KINDS[i // 5]} #{i % 5}" for i in unflagged]


@pytest.fixture(scope="module")
def fashion_run(mnist_dir, tmp_path_factory) -> Path:
    """A small Fashion-MNIST network after one epoch (about 80% on the test set)."""
    try:
        datasets.fetch("fashion-mnist", mnist_dir, mirror=os.environ.get(datasets.MIRROR_ENV))
    except DataError as e:
        if os.environ.get("CI"):
            pytest.fail(f"real Fashion-MNIST unavailable in CI: {e}")
        pytest.skip(f"real Fashion-MNIST unavailable: {e}")
    overrides = [f"data.dir={mnist_dir}", "network.sizes=[784,30,10]", "training.epochs=1"]
    return train("fashion-mnist.yaml", tmp_path_factory.mktemp("fashion"), overrides)


def test_fashion_upscaled_and_photographed_read_like_28x28(fashion_run, mnist_dir) -> None:
    model = nnbp.load(fashion_run)
    assert model.preparation == "object"
    images, labels = idx.read_pair(
        mnist_dir / "fashion-mnist" / "t10k-images-idx3-ubyte.gz",
        mnist_dir / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz",
    )
    pick = np.random.default_rng(16).choice(len(labels), 300, replace=False)
    images, labels = images[pick], labels[pick]
    small = float((model.predict(images) == labels).mean())
    upscaled, photos = [], []
    for a in images:
        big = Image.fromarray(a).resize((280, 280), Image.Resampling.BICUBIC)
        upscaled.append(encode(big))
        photo = Image.new("L", (340, 360), 250)  # the product dark on white, off-centre
        photo.paste(Image.fromarray(255 - np.asarray(big)), (20, 50))
        photos.append(encode(photo, "JPEG"))
    assert abs(accuracy(model, upscaled, labels) - small) <= 0.03
    assert abs(accuracy(model, photos, labels) - small) <= 0.03


def encode(im: Image.Image, fmt: str = "PNG") -> bytes:
    """The file content of ``im`` as PNG, or JPEG at quality 90."""
    buf = io.BytesIO()
    im.save(buf, fmt, quality=90) if fmt == "JPEG" else im.save(buf, fmt)
    return buf.getvalue()
