"""The augmented chunks made in a second process: the same training as on a worker thread
or in line, the generator handed back, errors reported, nothing left behind, and fit's
choice between the process and the thread."""

from __future__ import annotations

import contextlib
import os

import numpy as np
import pytest

from nnbp import augment, config, data, fit
from nnbp.augment_process import AugmentProcess
from nnbp.epoch import CHUNK_ROWS, StopFlag
from nnbp.errors import WorkerError
from nnbp.metrics import one_hot
from nnbp.network import Network
from nnbp.sgd import SGD
from nnbp.training import Augmentation

SHIFT = Augmentation((4, 4), ("shift",), {})


def _problem(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n random 4x4 'images' in three classes: x_ones and one-hot targets."""
    rng = np.random.default_rng(3)
    x_ones = np.ones((n, 17), np.float32)
    x_ones[:, :-1] = rng.random((n, 16))
    return x_ones, one_hot(rng.integers(0, 3, n), 3, np.float32)


def _epochs(x_ones, y, background, m=10, epochs=2, dropout=0.0, aug=SHIFT, stop_first=False):
    """Weights and generator state after ``epochs`` epochs (the first stopped at its first
    check with ``stop_first``)."""
    rng = np.random.default_rng(5)
    net = Network.create([16, 8, 3], rng)
    opt = SGD(net, eta=0.5, n_train=len(x_ones), dropout=dropout)
    for epoch in range(epochs):
        stop, on_batches = StopFlag(), None
        if stop_first and epoch == 0:
            on_batches = lambda done, total, s=stop: setattr(s, "requested", "SIGINT")  # noqa: E731
        complete = opt.epoch(x_ones, y, m, rng, augment=aug, background=background,
                             on_batches=on_batches, stop=stop)  # fmt: skip
        assert complete is not (stop_first and epoch == 0)
    return net.flat.copy(), rng.bit_generator.state


@pytest.mark.parametrize(("n", "m", "dropout"), [(2500, 10, 0.0), (2048, 7, 0.0), (2500, 10, 0.4)])
def test_the_process_trains_exactly_as_the_thread_and_in_line(n, m, dropout):
    x_ones, y = _problem(n)
    in_line = _epochs(x_ones, y, False, m, dropout=dropout)
    thread = _epochs(x_ones, y, True, m, dropout=dropout)
    with AugmentProcess(x_ones, SHIFT, CHUNK_ROWS) as process:
        in_process = _epochs(x_ones, y, process, m, dropout=dropout)
    plain = _epochs(x_ones, y, False, m, dropout=dropout, aug=None)
    for got in (thread, in_process):
        np.testing.assert_array_equal(got[0], in_line[0])
        assert got[1] == in_line[1]  # the generator made the same draws, in the same order
    assert not np.array_equal(plain[0], in_line[0])  # and the shifts changed the training


def test_a_stopped_epoch_hands_the_generator_back_as_the_thread_does():
    """The chunk asked for ahead is made (and dropped) before the epoch returns, as the
    worker thread's is, so that the next epoch draws the same numbers."""
    x_ones, y = _problem(3000)
    thread = _epochs(x_ones, y, True, stop_first=True)
    with AugmentProcess(x_ones, SHIFT, CHUNK_ROWS) as process:
        in_process = _epochs(x_ones, y, process, stop_first=True)
    np.testing.assert_array_equal(in_process[0], thread[0])
    assert in_process[1] == thread[1]


class _Failing:
    """An augmentation that fails on its second chunk (picklable: a module-level class)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        self.calls += 1
        if self.calls == 2:
            raise ValueError("no such pixel")
        return augment.augment(x, (4, 4), rng, ["shift"])


def test_a_failure_in_the_process_is_reported_with_its_traceback():
    x_ones, y = _problem(3000)
    failing = _Failing()
    with AugmentProcess(x_ones, failing, CHUNK_ROWS) as process:
        with pytest.raises(WorkerError, match="no such pixel") as caught:
            _epochs(x_ones, y, process, aug=failing)
        details = caught.value.details  # the process's traceback, down to the failing call
        assert "Traceback" in details and "in __call__" in details
    assert process._process.poll() is not None


def test_what_cannot_go_to_a_process_is_refused():
    x_ones, _ = _problem(100)
    with pytest.raises(WorkerError, match="cannot go to a process"):
        AugmentProcess(x_ones, lambda x, rng: x, CHUNK_ROWS)


def test_the_process_checks_what_it_is_given():
    x_ones, y = _problem(100)
    with AugmentProcess(x_ones, SHIFT, CHUNK_ROWS) as process, pytest.raises(ValueError):
        _epochs(x_ones.copy(), y, process)


def test_closing_leaves_no_process_and_no_file():
    x_ones, _ = _problem(100)
    process = AugmentProcess(x_ones, SHIFT, CHUNK_ROWS)
    path, child = process._path, process._process
    assert child.poll() is None
    process.close()
    assert child.poll() is not None and not os.path.exists(path)
    process.close()  # again: nothing to do


def _fit(cfg, splits, aug):
    t = cfg.training
    rng = np.random.default_rng(t.seed)
    net = Network.create(cfg.network.sizes, rng)
    state = fit.fit(net, splits, t, rng, augment=aug)
    return net.flat.copy(), [
        {k: v for k, v in r.items() if "seconds" not in k} for r in state.history
    ]


def test_fit_makes_the_chunks_in_a_process_and_falls_back_to_a_thread(tiny_config, monkeypatch):
    """A network whose steps leave the second core free ([64, 800, 3] at m = 10, one BLAS
    thread) gets the process; an augmentation only this module can call gets the thread;
    both train the same."""
    cfg = config.load(tiny_config(network={"sizes": [64, 800, 3]}, training={"epochs": 2}))
    splits = data.load_splits(cfg)
    shift = Augmentation(splits.image_shape, ("shift",), {})
    made = []
    real = fit.AugmentProcess
    monkeypatch.setattr(fit, "AugmentProcess", lambda *a: made.append(1) or real(*a))
    in_process = _fit(cfg, splits, shift)
    assert made == [1]
    in_thread = _fit(cfg, splits, lambda x, rng: shift(x, rng))  # no pickle: a thread
    assert made == [1, 1]
    np.testing.assert_array_equal(in_process[0], in_thread[0])
    assert in_process[1] == in_thread[1]
    with contextlib.ExitStack() as stack:
        assert fit._background(stack, Network.create([64, 10, 3], np.random.default_rng(0)),
                               splits.train.x_ones, shift, cfg.training) is False  # fmt: skip
