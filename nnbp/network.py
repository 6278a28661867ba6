"""Fully-connected sigmoid networks: feedforward and backpropagation (Nielsen, ch. 2).

Orientation: examples are the *rows* of a matrix, as in scikit-learn, so a mini-batch of
m examples is ``x`` with shape (m, n_in) and the activations of layer l are ``a`` with
shape (m, n_l). The weights keep the book's orientation: ``w[l]`` has shape
(n_out, n_in), one row per neuron of the layer it feeds, so the book's
``z = w a + b`` for one column vector becomes ``z = a @ w.T + b`` for a stack of rows.

Indexing departs from the book: the book numbers layers from 1 (the input) and its
first weight matrix is w^2; here ``w[0]`` and ``b[0]`` feed the first hidden layer, and
``w[-1]``, ``b[-1]`` the output layer L.

No I/O and no printing here: this module is the maths.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + exp(-z)), elementwise, in z's dtype.

    For z below about -88 (float32) exp(-z) overflows to inf and the result is exactly
    0, the right limit; the overflow is expected, so its warning is silenced. (The
    tanh form 0.5 tanh(z/2) + 0.5 avoids the overflow but loses the relative
    precision of small activations, which log costs need.)
    """
    with np.errstate(over="ignore"):
        a = np.negative(z)
        np.exp(a, out=a)
    a += 1
    np.reciprocal(a, out=a)
    return a


def sigmoid_prime_from_a(a: np.ndarray) -> np.ndarray:
    """sigma'(z) computed from a = sigma(z): sigma'(z) = a (1 - a)."""
    return a * (1 - a)


# --- Costs -------------------------------------------------------------------------------
# Each cost is a small object with the book's two functions: ``fn`` (the cost of each
# example) and ``delta`` (BP1, the output error delta^L). ``delta`` takes the output
# activation a^L rather than z^L because sigma'(z^L) = a^L (1 - a^L): no need to keep z.


class QuadraticCost:
    """C_x = 1/2 ||a^L - y||^2 (the book's chapter 1 and 2 cost)."""

    name = "quadratic"

    @staticmethod
    def fn(a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per-example cost, shape (m,), for outputs a and one-hot targets y, both (m, n_L)."""
        diff = a - y
        return 0.5 * np.einsum("ij,ij->i", diff, diff)

    @staticmethod
    def delta(a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """BP1: delta^L = (a^L - y) * sigma'(z^L), shape (m, n_L)."""
        return (a - y) * sigmoid_prime_from_a(a)


COSTS: dict[str, type] = {"quadratic": QuadraticCost}


# --- Initialisation ----------------------------------------------------------------------
# Each initialiser draws (w, b) for one layer from the run's single Generator.

Initialiser = Callable[[np.random.Generator, int, int], tuple[np.ndarray, np.ndarray]]


def init_large(rng: np.random.Generator, n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights and biases N(0, 1), as in the book's chapter 1 (network.py)."""
    w = rng.standard_normal((n_out, n_in))
    b = rng.standard_normal(n_out)
    return w, b


INITS: dict[str, Initialiser] = {"large": init_large}
DTYPES = {"float32": np.float32, "float64": np.float64}


@dataclass
class Network:
    """A fully-connected sigmoid network.

    ``w[l]``: (sizes[l+1], sizes[l]); ``b[l]``: (sizes[l+1],); all of one float dtype.
    """

    w: list[np.ndarray]
    b: list[np.ndarray]
    cost: str = "quadratic"

    @classmethod
    def create(
        cls,
        sizes: list[int] | tuple[int, ...],
        rng: np.random.Generator,
        *,
        init: str = "large",
        cost: str = "quadratic",
        dtype: str = "float32",
    ) -> Network:
        """A new network with layer sizes ``sizes`` (input first), drawn from ``rng``.

        The draws are made in float64 and then cast, so float32 and float64 networks
        from the same seed start from the same numbers (up to rounding).
        """
        draw = INITS[init]
        w, b = [], []
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
            wl, bl = draw(rng, n_in, n_out)
            w.append(wl.astype(DTYPES[dtype]))
            b.append(bl.astype(DTYPES[dtype]))
        return cls(w, b, cost)

    @property
    def sizes(self) -> list[int]:
        """Layer sizes, input first: [n_in, hidden..., n_classes]."""
        return [self.w[0].shape[1]] + [wl.shape[0] for wl in self.w]

    @property
    def dtype(self) -> np.dtype:
        return self.w[0].dtype

    def feedforward(self, x: np.ndarray) -> np.ndarray:
        """Output activations a^L, shape (m, n_L), for inputs x of shape (m, n_in)."""
        a = x
        for w, b in zip(self.w, self.b, strict=True):
            a = sigmoid(a @ w.T + b)
        return a

    def activations(self, x: np.ndarray) -> list[np.ndarray]:
        """[a^1 = x, a^2, ..., a^L], each (m, n_l): every layer's activation, kept for BP2-BP4."""
        acts = [x]
        for w, b in zip(self.w, self.b, strict=True):
            acts.append(sigmoid(acts[-1] @ w.T + b))
        return acts

    def backprop(self, x: np.ndarray, y: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Gradient of the mean cost over the mini-batch (x, y), by BP1-BP4.

        x: (m, n_in) inputs; y: (m, n_L) one-hot targets. Returns (nabla_b, nabla_w)
        shaped like (b, w): nabla_b[l] = (1/m) sum_x delta^l (BP3) and
        nabla_w[l] = (1/m) sum_x delta^l (a^(l-1))^T (BP4), each sum done as one matrix
        product over the whole mini-batch.
        """
        m = x.shape[0]
        acts = self.activations(x)
        nabla_b: list[np.ndarray] = [np.empty(0)] * len(self.b)
        nabla_w: list[np.ndarray] = [np.empty(0)] * len(self.w)
        delta = COSTS[self.cost].delta(acts[-1], y)  # BP1, (m, n_L)
        for l in range(len(self.w) - 1, -1, -1):
            if l < len(self.w) - 1:
                # BP2: delta^l = (w^(l+1))^T delta^(l+1) * sigma'(z^l); with rows as
                # examples the transpose moves to the other side: delta @ w.
                delta = (delta @ self.w[l + 1]) * sigmoid_prime_from_a(acts[l + 1])
            nabla_b[l] = delta.sum(axis=0) / m  # BP3
            nabla_w[l] = (delta.T @ acts[l]) / m  # BP4
        return nabla_b, nabla_w

    def sgd_step(self, x: np.ndarray, y: np.ndarray, eta: float) -> None:
        """One step of gradient descent on the mini-batch: w -= eta nabla_w, b -= eta nabla_b."""
        nabla_b, nabla_w = self.backprop(x, y)
        eta = self.dtype.type(eta)  # a numpy scalar keeps float32 arrays float32
        for w, b, nw, nb in zip(self.w, self.b, nabla_w, nabla_b, strict=True):
            w -= eta * nw
            b -= eta * nb
