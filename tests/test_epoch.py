"""One epoch of mini-batches: the shuffling and chunking, progress and stop requests,
augmentation on a worker thread, and the BLAS threads chosen for the steps."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from nnbp import augment
from nnbp.epoch import CHUNK_ROWS, StopFlag, background_augmentation, blas_threads
from nnbp.metrics import one_hot
from nnbp.network import Network, with_ones
from nnbp.sgd import SGD


class _Recorder:
    """Stands in for SGD.step: records each mini-batch's first column."""

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []

    def __call__(self, x_ones: np.ndarray, y: np.ndarray) -> None:
        assert (x_ones[:, -1] == 1).all()  # the ones column that carries the bias
        assert len(y) == len(x_ones)
        self.seen.append(x_ones[:, 0].copy())


def _recorded_epoch(n: int, m: int, seed: int) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
    """The mini-batches (as row numbers) and progress calls of one epoch over n rows."""
    opt = SGD(Network.create([2, 2], np.random.default_rng(0), dtype="float64"), eta=1.0, n_train=n)
    opt.step = recorder = _Recorder()
    x_ones = with_ones(np.stack([np.arange(n, dtype=np.float64), np.zeros(n)], axis=1))
    calls: list[tuple[int, int]] = []
    on_batches = lambda done, total: calls.append((done, total))  # noqa: E731
    y = one_hot(np.zeros(n, int), 2, np.float64)
    assert opt.epoch(x_ones, y, m, np.random.default_rng(seed), on_batches=on_batches)
    return recorder.seen, calls


def test_an_epoch_visits_every_example_once_in_mini_batches():
    seen, calls = _recorded_epoch(25, 10, seed=1)
    assert [len(s) for s in seen] == [10, 10, 5]  # the last mini-batch is smaller
    assert sorted(np.concatenate(seen)) == list(range(25))
    assert calls[-1] == (3, 3)


@pytest.mark.parametrize("m", [10, 7])  # 7 divides neither CHUNK_ROWS nor n
def test_an_epochs_mini_batches_are_consecutive_slices_of_one_permutation(m):
    """Across chunks too: the epoch shuffles with rng.permutation(n), as the book does."""
    n = 2 * CHUNK_ROWS + 37
    seen, calls = _recorded_epoch(n, m, seed=4)
    order = np.random.default_rng(4).permutation(n)
    expected = [order[k : k + m] for k in range(0, n, m)]
    assert len(seen) == len(expected) == -(-n // m)
    for got, want in zip(seen, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert [done for done, _ in calls] == sorted({done for done, _ in calls})  # increasing
    assert calls[-1] == (len(expected), len(expected))


def _shifted_problem(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n random 4x4 'images' in three classes: training inputs x_ones and one-hot targets."""
    rng = np.random.default_rng(3)
    x_ones = np.ones((n, 17), np.float32)
    x_ones[:, :-1] = rng.random((n, 16))
    return x_ones, one_hot(rng.integers(0, 3, n), 3, np.float32)


def _shift(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return augment.augment(x, (4, 4), rng, ["shift"])


@pytest.mark.parametrize("n", [2500, 2048])  # with a short last chunk, and without
def test_augmenting_on_a_worker_thread_trains_exactly_as_in_line(n):
    x_ones, y = _shifted_problem(n)
    runs = []
    for background, aug in ((False, _shift), (True, _shift), (False, None)):
        rng = np.random.default_rng(5)
        net = Network.create([16, 8, 3], rng)
        opt = SGD(net, eta=0.5, n_train=n)
        for _ in range(2):
            assert opt.epoch(x_ones, y, 10, rng, augment=aug, background=background)
        runs.append((net.params, rng.random()))
    (in_line, draw), (worker, worker_draw), (plain, _) = runs
    assert worker_draw == draw  # the generator made the same draws, in the same order
    for a, b, c in zip(in_line, worker, plain, strict=True):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)  # and the shifts did change the training


def test_dropout_epochs_are_reproducible_and_change_the_training():
    """The masks come from a generator drawn from rng at the epoch's start: the same seed
    trains the same weights, with the augmentation worker too."""
    x_ones, y = _shifted_problem(2500)
    runs = []
    for dropout, background in ((0.5, False), (0.5, True), (0.0, False)):
        rng = np.random.default_rng(5)
        net = Network.create([16, 8, 3], rng)
        opt = SGD(net, eta=0.5, n_train=2500, dropout=dropout)
        for _ in range(2):
            assert opt.epoch(x_ones, y, 10, rng, augment=_shift, background=background)
        runs.append((net.flat.copy(), rng.random()))
    (first, draw), (second, second_draw), (plain, _) = runs
    np.testing.assert_array_equal(first, second)
    assert draw == second_draw
    assert not np.array_equal(first, plain)


def test_a_stop_request_ends_an_epoch_with_a_worker_and_its_thread():
    x_ones, y = _shifted_problem(3000)
    stop = StopFlag()
    calls = []

    def on_batches(done: int, total: int) -> None:
        calls.append(done)
        stop.requested = "SIGINT"

    opt = SGD(Network.create([16, 8, 3], np.random.default_rng(0)), eta=0.5, n_train=3000)
    complete = opt.epoch(
        x_ones, y, 10, np.random.default_rng(1), on_batches=on_batches, augment=_shift, stop=stop,
        background=True,
    )  # fmt: skip
    assert complete is False
    assert len(calls) == 1  # stopped at the first check after the request
    assert not [t for t in threading.enumerate() if t.name.startswith("nnbp-augment")]


def test_augmentation_goes_to_a_worker_only_for_large_steps_on_one_blas_thread():
    big, small = [784, 800, 10], [784, 30, 10]
    assert background_augmentation(big, 20, configured=1)
    assert not background_augmentation(big, 20, configured=2)
    assert not background_augmentation(small, 10)
    # [784, 100, 10] at m = 10: 0.78 M multiply-adds, one thread chosen by nnbp
    assert background_augmentation([784, 100, 10], 10)


def test_sgd_runs_on_one_blas_thread_for_small_products():
    book = [784, 30, 10]  # largest product 784 x 30 = 23,520 multiply-adds per example
    assert blas_threads(book, 10) == 1
    assert blas_threads(book, 85) == 1
    assert blas_threads(book, 86) is None
    assert blas_threads([784, 800, 10], 10) is None
    assert blas_threads(book, 10, configured=2) == 2
