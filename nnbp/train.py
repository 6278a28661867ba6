"""The training loop: mini-batch stochastic gradient descent, and evaluation.

Progress goes out through callbacks so that the caller (the CLI) decides what to show;
nothing here prints or touches files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnbp.config import TrainingConfig
from nnbp.data import Split, Splits
from nnbp.network import COSTS, Network

# Evaluation runs in chunks this large: big enough for fast matrix products, small enough
# that a (chunk, 784) float32 block stays around 30 MB.
EVAL_BATCH = 10_000


def one_hot(labels: np.ndarray, n_classes: int, dtype: np.dtype) -> np.ndarray:
    """Integer labels (n,) -> one-hot rows (n, n_classes): the targets y(x) of the cost."""
    y = np.zeros((len(labels), n_classes), dtype=dtype)
    y[np.arange(len(labels)), labels] = 1
    return y


@dataclass
class Evaluation:
    """Accuracy (share of argmax predictions equal to the label) and mean cost on a Split."""

    accuracy: float
    cost: float


def evaluate(net: Network, split: Split, batch: int = EVAL_BATCH) -> Evaluation:
    """Accuracy and mean cost of ``net`` on ``split``, in matrix batches of ``batch`` rows."""
    n_classes = net.sizes[-1]
    cost_fn = COSTS[net.cost].fn
    correct = 0
    total_cost = 0.0
    for start in range(0, len(split), batch):
        x = split.x[start : start + batch]
        labels = split.labels[start : start + batch]
        y = one_hot(labels, n_classes, net.dtype)
        a = net.feedforward(x)
        correct += int(np.count_nonzero(a.argmax(axis=1) == labels))
        # Sum in float64: 50,000 float32 costs would otherwise lose digits.
        total_cost += float(cost_fn(a, y).sum(dtype=np.float64))
    n = max(len(split), 1)
    return Evaluation(correct / n, total_cost / n)


def sgd_epoch(
    net: Network,
    split: Split,
    y: np.ndarray,
    mini_batch_size: int,
    eta: float,
    rng: np.random.Generator,
    on_batches: Callable[[int, int], None] | None = None,
) -> None:
    """One epoch of SGD: shuffle with ``rng``, then one step per mini-batch.

    ``y`` is the one-hot form of ``split.labels``, (n, n_classes). Each mini-batch is
    gathered with one ``take`` per array and handed whole to backprop: the only Python
    loop is over mini-batches, never over examples. The last mini-batch is smaller when
    m does not divide n. ``on_batches(done, total)`` is called about a hundred times.
    """
    n = len(split)
    order = rng.permutation(n)
    total = -(-n // mini_batch_size)
    report_every = max(total // 100, 1)
    for k, start in enumerate(range(0, n, mini_batch_size), start=1):
        batch = order[start : start + mini_batch_size]
        net.sgd_step(split.x.take(batch, axis=0), y.take(batch, axis=0), eta)
        if on_batches is not None and (k % report_every == 0 or k == total):
            on_batches(k, total)


def fit(
    net: Network,
    splits: Splits,
    settings: TrainingConfig,
    rng: np.random.Generator,
    *,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    on_batches: Callable[[int, int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Train ``net`` in place for ``settings.epochs`` epochs; return each epoch's metrics.

    After every epoch: the mean training cost and accuracy, the validation accuracy
    (None without a validation split) and the test accuracy, with ``train_seconds``
    (the SGD pass alone) and ``seconds`` (the whole epoch, evaluation included).
    ``on_epoch(metrics)`` is called with each epoch's dict as soon as it is known;
    ``on_batches(epoch, done, total)`` reports progress within an epoch.
    """
    y = one_hot(splits.train.labels, net.sizes[-1], net.dtype)
    history = []
    for epoch in range(1, settings.epochs + 1):
        t0 = time.perf_counter()
        report = None
        if on_batches is not None:

            def report(done: int, total: int, epoch: int = epoch) -> None:
                on_batches(epoch, done, total)

        sgd_epoch(net, splits.train, y, settings.mini_batch_size, settings.eta, rng, report)
        t1 = time.perf_counter()
        train = evaluate(net, splits.train)
        validation = evaluate(net, splits.validation) if splits.validation else None
        test = evaluate(net, splits.test)
        metrics = {
            "epoch": epoch,
            "train_cost": train.cost,
            "train_accuracy": train.accuracy,
            "validation_accuracy": validation.accuracy if validation else None,
            "test_accuracy": test.accuracy,
            "train_seconds": t1 - t0,
            "seconds": time.perf_counter() - t0,
        }
        history.append(metrics)
        if on_epoch is not None:
            on_epoch(metrics)
    return history
