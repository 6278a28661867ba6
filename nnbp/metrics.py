"""How well a network does on labelled data: accuracy, cost, confusion, per-class scores;
and ``read_log``, the per-epoch record of them a run keeps (metrics.jsonl).

Everything starts from the network's outputs on the whole set (``Network.feedforward``,
in large matrix batches); the scores are then counting over integer labels.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnbp.costs import COSTS
from nnbp.errors import RunError

# The keys of a metrics.jsonl line that hold numbers (or null), and those of its trace.
LOG_NUMBERS = ("train_cost", "train_accuracy", "validation_accuracy", "test_accuracy", "eta")
TRACE_KEYS = ("layer", "delta_norm", "mean_sigma_prime", "saturated", "grad_w_norm", "grad_b_norm")


@dataclass(frozen=True)
class Report:
    """How well a model does on labelled images: what ``nnbp evaluate`` shows."""

    accuracy: float  # share of images whose most active output is the label
    cost: float  # mean of the model's cost function over the images
    n: int
    confusion: np.ndarray  # (k, k) counts: row = true class, column = predicted class
    per_class: list[dict[str, Any]]  # class, name, precision, recall, f1, support

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data: what ``nnbp evaluate --json`` prints."""
        return {
            "accuracy": self.accuracy,
            "cost": self.cost,
            "n": self.n,
            "confusion": self.confusion.tolist(),
            "per_class": self.per_class,
        }


def one_hot(labels: np.ndarray, n_classes: int, dtype: np.dtype | type) -> np.ndarray:
    """Integer labels (n,) -> one-hot rows (n, n_classes): the targets y(x) of the cost."""
    y = np.zeros((len(labels), n_classes), dtype=dtype)
    y[np.arange(len(labels)), labels] = 1
    return y


def accuracy(a: np.ndarray, labels: np.ndarray) -> float:
    """Share of rows of a (n, n_L) whose largest output is the label; 0 for no rows."""
    if len(labels) == 0:
        return 0.0
    return int(np.count_nonzero(a.argmax(axis=1) == labels)) / len(labels)


def mean_cost(cost: str, a: np.ndarray, labels: np.ndarray) -> float:
    """Mean of the per-example cost C_x over the rows of a, for integer labels."""
    if len(labels) == 0:
        return 0.0
    y = one_hot(labels, a.shape[1], a.dtype)
    # Summed in float64: 50,000 float32 costs would otherwise lose digits.
    return float(COSTS[cost].fn(a, y).sum(dtype=np.float64)) / len(labels)


def probabilities(a: np.ndarray) -> np.ndarray:
    """Output activations (n, n_L) -> rows that sum to 1.

    Sigmoid output neurons are independent, so their activations need not sum to 1;
    dividing by the row sum gives the share of the total output each class takes, which
    is what ``predict`` reports as the probability of each class.
    """
    total = a.sum(axis=1, keepdims=True, dtype=np.float64)
    return np.divide(a, total, out=np.full(a.shape, 1 / a.shape[1]), where=total > 0)


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) int64 counts: row = true class, column = predicted class."""
    flat = labels.astype(np.int64) * n_classes + predicted.astype(np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class(confusion: np.ndarray, class_names: list[str]) -> list[dict[str, Any]]:
    """Precision, recall, F1 and support per class; a score with a zero denominator is 0."""
    tp = np.diag(confusion).astype(np.float64)
    predicted = confusion.sum(axis=0)
    support = confusion.sum(axis=1)
    rows = []
    for k, name in enumerate(class_names):
        precision = tp[k] / predicted[k] if predicted[k] else 0.0
        recall = tp[k] / support[k] if support[k] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(
            {
                "class": k,
                "name": name,
                "precision": float(precision),
                "recall": float(recall),
                "f1": float(f1),
                "support": int(support[k]),
            }
        )
    return rows


def confident_errors(p: np.ndarray, labels: np.ndarray, n: int) -> list[dict[str, Any]]:
    """The ``n`` wrongly classified rows of the probabilities p (n, k) with the highest
    probability on the wrong class.

    Each: ``index`` (row), ``label`` (true), ``predicted``, ``confidence``.
    """
    predicted = p.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = p[wrong, predicted[wrong]]
    order = wrong[np.argsort(-confidence, kind="stable")][:n]
    return [
        {
            "index": int(i),
            "label": int(labels[i]),
            "predicted": int(predicted[i]),
            "confidence": float(p[i, predicted[i]]),
        }
        for i in order
    ]


def read_log(path: str | os.PathLike) -> list[dict[str, Any]]:
    """A run's metrics.jsonl as one dict per epoch, checked: each line a JSON object with
    an integer ``epoch``, numbers (or null) under the keys of LOG_NUMBERS, and a
    ``trace`` (when present) of objects with numbers under the keys of TRACE_KEYS. A bad
    line is a RunError naming the file and the line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise RunError(f"{path}: cannot read ({e})") from None
    numbered = enumerate(lines, start=1)
    records = [_record(f"{path}: line {n}", line) for n, line in numbered if line.strip()]
    if not records:
        raise RunError(f"{path}: no epochs recorded")
    return records


def _record(where: str, line: str) -> dict[str, Any]:
    """One line of metrics.jsonl, checked; ``where`` (file and line) starts each RunError."""
    try:
        record = json.loads(line)
    except ValueError:
        raise RunError(f"{where} is not valid JSON") from None
    if not isinstance(record, dict) or type(record.get("epoch")) is not int:
        raise RunError(f"{where}: expected a JSON object with an integer 'epoch'")
    for key in LOG_NUMBERS:
        if record.get(key) is not None and not _is_number(record[key]):
            raise RunError(f"{where}: '{key}' must be a number or null")
    trace = record.get("trace", [])
    if not isinstance(trace, list) or not all(
        isinstance(t, dict) and all(_is_number(t.get(k)) for k in TRACE_KEYS) for t in trace
    ):
        keys = ", ".join(TRACE_KEYS)
        raise RunError(f"{where}: 'trace' must be a list of objects with numeric keys {keys}")
    return record


def _is_number(v: Any) -> bool:
    return type(v) in (int, float)  # JSON gives int, float, bool, str...: bool is no number
