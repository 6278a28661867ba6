"""The training loop: epochs of SGD (``sgd.SGD.epoch``), evaluation after each, the eta
schedule, early stopping and the best epoch.

Progress goes out through callbacks so that the caller decides what to show; nothing
here prints or touches files (``training.py`` writes the run directory).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from nnbp import metrics
from nnbp.data import Split, Splits
from nnbp.epoch import Augment, StopFlag, background_augmentation, blas_threads
from nnbp.introspect import layer_stats
from nnbp.metrics import one_hot
from nnbp.network import FEEDFORWARD_BATCH, Network
from nnbp.schedule import ON_EPOCH, TrainState, track_best
from nnbp.sections import TrainingConfig
from nnbp.sgd import SGD

# training.trace measures the layers on this many (fixed, first) training examples.
TRACE_EXAMPLES = 1000

# The numbers every metrics.jsonl row holds besides its "epoch" (and "trace" when traced).
METRIC_KEYS = (
    "train_cost", "train_cost_data", "train_cost_regularization", "train_accuracy",
    "validation_accuracy", "test_accuracy", "eta", "train_seconds", "seconds",
)  # fmt: skip


@dataclass
class Evaluation:
    """Accuracy (share of argmax predictions equal to the label) and mean cost on a Split."""

    accuracy: float
    cost: float


def evaluate(net: Network, split: Split, batch: int = FEEDFORWARD_BATCH) -> Evaluation:
    """Accuracy and mean cost of ``net`` on ``split``, in matrix batches of ``batch`` rows.

    A diverged network gives a NaN or infinite cost here, which the caller reports.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        a = net.feedforward(split.x_ones, batch)
        return Evaluation(
            metrics.accuracy(a, split.labels), metrics.mean_cost(net.cost, a, split.labels)
        )


@dataclass
class EpochEnd:
    """An epoch as it stood when its SGD pass ended: what its metrics row and checkpoint
    describe, kept apart from the network, which may already be training the next epoch.

    net: a copy of the network; velocity: copies of the optimiser's momentum per layer,
    or None; rng_state: the Generator's bit-generator state; eta: the learning rate the
    epoch used; t0: perf_counter() at the start of its SGD pass; train_seconds: the pass's
    own time (less any time spent finishing the epoch before it).
    """

    epoch: int
    net: Network
    velocity: list[np.ndarray] | None
    rng_state: dict[str, Any]
    eta: float
    t0: float
    train_seconds: float

    @classmethod
    def take(
        cls, epoch: int, net: Network, optimizer: SGD, rng: np.random.Generator, t0: float,
        train_seconds: float,
    ) -> EpochEnd:  # fmt: skip
        velocity = optimizer.velocity
        return cls(
            epoch, net.copy(), None if velocity is None else [v.copy() for v in velocity],
            rng.bit_generator.state, optimizer.eta, t0, train_seconds,
        )  # fmt: skip

    def restore(self, net: Network, optimizer: SGD, rng: np.random.Generator) -> None:
        """Put the network, momentum and generator back as they were at this epoch's end."""
        np.copyto(net.flat, self.net.flat)
        for v, saved in zip(optimizer.velocity or [], self.velocity or [], strict=True):
            np.copyto(v, saved)
        rng.bit_generator.state = self.rng_state


def fit(
    net: Network,
    splits: Splits,
    settings: TrainingConfig,
    rng: np.random.Generator,
    *,
    on_epoch: Callable[[dict[str, Any]], Any] | None = None,
    on_batches: Callable[[int, int, int], None] | None = None,
    augment: Augment | None = None,
    state: TrainState | None = None,
    optimizer: SGD | None = None,
    stop: StopFlag | None = None,
    overlap: bool | None = None,
) -> TrainState:
    """Train ``net`` in place for up to ``settings.epochs`` epochs; return the final state.

    ``on_epoch(row)`` gets each epoch's metrics row (``_Loop.finish``); a true return value
    ends training there. ``on_batches(epoch, done, total)`` reports progress. With a
    validation split the best epoch is tracked and the eta schedule and early stopping
    apply (``_track_best``). Training resumes from ``state`` (and ``optimizer``) when
    given; a ``stop`` request returns with the state of the last complete epoch.

    With ``overlap`` (the default when the steps use one BLAS thread, leaving a core
    free) epoch k is evaluated on a second thread while epoch k + 1 trains. Epoch k + 1
    starts with the eta in force; when epoch k's result changes that eta or ends
    training, the epoch is undone and, if training goes on, trained again, so the rows,
    the schedule and the weights are those of evaluating in line.
    """
    s = settings
    state = state or TrainState(eta=s.eta)
    optimizer = optimizer or SGD(
        net, eta=state.eta, n_train=len(splits.train), lmbda=s.lmbda,
        regularization=s.regularization, momentum=s.momentum, dropout=s.dropout,
    )  # fmt: skip
    threads = blas_threads(net.sizes, s.mini_batch_size, s.blas_threads)
    overlap = threads == 1 if overlap is None else overlap
    # Evaluation runs under the steps' thread count too: a matrix product's rounding
    # depends on its thread count, and the rows must not depend on where they are made.
    with (
        threadpool_limits(limits=threads, user_api="blas"),
        ThreadPoolExecutor(1, thread_name_prefix="nnbp-evaluate") as pool,
    ):
        loop = _Loop(net, splits, s, optimizer, state, rng, on_epoch, pool if overlap else None)
        loop.run(on_batches, augment, stop)
    return state


