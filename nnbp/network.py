"""Fully-connected sigmoid networks: feedforward and backpropagation (Nielsen, ch. 2-3).

Orientation: examples are the *rows* of a matrix, as in scikit-learn, so a mini-batch of
m examples is ``x`` with shape (m, n_in) and the activations of a layer with n neurons
are (m, n). The weights keep the book's orientation: ``w[l]`` has shape (n_out, n_in),
one row per neuron of the layer it feeds, so the book's ``z = w a + b`` for one column
vector becomes ``z = a @ w.T + b`` for a stack of rows.

Indexing departs from the book: the book numbers layers from 1 (the input) and its first
weight matrix is w^2; here ``w[0]`` and ``b[0]`` feed the first hidden layer, ``w[-1]``
and ``b[-1]`` the output layer L, and ``delta[l]`` is the error of the layer ``w[l]``
feeds.

Biases ride along with the weights: each layer's ``[w b]`` is one array ``params[l]`` of
shape (n_out, n_in + 1), ``w[l]`` and ``b[l]`` being views into it, and every activation
that enters a layer carries a last column of ones. Then ``a @ [w b].T`` is ``a @ w.T + b``
and ``delta.T @ a`` is ``[nabla_w nabla_b]``: BP3 and BP4 in one matrix product, and the
optimiser updates weights and biases in one call.

``backprop`` below is the only feedforward and the only backward pass in nnbp: training,
``Network.backprop``, the gradient check and ``nnbp inspect`` all call it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nnbp.activations import OUTPUTS, sigmoid_, sigmoid_prime_
from nnbp.costs import COSTS

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
# Network.feedforward's rows per pass: big enough for fast matrix products, small enough
# that a (batch, 784) float32 block and its activations stay around 30-60 MB.
FEEDFORWARD_BATCH = 10_000
DTYPES = {"float32": np.float32, "float64": np.float64}


# --- Backpropagation ---------------------------------------------------------------------

# What backprop does with layer l's BP3-BP4 product delta^T a_in: (l, delta_T, a_in).
BP4 = Callable[[int, np.ndarray, np.ndarray], None]


class Workspace:
    """The arrays backprop writes for a mini-batch of m examples, allocated once.

    Indexed like the weights: layer l computes ``a[l]`` = sigma(w[l] a + b[l]) from its
    input ``a_in[l]``. ``a[l]``: (m, n_out) activation, contiguous, where the elementwise
    work happens (faster than on a strided view); ``a_in[l]``: (m, n_in + 1) the input with
    its column of ones (``a_in[0]`` is the mini-batch itself; ``a_in[l + 1]`` holds a copy of
    ``a[l]``, written through the view ``a_in_body[l + 1]``); ``delta[l]``, ``tmp[l]``,
    ``one[l]``: (m, n_out), error, scratch and ones; ``nabla[l]``: [nabla_w nabla_b] of
    layer l, (n_out, n_in + 1), with the views ``nabla_w[l]`` and ``nabla_b[l]``, all in
    the one array ``nabla_flat``.
    """

    def __init__(self, sizes: Sequence[int], m: int, dtype: Any, *, backward: bool = True):
        self.a = [np.empty((m, n), dtype) for n in sizes[1:]]
        self.a_in = [np.empty(0, dtype)] + [np.ones((m, n + 1), dtype) for n in sizes[1:-1]]
        self.a_in_body = [self.a_in[0]] + [a_in[:, :-1] for a_in in self.a_in[1:]]
        if not backward:  # feedforward alone, on large batches: a plain 1 is as fast
            self.one = [1] * (len(sizes) - 1)
            return
        self.one = [np.ones((m, n), dtype) for n in sizes[1:]]
        self.delta = [np.empty((m, n), dtype) for n in sizes[1:]]
        self.delta_T = [d.T for d in self.delta]
        self.tmp = [np.empty((m, n), dtype) for n in sizes[1:]]
        self.nabla_flat, self.nabla = layered(sizes, dtype)
        self.nabla_w = [g[:, :-1] for g in self.nabla]
        self.nabla_b = [g[:, -1] for g in self.nabla]


def feedforward(
    net: Network, ws: Workspace, x: np.ndarray, keep: list[np.ndarray] | None = None
) -> np.ndarray:
    """Every layer's activation for the examples x into ws; returns a^L (m, n_L).

    x: (m, n_in + 1), one example per row, each with a trailing 1 (the bias input). z is
    computed where a goes and turned into a in place: backprop needs only a, since
    sigma'(z) = a (1 - a). With dropout, ``keep[l]`` (m, n) for each hidden layer holds 0
    for a dropped neuron and 1/(1 - p) for a kept one; the next layer then sees a * keep,
    while ``ws.a[l]`` keeps a itself for sigma'.
    """
    a, a_in, one, wb_T = ws.a, ws.a_in, ws.one, net.params_T
    a_in[0] = x
    L = len(wb_T) - 1  # the output layer
    for l in range(L):
        z = np.dot(a_in[l], wb_T[l], out=a[l])  # z = w a + b (the ones column adds b)
        sigmoid_(z, one[l])  # a = sigma(z), in z's place
        # The next layer's input, beside its ones column (with dropout, a * keep).
        if keep is None:
            np.copyto(ws.a_in_body[l + 1], z)
        else:
            np.multiply(z, keep[l], out=ws.a_in_body[l + 1])
    z = np.dot(a_in[L], wb_T[L], out=a[L])
    return net.output_fn(z, one[L])  # the cost's output activation


def backprop(
    net: Network, ws: Workspace, x: np.ndarray, y: np.ndarray, k: np.ndarray,
    keep: list[np.ndarray] | None = None, bp4: BP4 | None = None,
) -> None:  # fmt: skip
    """BP1-BP4 over a whole mini-batch: k times the gradient of the cost, into ``ws.nabla``.

    x: (m, n_in + 1) the examples as rows, each with a trailing 1; y: (m, n_L) one-hot
    targets; k: (m, n_L), every entry the factor (1/m: the gradient of the mean cost).
    Afterwards ``ws.delta[l]`` holds k dC_x/dz of each example and ``ws.nabla_w[l]``,
    ``ws.nabla_b[l]`` their sums over the mini-batch. No regularisation term here.
    ``keep``: dropout's masks (see ``feedforward``): the gradient of the thinned network.
    ``bp4(l, delta_T, a_in)``, when given, takes each layer's BP3-BP4 product instead of
    ``ws.nabla[l]``: SGD folds its update into that product (sgd.py). It is called once
    BP2 no longer needs the layer's weights, so it may change them.
    """
    a, a_in, delta, tmp, one, w = ws.a, ws.a_in, ws.delta, ws.tmp, ws.one, net.w
    if bp4 is None:

        def bp4(l: int, delta_T: np.ndarray, a_in: np.ndarray) -> None:
            np.dot(delta_T, a_in, out=ws.nabla[l])

    feedforward(net, ws, x, keep)
    L = len(w) - 1  # the output layer
    # BP1: the output error delta^L = dC/da^L * sigma'(z^L), times k.
    net.cost_fn.delta(a[L], y, k, delta[L], tmp[L])
    for l in range(L, 0, -1):
        # BP2: delta^(l-1) = (w^T delta^l) * sigma'(z^(l-1)); examples as rows: delta @ w.
        np.dot(delta[l], w[l], out=delta[l - 1])
        delta[l - 1] *= sigmoid_prime_(a[l - 1], tmp[l - 1], one[l - 1])
        if keep is not None:  # a dropped neuron passed nothing on: its error is 0
            delta[l - 1] *= keep[l - 1]
        # BP3 and BP4 in one product: nabla_w = delta a^T summed over the examples and,
        # through the ones column of the input, nabla_b = the sum of delta.
        bp4(l, ws.delta_T[l], a_in[l])
    bp4(0, ws.delta_T[0], x)  # BP3 and BP4 for the first layer


# --- The network -------------------------------------------------------------------------


class Network:
    """A fully-connected network: sigmoid hidden layers, the cost's output layer.

    ``w[l]``: (sizes[l+1], sizes[l]); ``b[l]``: (sizes[l+1],); all of one float dtype,
    views into ``params[l]`` = [w b], itself a view into ``flat``, every parameter in one
    array (so that an update is one NumPy call). The parameters are only ever changed in
    place, so the views stay valid.
    """

    def __init__(self, w: list[np.ndarray], b: list[np.ndarray], cost: str = "quadratic"):
        sizes = [w[0].shape[1]] + [wl.shape[0] for wl in w]
        self.flat, self.params = layered(sizes, w[0].dtype)
        for p, wl, bl in zip(self.params, w, b, strict=True):
            p[:, :-1], p[:, -1] = wl, bl
        self.w = [p[:, :-1] for p in self.params]
        self.b = [p[:, -1] for p in self.params]
        self.params_T = [p.T for p in self.params]
        self.cost = cost
        self.cost_fn = COSTS[cost]
        self.output_fn = OUTPUTS[self.cost_fn.output]

    @classmethod
    def create(
        cls,
        sizes: Sequence[int],
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
        return [self.params[0].shape[1] - 1] + [p.shape[0] for p in self.params]

    @property
    def dtype(self) -> np.dtype:
        return self.params[0].dtype

    @property
    def output(self) -> str:
        """The output layer's activation: ``sigmoid`` or ``softmax`` (set by the cost)."""
        return self.cost_fn.output

    def workspace(self, m: int) -> Workspace:
        """Fresh buffers for backprop on mini-batches of m examples."""
        return Workspace(self.sizes, m, self.dtype)

    def feedforward(self, x: np.ndarray, batch: int = FEEDFORWARD_BATCH) -> np.ndarray:
        """Output activations a^L, (n, n_L), for the rows of x, ``batch`` rows at a time.

        x is (n, n_in), or (n, n_in + 1) with the column of ones already in place.
        """
        out = np.empty((len(x), self.sizes[-1]), self.dtype)
        with np.errstate(over="ignore"):
            for start in range(0, len(x), batch):
                rows = x[start : start + batch]
                if rows.shape[1] == self.sizes[0]:
                    rows = with_ones(rows, self.dtype)
                ws = Workspace(self.sizes, len(rows), self.dtype, backward=False)
                out[start : start + batch] = feedforward(self, ws, rows)
        return out

    def backprop(self, x: np.ndarray, y: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(nabla_b, nabla_w): the gradient of the mean cost over the mini-batch (x, y).

        x: (m, n_in) inputs; y: (m, n_L) one-hot targets; the result is shaped like (b, w).
        """
        ws = self.trace(x, y, 1 / len(x))
        return ws.nabla_b, ws.nabla_w

    def trace(self, x: np.ndarray, y: np.ndarray, k: float = 1.0) -> Workspace:
        """Backprop on (x, y) in fresh buffers, every intermediate kept: the workspace.

        With the default k = 1 its ``delta[l]`` are each example's dC_x/dz^l and its
        ``nabla_w``, ``nabla_b`` the gradients summed over the examples.
        """
        m = len(x)
        ws = self.workspace(m)
        factor = np.full((m, self.sizes[-1]), k, self.dtype)
        with np.errstate(over="ignore"):
            backprop(self, ws, with_ones(x, self.dtype), y.astype(self.dtype), factor)
        return ws

    def copy(self) -> Network:
        """An independent copy of the network."""
        return Network(self.w, self.b, self.cost)


def layered(sizes: Sequence[int], dtype: Any) -> tuple[np.ndarray, list[np.ndarray]]:
    """One flat array of zeros and its views [w b] per layer, (sizes[l+1], sizes[l] + 1).

    Each layer starts on a 64-byte boundary (the matrix kernels' cache-line alignment);
    the few padding entries between layers stay zero.
    """
    shapes = [(n_out, n_in + 1) for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)]
    per_line = max(1, 64 // np.dtype(dtype).itemsize)
    starts, total = [], 0
    for rows, cols in shapes:
        starts.append(total)
        total += -(-rows * cols // per_line) * per_line
    flat = np.zeros(total + per_line, dtype)
    shift = (-flat.ctypes.data % 64) // flat.itemsize  # the first line boundary in flat
    flat = flat[shift : shift + total]
    return flat, [
        flat[i : i + rows * cols].reshape(rows, cols)
        for i, (rows, cols) in zip(starts, shapes, strict=True)
    ]


def with_ones(x: np.ndarray, dtype: Any = None) -> np.ndarray:
    """x (m, n) -> (m, n + 1): the same rows with a last column of ones (the bias input)."""
    out = np.ones((len(x), x.shape[1] + 1), dtype=dtype or x.dtype)
    out[:, :-1] = x
    return out
