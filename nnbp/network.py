"""Fully-connected sigmoid networks: feedforward and backpropagation (Nielsen, ch. 2-3).

Orientation: examples are the *rows* of a matrix, as in scikit-learn, so a mini-batch of
m examples is ``x`` with shape (m, n_in) and the activations of layer l are ``a`` with
shape (m, n_l). The weights keep the book's orientation: ``w[l]`` has shape
(n_out, n_in), one row per neuron of the layer it feeds, so the book's
``z = w a + b`` for one column vector becomes ``z = a @ w.T + b`` for a stack of rows.

Indexing departs from the book: the book numbers layers from 1 (the input) and its
first weight matrix is w^2; here ``w[0]`` and ``b[0]`` feed the first hidden layer, and
``w[-1]``, ``b[-1]`` the output layer L.

Storage: each layer's weights and biases live in one array ``params[l]`` of shape
(n_out, n_in + 1), the bias as the last column; ``w[l]`` and ``b[l]`` are views into
it. One array per layer lets the optimiser update weights and biases together.

No I/O and no printing here: this module is the maths. The fast training step, with its
preallocated buffers, is ``sgd.SGD``; ``Network.backprop`` is the plain reference it
is tested against.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# --- Activations -------------------------------------------------------------------------


def sigmoid_(z: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + exp(-z)), computed in place in z; returns z.

    For z below about -88 (float32) exp(-z) overflows to inf and the result is exactly 0,
    the right limit; callers silence that expected overflow with ``np.errstate``. (The
    tanh form 0.5 tanh(z/2) + 0.5 avoids the overflow but loses the relative precision of
    small activations, which the log costs need.)
    """
    np.negative(z, out=z)
    np.exp(z, out=z)
    z += 1
    np.reciprocal(z, out=z)
    return z


def sigmoid(z: np.ndarray) -> np.ndarray:
    """sigma(z) elementwise, in z's dtype, as a new array."""
    with np.errstate(over="ignore"):
        return sigmoid_(np.array(z, dtype=z.dtype, copy=True))


def softmax_(z: np.ndarray) -> np.ndarray:
    """Softmax over each row of z (m, n), in place; returns z.

    Subtracting each row's maximum first (the log-sum-exp trick) keeps exp from
    overflowing and leaves the result unchanged.
    """
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def sigmoid_prime_from_a(a: np.ndarray) -> np.ndarray:
    """sigma'(z) computed from a = sigma(z): sigma'(z) = a (1 - a)."""
    return a * (1 - a)


OUTPUTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"sigmoid": sigmoid_, "softmax": softmax_}


