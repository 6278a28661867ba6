"""The activations, each in place on z and returning it: the sigmoid of the hidden layers
(and of the output with the quadratic and cross-entropy costs), softmax for the
log-likelihood cost, and sigma' from the activation itself.

``one`` is 1, or an array of ones shaped like z: on the small arrays of a mini-batch step,
a NumPy call with an array operand is cheaper than one with a scalar, which it converts
on every call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def sigmoid_(z: np.ndarray, one: Any = 1) -> np.ndarray:
    """The logistic function 1 / (1 + exp(-z)), in place in z; returns z.

    For z below about -88 (float32) exp(-z) overflows to inf and the result is exactly 0,
    the right limit; callers silence that expected overflow with ``np.errstate``. (The
    tanh form 0.5 tanh(z/2) + 0.5 avoids the overflow but loses the relative precision of
    small activations, which the log costs need.)
    """
    np.negative(z, out=z)
    np.exp(z, out=z)
    np.add(z, one, out=z)
    np.reciprocal(z, out=z)
    return z


def softmax_(z: np.ndarray, one: Any = 1) -> np.ndarray:
    """Softmax over each row of z (m, n), in place; returns z.

    Subtracting each row's maximum first (the log-sum-exp trick) keeps exp from
    overflowing and leaves the result unchanged.
    """
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def sigmoid(z: np.ndarray) -> np.ndarray:
    """sigma(z) elementwise, in z's dtype, as a new array."""
    with np.errstate(over="ignore"):
        return sigmoid_(np.array(z, dtype=z.dtype, copy=True))


def sigmoid_prime_(a: np.ndarray, out: np.ndarray, one: Any = 1) -> np.ndarray:
    """sigma'(z) into ``out``, from a = sigma(z): sigma'(z) = a (1 - a). Returns out."""
    np.subtract(one, a, out=out)
    np.multiply(out, a, out=out)
    return out


OUTPUTS: dict[str, Callable[..., np.ndarray]] = {"sigmoid": sigmoid_, "softmax": softmax_}
