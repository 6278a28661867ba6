"""The training loop: epochs of SGD (``sgd.SGD.epoch``), evaluation after each, the eta
schedule, early stopping and the best epoch.

Progress goes out through callbacks so that the caller decides what to show; nothing
here prints or touches files (``training.py`` writes the run directory).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from nnbp import metrics
from nnbp.data import Split, Splits
from nnbp.introspect import layer_stats
from nnbp.metrics import one_hot
from nnbp.network import FEEDFORWARD_BATCH, Network
from nnbp.sections import TrainingConfig
from nnbp.sgd import SGD, Augment, StopFlag, background_augmentation, blas_threads

# training.trace measures the layers on this many (fixed, first) training examples.
TRACE_EXAMPLES = 1000

# Why training ended before its last epoch (TrainState.stop_reason).
EARLY_STOPPING = "early_stopping"  # no better validation accuracy for N epochs
ETA_FLOOR = "eta"  # eta was halved max_halvings times
ON_EPOCH = "on_epoch"  # the on_epoch callback asked to stop
STOP_REASONS = {
    EARLY_STOPPING: "no better validation accuracy",
    ETA_FLOOR: "eta fell to its floor",
    ON_EPOCH: "the on_epoch callback asked to stop",
}

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
class TrainState:
    """Where training stands after an epoch: what a checkpoint must hold to resume."""

    epoch: int = 0
    eta: float = 0.0
    halvings: int = 0
    best_accuracy: float = -1.0
    best_epoch: int = 0
    since_improvement: int = 0
    best_params: list[np.ndarray] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str = ""  # a key of STOP_REASONS when training ended early, else ""


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
) -> TrainState:
    """Train ``net`` in place for up to ``settings.epochs`` epochs; return the final state.

    ``on_epoch(row)`` gets each epoch's metrics (``_epoch_row``); a true return value
    ends training there. ``on_batches(epoch, done, total)`` reports progress. With a
    validation split the best epoch is tracked and the eta schedule and early stopping
    apply (``_track_best``). Training resumes from ``state`` (and ``optimizer``) when
    given; a ``stop`` request returns mid-epoch with the state of the last complete one.
    """
    s = settings
    state = state or TrainState(eta=s.eta)
    optimizer = optimizer or SGD(
        net, eta=state.eta, n_train=len(splits.train), lmbda=s.lmbda,
        regularization=s.regularization, momentum=s.momentum,
    )  # fmt: skip
    y = one_hot(splits.train.labels, net.sizes[-1], net.dtype)
    threads = blas_threads(net.sizes, s.mini_batch_size, s.blas_threads)
    background = background_augmentation(net.sizes, s.mini_batch_size, s.blas_threads)
    while state.epoch < s.epochs and not state.stop_reason:
        t0 = time.perf_counter()
        progress = None
        if on_batches is not None:
            progress = functools.partial(on_batches, state.epoch + 1)
        optimizer.eta = state.eta
        with threadpool_limits(limits=threads, user_api="blas"):
            complete = optimizer.epoch(
                splits.train.x_ones, y, s.mini_batch_size, rng, on_batches=progress,
                augment=augment, stop=stop, background=background,
            )  # fmt: skip
        if not complete:
            break
        row = _epoch_row(net, splits, s, optimizer, state, y, t0)
        state.epoch += 1
        state.history.append(row)
        if splits.validation is not None:
            _track_best(state, s, net, row["validation_accuracy"])
        if on_epoch is not None and on_epoch(row) and not state.stop_reason:
            state.stop_reason = ON_EPOCH
    return state


def _epoch_row(
    net: Network, splits: Splits, s: TrainingConfig, optimizer: SGD, state: TrainState,
    y: np.ndarray, t0: float,
) -> dict[str, Any]:  # fmt: skip
    """The metrics of the epoch just trained: one line of metrics.jsonl.

    The training cost (data and regularisation parts) and accuracy, the validation
    accuracy (None without a validation split), the test accuracy, the eta in force,
    ``train_seconds`` (the SGD pass alone) and ``seconds`` (the whole epoch); ``trace``
    with ``training.trace``.
    """
    t1 = time.perf_counter()
    train = evaluate(net, splits.train)
    validation = evaluate(net, splits.validation) if splits.validation else None
    test = evaluate(net, splits.test)
    reg = optimizer.regularization_cost()
    trace = None
    if s.trace:
        sample = slice(0, TRACE_EXAMPLES)
        trace = layer_stats(net, splits.train.x[sample], y[sample])
    row = {
        "epoch": state.epoch + 1,
        "train_cost": train.cost + reg,
        "train_cost_data": train.cost,
        "train_cost_regularization": reg,
        "train_accuracy": train.accuracy,
        "validation_accuracy": validation.accuracy if validation else None,
        "test_accuracy": test.accuracy,
        "eta": state.eta,
        "train_seconds": t1 - t0,
        "seconds": time.perf_counter() - t0,
    }
    if trace is not None:
        row["trace"] = trace
    return row


def _track_best(state: TrainState, s: TrainingConfig, net: Network, accuracy: float) -> None:
    """Best-epoch bookkeeping, the eta schedule and early stopping, after one epoch."""
    if accuracy > state.best_accuracy:
        state.best_accuracy = accuracy
        state.best_epoch = state.epoch
        state.since_improvement = 0
        state.best_params = [p.copy() for p in net.params]
        return
    state.since_improvement += 1
    if s.early_stopping and state.since_improvement >= s.early_stopping:
        state.stop_reason = EARLY_STOPPING
    elif s.halve_eta_after and state.since_improvement >= s.halve_eta_after:
        state.halvings += 1
        state.eta /= 2
        state.since_improvement = 0
        if state.halvings >= s.max_halvings:
            state.stop_reason = ETA_FLOOR


def restart_rules(state: TrainState, s: TrainingConfig) -> None:
    """Re-decide whether training has ended, for a run resumed under changed stopping
    rules (``training.epochs`` itself is looked at by ``fit``)."""
    state.stop_reason = ""
    if s.early_stopping and state.since_improvement >= s.early_stopping:
        state.stop_reason = EARLY_STOPPING
    elif s.halve_eta_after and state.halvings >= s.max_halvings:
        state.stop_reason = ETA_FLOOR