# --- Costs -------------------------------------------------------------------------------
# Each cost is a small object, as in the book's network2.py: ``fn`` (the cost C_x of each
# example) and ``delta`` (BP1, the output error delta^L), plus ``output``, the output
# layer's activation the cost goes with. ``delta`` takes the output activation a^L
# rather than z^L because sigma'(z^L) = a^L (1 - a^L): no need to keep z.
# ``delta_into`` is the same BP1, times a factor k, written into a preallocated buffer
# with as few NumPy calls as possible: the training step's version. k comes as an array
# shaped like a, every entry the factor: with an array operand a NumPy call on a small
# array costs about half what it costs with a scalar, which must be converted each time.


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
    def delta(a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """BP1: delta^L = (a^L - y) * sigma'(z^L), shape (m, n_L)."""
        return (a - y) * sigmoid_prime_from_a(a)

    @staticmethod
    def delta_into(a: np.ndarray, y: np.ndarray, k: np.ndarray, out: np.ndarray, tmp: np.ndarray):
        np.multiply(a, k, out=tmp)
        np.subtract(k, tmp, out=tmp)  # k (1 - a)
        np.multiply(tmp, a, out=tmp)  # k sigma'(z)
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
    def delta(a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """BP1: delta^L = a^L - y."""
        return a - y

    @staticmethod
    def delta_into(a: np.ndarray, y: np.ndarray, k: np.ndarray, out: np.ndarray, tmp: np.ndarray):
        np.subtract(a, y, out=out)
        np.multiply(out, k, out=out)


class LogLikelihoodCost:
    """C_x = -ln a^L_y (chapter 3), with a softmax output layer."""

    name = "log-likelihood"
    output = "softmax"

    @staticmethod
    def fn(a: np.ndarray, y: np.ndarray) -> np.ndarray:
        return -np.log(_clip(np.einsum("ij,ij->i", a, y)))

    @staticmethod
    def delta(a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """BP1 for softmax and log-likelihood: delta^L = a^L - y."""
        return a - y

    delta_into = CrossEntropyCost.delta_into


COSTS: dict[str, type] = {c.name: c for c in (QuadraticCost, CrossEntropyCost, LogLikelihoodCost)}


# --- Initialisation ----------------------------------------------------------------------
# Each initialiser draws (w, b) for one layer from the run's single Generator.

Initialiser = Callable[[np.random.Generator, int, int], tuple[np.ndarray, np.ndarray]]


def init_large(rng: np.random.Generator, n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights and biases N(0, 1), as in the book's chapter 1 (network.py)."""
    w = rng.standard_normal((n_out, n_in))
    b = rng.standard_normal(n_out)
    return w, b


def init_scaled(rng: np.random.Generator, n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights N(0, 1/n_in), biases N(0, 1): chapter 3's default_weight_initializer.

    With n_in inputs the weighted input z then has a standard deviation near 1 instead
    of sqrt(n_in), so hidden neurons do not start saturated.
    """
    w = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
    b = rng.standard_normal(n_out)
    return w, b


INITS: dict[str, Initialiser] = {"large": init_large, "scaled": init_scaled}
DTYPES = {"float32": np.float32, "float64": np.float64}


class Network:
    """A fully-connected network: sigmoid hidden layers, the cost's output layer.

    ``w[l]``: (sizes[l+1], sizes[l]); ``b[l]``: (sizes[l+1],); all of one float dtype.
    """

    def __init__(self, w: list[np.ndarray], b: list[np.ndarray], cost: str = "quadratic"):
        self.params = [
            np.concatenate([wl, np.asarray(bl, dtype=wl.dtype)[:, None]], axis=1)
            for wl, bl in zip(w, b, strict=True)
        ]
        self.cost = cost

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
    def w(self) -> list[np.ndarray]:
        """Weight matrices (views into params): w[l] is (sizes[l+1], sizes[l])."""
        return [p[:, :-1] for p in self.params]

    @property
    def b(self) -> list[np.ndarray]:
        """Bias vectors (views into params): b[l] is (sizes[l+1],)."""
        return [p[:, -1] for p in self.params]

    @property
    def sizes(self) -> list[int]:
        """Layer sizes, input first: [n_in, hidden..., n_classes]."""
        return [self.params[0].shape[1] - 1] + [p.shape[0] for p in self.params]

    @property
    def dtype(self) -> np.dtype:
        return self.params[0].dtype

    @property
    def output(self) -> str:
        """The output layer's activation: ``sigmoid`` or ``softmax`` (set by the cost)."""
        return COSTS[self.cost].output

    def activations(self, x: np.ndarray) -> list[np.ndarray]:
        """[a^1 = x, a^2, ..., a^L], each (m, n_l): every layer's activation, kept for BP2-BP4."""
        acts = [x]
        last = len(self.params) - 1
        with np.errstate(over="ignore"):
            for l, p in enumerate(self.params):
                z = acts[-1] @ p[:, :-1].T
                z += p[:, -1]
                acts.append(OUTPUTS[self.output](z) if l == last else sigmoid_(z))
        return acts

    def feedforward(self, x: np.ndarray) -> np.ndarray:
        """Output activations a^L, shape (m, n_L), for inputs x of shape (m, n_in)."""
        return self.activations(x)[-1]

    def backprop(self, x: np.ndarray, y: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Gradient of the mean cost over the mini-batch (x, y), by BP1-BP4.

        x: (m, n_in) inputs; y: (m, n_L) one-hot targets. Returns (nabla_b, nabla_w)
        shaped like (b, w): nabla_b[l] = (1/m) sum_x delta^l (BP3) and
        nabla_w[l] = (1/m) sum_x delta^l (a^(l-1))^T (BP4), each sum done as one matrix
        product over the whole mini-batch. No regularisation term: the optimiser adds it.
        """
        m = x.shape[0]
        acts = self.activations(x)
        w = self.w
        nabla_b: list[np.ndarray] = [np.empty(0)] * len(w)
        nabla_w: list[np.ndarray] = [np.empty(0)] * len(w)
        delta = COSTS[self.cost].delta(acts[-1], y)  # BP1, (m, n_L)
        for l in range(len(w) - 1, -1, -1):
            if l < len(w) - 1:
                # BP2: delta^l = (w^(l+1))^T delta^(l+1) * sigma'(z^l); with rows as
                # examples the transpose moves to the other side: delta @ w.
                delta = (delta @ w[l + 1]) * sigmoid_prime_from_a(acts[l + 1])
            nabla_b[l] = delta.sum(axis=0) / m  # BP3
            nabla_w[l] = (delta.T @ acts[l]) / m  # BP4
        return nabla_b, nabla_w

    def sgd_step(self, x: np.ndarray, y: np.ndarray, eta: float) -> None:
        """One plain gradient-descent step on the mini-batch: w -= eta nabla_w, b -= eta nabla_b.

        The reference form of the step (allocating, unregularised); training uses
        ``sgd.SGD``, which is tested to take the same step.
        """
        nabla_b, nabla_w = self.backprop(x, y)
        eta = self.dtype.type(eta)  # a numpy scalar keeps float32 arrays float32
        for w, b, nw, nb in zip(self.w, self.b, nabla_w, nabla_b, strict=True):
            w -= eta * nw
            b -= eta * nb

    def copy(self) -> Network:
        """An independent copy (e.g. the best epoch's weights)."""
        return Network(self.w, self.b, self.cost)
