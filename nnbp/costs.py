"""The costs: each a small object, as in the book's network2.py.

``fn`` is the cost C_x of each example, ``delta`` is BP1 (the output error delta^L) and
``output`` the output layer's activation the cost goes with. ``delta`` takes the output
activation a^L rather than z^L (sigma'(z^L) = a^L (1 - a^L)) and multiplies the error by
k, an array of the factor shaped like a: 1/m for the gradient of the mean cost, eta/m in
a training step, so that every later delta and gradient carries that factor. It writes
into ``out``, using ``tmp`` as scratch.
"""

from __future__ import annotations

import numpy as np


def _clip(a: np.ndarray) -> np.ndarray:
    # Keeps log() finite: an output that rounded to exactly 0 or 1 costs what the
    # nearest representable value would, instead of inf (never patched with nan_to_num).
    info = np.finfo(a.dtype)
    return np.clip(a, info.tiny, 1 - info.epsneg)


class QuadraticCost:
    """C_x = 1/2 ||a^L - y||^2 (chapters 1 and 2), with sigmoid outputs."""

    name = "quadratic"
    output = "sigmoid"

    @staticmethod
    def fn(a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per-example cost, shape (m,), for outputs a and one-hot targets y, both (m, n_L)."""
        diff = a - y
        return 0.5 * np.einsum("ij,ij->i", diff, diff)

    @staticmethod
    def delta(a: np.ndarray, y: np.ndarray, k: np.ndarray, out: np.ndarray, tmp: np.ndarray):
        """BP1: delta^L = (a^L - y) * sigma'(z^L), times k."""
        np.multiply(a, k, out=tmp)
        np.subtract(k, tmp, out=tmp)  # k (1 - a)
        np.multiply(tmp, a, out=tmp)  # k sigma'(z^L)
        np.subtract(a, y, out=out)
        np.multiply(out, tmp, out=out)


class CrossEntropyCost:
    """C_x = -sum_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)] (chapter 3), with sigmoid outputs.

    Its BP1 has no sigma'(z^L) factor, so saturated output neurons still learn fast.
    """

    name = "cross-entropy"
    output = "sigmoid"

    @staticmethod
    def fn(a: np.ndarray, y: np.ndarray) -> np.ndarray:
        a = _clip(a)
        return -np.einsum("ij,ij->i", y, np.log(a)) - np.einsum("ij,ij->i", 1 - y, np.log1p(-a))

    @staticmethod
    def delta(a: np.ndarray, y: np.ndarray, k: np.ndarray, out: np.ndarray, tmp: np.ndarray):
        """BP1: delta^L = a^L - y, times k."""
        np.subtract(a, y, out=out)
        np.multiply(out, k, out=out)


class LogLikelihoodCost:
    """C_x = -ln a^L_y (chapter 3), with a softmax output layer."""

    name = "log-likelihood"
    output = "softmax"

    @staticmethod
    def fn(a: np.ndarray, y: np.ndarray) -> np.ndarray:
        return -np.log(_clip(np.einsum("ij,ij->i", a, y)))

    # BP1 for softmax and log-likelihood is again delta^L = a^L - y.
    delta = CrossEntropyCost.delta


COSTS: dict[str, type] = {c.name: c for c in (QuadraticCost, CrossEntropyCost, LogLikelihoodCost)}
