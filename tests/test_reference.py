"""nnbp's training against the book's algorithm, run as the book runs it.

bench/reference.py's ``BookNetwork`` is the chapter-1 network.py: column vectors, one
example at a time, gradients summed per mini-batch. Given the same initial weights and
the same shuffles (both call ``rng.permutation(n)`` on identically seeded Generators),
nnbp's matrix form must reach the same weights, up to float64 rounding.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

from nnbp import idx, model_file, training
from nnbp.epoch import CHUNK_ROWS
from nnbp.metrics import one_hot
from nnbp.network import Network, with_ones
from nnbp.sgd import SGD

BENCH = Path(__file__).resolve().parent.parent / "bench"
# Over two epochs of these small problems the two orders of summation drift apart by
# about 1e-15, while the weights move by more than 0.1.
ATOL = 1e-10


@pytest.fixture(scope="module")
def BookNetwork():
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module("reference").BookNetwork
    finally:
        sys.path.remove(str(BENCH))


def book_copy(BookNetwork, w: list[np.ndarray], b: list[np.ndarray]):
    """A BookNetwork holding these weights and biases (biases as column vectors)."""
    sizes = [w[0].shape[1]] + [wl.shape[0] for wl in w]
    book = BookNetwork(sizes, np.random.default_rng(0))  # its own draws are replaced
    book.weights = [np.array(wl, np.float64) for wl in w]
    book.biases = [np.array(bl, np.float64)[:, None] for bl in b]
    return book


def assert_same_weights(net_w, net_b, book) -> None:
    assert len(net_w) == len(book.weights)
    for w, b, bw, bb in zip(net_w, net_b, book.weights, book.biases, strict=True):
        np.testing.assert_allclose(w, bw, rtol=0, atol=ATOL)
        np.testing.assert_allclose(b, bb[:, 0], rtol=0, atol=ATOL)


# N spans three chunks of the epoch, the last one short; m = 10 divides N, m = 7 does not
# (the last mini-batch then has N % 7 = 6 examples).
N = 2050


@pytest.mark.parametrize("m", [10, 7])
@pytest.mark.parametrize("sizes", [[12, 7, 5, 3], [12, 6, 3]])
def test_epochs_of_sgd_equal_the_books_per_example_algorithm(BookNetwork, sizes, m):
    assert (N % 10, N % 7) == (0, 6) and N > 2 * CHUNK_ROWS
    data = np.random.default_rng(21)
    x = data.random((N, sizes[0]))
    y = one_hot(data.integers(0, sizes[-1], N), sizes[-1], np.float64)
    net = Network.create(sizes, np.random.default_rng(3), dtype="float64")
    book = book_copy(BookNetwork, net.w, net.b)
    opt = SGD(net, eta=3.0, n_train=N)
    ours, theirs = np.random.default_rng(8), np.random.default_rng(8)
    for _ in range(2):  # the second epoch draws its shuffle where the first left off
        before = net.flat.copy()
        assert opt.epoch(with_ones(x), y, m, ours)
        book.sgd_epoch(x[:, :, None], y[:, :, None], m, 3.0, theirs)
        assert_same_weights(net.w, net.b, book)
        assert ours.bit_generator.state == theirs.bit_generator.state
        assert np.abs(net.flat - before).max() > 0.1  # the epoch did move the weights


def test_a_training_run_equals_the_book_epoch_by_epoch(
    BookNetwork, tiny_config, tiny_data, tmp_path, monkeypatch
):
    """nnbp.train on the tiny IDX data in float64, against BookNetwork on the same pixels.

    The run's Generator draws the initial weights (w, then b, for each layer) and then
    every epoch's shuffle; BookNetwork draws all biases first, so it is given the
    weights drawn the run's way and then shuffles with that same Generator.
    """
    monkeypatch.chdir(tmp_path)
    epochs, seed, m, eta = 2, 7, 10, 3.0
    cfg = tiny_config(training={"epochs": epochs, "dtype": "float64", "keep": "last",
                                "seed": seed, "mini_batch_size": m, "eta": eta})  # fmt: skip
    snapshots = []

    def on_epoch(row):
        net, meta = model_file.load(tmp_path / "run" / "weights.npz")
        assert meta["epoch"] == row["epoch"]
        snapshots.append((row, net))

    run = training.train(cfg, out=tmp_path / "run", on_epoch=on_epoch)
    assert run.epochs_trained == epochs == len(snapshots)

    images, labels = idx.read_pair(tiny_data["train_images"], tiny_data["train_labels"])
    test_images, test_labels = idx.read_pair(tiny_data["test_images"], tiny_data["test_labels"])
    n_train = len(labels) - 100  # validation_size: the last 100 are held out
    x = images[:n_train].reshape(n_train, -1) / 255.0
    y = np.eye(3)[labels[:n_train]]
    x_test = test_images.reshape(len(test_images), -1) / 255.0

    rng = np.random.default_rng(seed)
    w, b = [], []
    for n_in, n_out in zip([64, 10], [10, 3], strict=True):  # network.sizes [64, 10, 3]
        w.append(rng.standard_normal((n_out, n_in)))
        b.append(rng.standard_normal(n_out))
    book = book_copy(BookNetwork, w, b)
    for row, net in snapshots:
        book.sgd_epoch(x[:, :, None], y[:, :, None], m, eta, rng)
        assert_same_weights(net.w, net.b, book)
        a = book.feedforward(x.T).T
        cost = float(np.mean(0.5 * ((a - y) ** 2).sum(axis=1)))
        assert row["train_cost"] == pytest.approx(cost, rel=1e-9)
        assert row["train_accuracy"] == np.mean(a.argmax(axis=1) == labels[:n_train])
        assert row["test_accuracy"] == book.accuracy(x_test[:, :, None], test_labels)