class _Loop:
    """The epochs of one ``fit``: each trained, then finished (evaluated, the schedule
    applied, ``on_epoch`` called) in line or, with a ``pool``, while the next one trains."""

    def __init__(
        self, net: Network, splits: Splits, s: TrainingConfig, optimizer: SGD,
        state: TrainState, rng: np.random.Generator,
        on_epoch: Callable[[dict[str, Any]], Any] | None, pool: ThreadPoolExecutor | None,
    ) -> None:  # fmt: skip
        self.net, self.splits, self.s, self.optimizer = net, splits, s, optimizer
        self.state, self.rng, self.on_epoch, self.pool = state, rng, on_epoch, pool
        self.y = one_hot(splits.train.labels, net.sizes[-1], net.dtype)
        self.background = background_augmentation(net.sizes, s.mini_batch_size, s.blas_threads)
        self.pending: tuple[EpochEnd, Future] | None = None  # trained, not yet finished

    def run(
        self, on_batches: Callable[..., None] | None, augment: Augment | None,
        stop: StopFlag | None,
    ) -> None:  # fmt: skip
        state = self.state
        while not state.stop_reason:
            if state.epoch + (self.pending is not None) < self.s.epochs:
                if not self.train(on_batches, augment, stop):
                    return
            elif self.pending is not None:
                self.finish(None)
            else:
                return

    def train(
        self, on_batches: Callable[..., None] | None, augment: Augment | None,
        stop: StopFlag | None,
    ) -> bool:  # fmt: skip
        """Train the next epoch and start finishing it; False when ``stop`` ended it."""
        t0 = time.perf_counter()
        epoch = self.state.epoch + 1 + (self.pending is not None)
        self.optimizer.eta = self.state.eta
        superseded, finishing = False, 0.0

        def between() -> bool:  # has the previous epoch's result undone this one?
            nonlocal superseded, finishing
            if self.pending is not None and self.pending[1].done():
                start = time.perf_counter()
                superseded = self.finish(t0)
                finishing = time.perf_counter() - start  # not this epoch's SGD time
            return superseded

        complete = self.optimizer.epoch(
            self.splits.train.x_ones, self.y, self.s.mini_batch_size, self.rng,
            on_batches=None if on_batches is None else functools.partial(on_batches, epoch),
            augment=augment, stop=stop, background=self.background,
            between=between if self.pool is not None else None,
        )  # fmt: skip
        train_seconds = time.perf_counter() - t0 - finishing
        if self.pending is not None:  # trained before the previous epoch was evaluated
            superseded = self.finish(t0) or superseded
        if superseded:  # trained with an eta, or past an end, that epoch's result undid
            self.state.last.restore(self.net, self.optimizer, self.rng)
            return not (stop is not None and stop.requested)
        if not complete:
            return False
        end = EpochEnd.take(epoch, self.net, self.optimizer, self.rng, t0, train_seconds)
        if self.pool is not None:
            self.pending = (end, self.pool.submit(self.measure, end.net))
        else:
            measured: Future = Future()
            measured.set_result(self.measure(end.net))
            self.pending = (end, measured)
            self.finish(None)
        return True

    def measure(self, net: Network) -> dict[str, Any]:
        """The numbers of a metrics row that come from the weights ``net``: the training
        cost (data and regularisation parts) and accuracy, the validation accuracy (None
        without a validation split), the test accuracy; ``trace`` with ``training.trace``."""
        splits = self.splits
        train = evaluate(net, splits.train)
        validation = evaluate(net, splits.validation) if splits.validation else None
        test = evaluate(net, splits.test)
        reg = self.optimizer.regularization.cost(net.w)
        numbers: dict[str, Any] = {
            "train_cost": train.cost + reg,
            "train_cost_data": train.cost,
            "train_cost_regularization": reg,
            "train_accuracy": train.accuracy,
            "validation_accuracy": validation.accuracy if validation else None,
            "test_accuracy": test.accuracy,
        }
        if self.s.trace:
            sample = slice(0, TRACE_EXAMPLES)
            numbers["trace"] = layer_stats(net, splits.train.x[sample], self.y[sample])
        return numbers

    def finish(self, next_start: float | None) -> bool:
        """The pending epoch's row, best-epoch bookkeeping and ``on_epoch``; True when its
        result changes the epoch after it (another eta, or an end to training).

        The row's ``seconds`` runs from the start of the epoch's SGD pass to that of the
        next (``next_start``, when it is already training), or else to now.
        """
        end, future = self.pending
        self.pending = None
        numbers = future.result()
        trace = numbers.pop("trace", None)
        row = {"epoch": end.epoch, **numbers, "eta": end.eta, "train_seconds": end.train_seconds}
        state = self.state
        state.epoch, state.last = end.epoch, end
        state.history.append(row)
        if self.splits.validation is not None:
            track_best(state, self.s, end.net, row["validation_accuracy"])
        changed = state.eta != end.eta or bool(state.stop_reason)
        if next_start is None or changed:
            next_start = time.perf_counter()
        row["seconds"] = next_start - end.t0
        if trace is not None:
            row["trace"] = trace
        if self.on_epoch is not None and self.on_epoch(row) and not state.stop_reason:
            state.stop_reason = ON_EPOCH
            changed = True
        return changed
