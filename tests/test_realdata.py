"""Training on the real MNIST (fetched through NNBP_DATA_MIRROR in CI; never skipped there)."""

from __future__ import annotations

import json

import pytest

from nnbp import idx

pytestmark = pytest.mark.realdata


def test_mnist_files_read_with_the_published_shapes_and_counts(mnist_dir):
    images, labels = idx.read_pair(
        mnist_dir / "mnist" / "train-images-idx3-ubyte.gz",
        mnist_dir / "mnist" / "train-labels-idx1-ubyte.gz",
        num_classes=10,
    )
    assert images.shape == (60000, 28, 28) and labels.shape == (60000,)
    # The README's label counts for the training set.
    counts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert list(map(int, (labels[:, None] == range(10)).sum(axis=0))) == counts


def test_one_epoch_of_the_book_network_reaches_90_percent(mnist_run):
    run, stdout = mnist_run
    metrics = json.loads((run / "metrics.jsonl").read_text())
    assert metrics["test_accuracy"] >= 0.90
    assert metrics["validation_accuracy"] >= 0.90
    assert stdout.strip().endswith("epoch=1 epochs=1 run=runs/mnist")


def _config():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "configs" / "mnist.yaml"


def test_metrics_pinned_for_a_fixed_seed(mnist_dir):
    """The speed work must not change what training computes.

    Figures from the first engine (before the preallocated, bias-folded SGD step), seed
    1, float64, configs/mnist.yaml. SGD with eta 3 on saturated sigmoids is chaotic:
    rounding differences of 1e-16 grow to about 1e-9 in the first epoch and to 1e-3 in
    the second, so the first epoch is pinned tightly and the second to within 0.5%.
    """
    import numpy as np

    from nnbp import config, data
    from nnbp.network import Network
    from nnbp.train import fit

    cfg = config.load(
        _config(),
        [f"data.dir={mnist_dir}", "training.seed=1", "training.dtype=float64", "training.epochs=2"],
    )
    rng = np.random.default_rng(1)
    net = Network.create(cfg.network.sizes, rng, dtype="float64")
    first, second = fit(net, data.load_splits(cfg), cfg.training, rng).history
    assert first["train_cost"] == pytest.approx(0.077596455820692, rel=1e-7)
    assert (first["train_accuracy"], first["validation_accuracy"], first["test_accuracy"]) == (
        0.9044,
        0.9129,
        0.9021,
    )
    assert second["train_cost"] == pytest.approx(0.057968568547166234, rel=5e-3)
    assert second["validation_accuracy"] == pytest.approx(0.9312, abs=0.005)
    assert second["test_accuracy"] == pytest.approx(0.9258, abs=0.005)
