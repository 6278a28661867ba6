"""The optimiser: one step of mini-batch stochastic gradient descent, made fast.

``SGD.step`` is the matrix-based mini-batch step (BP1-BP4 over the whole mini-batch)
written for speed: every buffer is allocated once, each layer's weights and biases are
one array updated in one call, biases are folded into the matrix products through a
column of ones, the learning rate is folded into BP1, and the step itself is generated
as straight-line code for the network's depth (``_step_source``). ``Network.backprop``
is the plain form it is tested against (tests/test_train.py).
"""

from __future__ import annotations

import linecache
from collections.abc import Callable

import numpy as np

from nnbp.network import COSTS, OUTPUTS, Network

# A compiled step: (x (m, n_in + 1) with its ones column, y (m, n_L) one-hot) -> None.
Step = Callable[[np.ndarray, np.ndarray], None]


class _Buffers:
    """Every array one step on a mini-batch of m rows needs, allocated once.

    ``a[l]`` (l >= 1) is the activation entering layer l, (m, n_l + 1), its last column
    held at 1 so that ``a[l] @ params[l].T`` adds the bias; ``h[l]`` (l >= 1) is the same
    activation without that column, contiguous, where the elementwise work happens (the
    same NumPy call on a strided view costs 2-3 times as much at these sizes); ``out``
    is a^L (m, n_L); ``delta[l]`` and ``tmp[l]`` are (m, n_(l+1)); ``grad[l]`` is shaped
    like params[l].
    """

    def __init__(self, sizes: list[int], m: int, dtype: np.dtype) -> None:
        self.a = [np.empty(0, dtype)] + [np.ones((m, n + 1), dtype) for n in sizes[1:-1]]
        self.h = [np.empty(0, dtype)] + [np.empty((m, n), dtype) for n in sizes[1:-1]]
        self.out = np.empty((m, sizes[-1]), dtype)
        self.delta = [np.empty((m, n), dtype) for n in sizes[1:]]
        self.tmp = [np.empty((m, n), dtype) for n in sizes[1:]]
        pairs = zip(sizes[:-1], sizes[1:], strict=True)
        self.grad = [np.empty((n_out, n_in + 1), dtype) for n_in, n_out in pairs]


class SGD:
    """Mini-batch gradient descent on a Network, with optional momentum and L2/L1 decay.

    Per step, with g the mean gradient of the cost over the mini-batch and n the size
    of the training set (the book's chapter 3):
    - plain: w -> w - eta g;
    - L2 (``lmbda`` > 0): the gradient gains (lmbda / n) w, i.e. w -> (1 - eta lmbda/n) w - eta g;
    - L1: the gradient gains (lmbda / n) sgn(w);
    - momentum mu: v -> mu v - eta (g + decay term), w -> w + v (biases too).
    Biases are never regularised.
    """

    def __init__(
        self,
        net: Network,
        *,
        eta: float,
        n_train: int,
        lmbda: float = 0.0,
        regularization: str = "l2",
        momentum: float = 0.0,
    ) -> None:
        self.net = net
        self._k: dict[int, np.ndarray] = {}
        self.eta = eta
        self.n_train = n_train
        self.lmbda = lmbda
        self.regularization = regularization
        self.momentum = momentum
        self.velocity = [np.zeros_like(p) for p in net.params] if momentum else None
        self._cost = COSTS[net.cost]
        self._output = OUTPUTS[net.output]
        self._steps: dict[int, Step] = {}
        self._decay_tmp = [np.empty_like(p) for p in net.params] if lmbda else None

    @property
    def eta(self) -> float:
        return self._eta

    @eta.setter
    def eta(self, eta: float) -> None:
        # The compiled step for m rows reads eta/m from an array of its own (see _compile).
        self._eta = eta
        for m, k in self._k.items():
            k.fill(self._eta_over(m))

    def _eta_over(self, m: int) -> np.generic:
        # A huge eta (a run meant to diverge) overflows float32 to inf, as it should.
        with np.errstate(over="ignore"):
            return self.net.dtype.type(self._eta / m)

    def step(self, x: np.ndarray, y: np.ndarray) -> None:
        """One step on the mini-batch x (m, n_in + 1), last column all ones, y (m, n_L) one-hot."""
        self.compiled(len(x))(x, y)

    def compiled(self, m: int) -> Step:
        """The step function for mini-batches of exactly m rows (made on first use)."""
        run = self._steps.get(m)
        if run is None:
            run = self._steps[m] = self._compile(m)
        return run

    def _compile(self, m: int) -> Step:
        """The step for mini-batches of m rows: straight-line code over buffers bound once.

        At mini-batch 10 a step is ~24 small NumPy calls of well under a microsecond each,
        so the Python around them matters as much as the calls: loops over layers, list
        indexing and attribute lookups measured ~10% of a [784, 30, 10] step. The step is
        therefore generated as source for this network's depth (``_step_source``), every
        buffer, view and function a local name of its namespace, and compiled once. The
        parameter arrays are updated in place, never replaced, so the views stay valid.
        """
        net, buf = self.net, _Buffers(self.net.sizes, m, self.net.dtype)
        params = net.params
        # Constants as arrays of the operands' shape, not scalars: a NumPy call on a small
        # array with a scalar operand costs about twice one with an array (0.7 vs 0.34 us
        # for (10, 30) float32), the scalar being converted on every call.
        k = self._k[m] = np.full(buf.out.shape, self._eta_over(m), net.dtype)
        names: dict[str, object] = {
            "matmul": np.matmul,
            "negative": np.negative,
            "exp": np.exp,
            "add": np.add,
            "reciprocal": np.reciprocal,
            "subtract": np.subtract,
            "multiply": np.multiply,
            "copyto": np.copyto,
            "output": self._output,
            "delta_into": self._cost.delta_into,
            "update": self._update,
            "eta_m": k,
            "one_out": np.ones_like(buf.out),
        }
        for l, p in enumerate(params):
            names[f"p{l}"] = p
            names[f"pt{l}"] = p.T  # z = a @ [w b].T
            names[f"w{l}"] = p[:, :-1]  # BP2 uses w alone
            names[f"d{l}"], names[f"dt{l}"] = buf.delta[l], buf.delta[l].T
            names[f"t{l}"], names[f"g{l}"] = buf.tmp[l], buf.grad[l]
        for l in range(1, len(params)):
            # h[l] is where the elementwise work happens; it is then copied into a[l],
            # whose last column holds the ones (a[0] is the mini-batch itself).
            names[f"h{l}"], names[f"a{l}"], names[f"v{l}"] = buf.h[l], buf.a[l], buf.a[l][:, :-1]
            names[f"one{l}"] = np.ones_like(buf.h[l])
        names["out"] = buf.out
        plain = not self.lmbda and self.velocity is None
        source = _step_source(len(params), net.output == "sigmoid", plain)
        filename = f"<nnbp.sgd step for {net.sizes}, m={m}>"
        # Registered so that a traceback through the step shows its lines.
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), names)  # noqa: S102 - our own generated code
        return names["step"]  # type: ignore[return-value]

    def _update(self, l: int, grad: np.ndarray) -> None:
        p = self.net.params[l]
        if self.lmbda:
            # The decay term eta (lmbda/n) w, or eta (lmbda/n) sgn(w), on weights only.
            t = self._decay_tmp[l]
            c = self.net.dtype.type(self.eta * self.lmbda / self.n_train)
            if self.regularization == "l2":
                np.multiply(p, c, out=t)
            else:
                np.sign(p, out=t)
                t *= c
            t[:, -1] = 0
            grad += t
        if self.velocity is None:
            p -= grad
        else:
            v = self.velocity[l]
            v *= self.net.dtype.type(self.momentum)
            v -= grad
            p += v

    def regularization_cost(self) -> float:
        """The regularisation part of the cost: (lmbda/2n) sum w^2 (L2), (lmbda/n) sum |w| (L1)."""
        if not self.lmbda:
            return 0.0
        w = self.net.w
        if self.regularization == "l2":
            total = sum(float(np.square(wl, dtype=np.float64).sum()) for wl in w)
            return self.lmbda / (2 * self.n_train) * total
        total = sum(float(np.abs(wl).sum(dtype=np.float64)) for wl in w)
        return self.lmbda / self.n_train * total


def _sigmoid_lines(z: str, one: str) -> list[str]:
    # sigma(z) = 1 / (1 + exp(-z)) in place, the four calls of network.sigmoid_.
    return [
        f"negative({z}, out={z})",
        f"exp({z}, out={z})",
        f"add({z}, {one}, out={z})",
        f"reciprocal({z}, out={z})",
    ]


def _step_source(n_layers: int, sigmoid_output: bool, plain: bool) -> str:
    """Python source of ``step(x, y)`` for a network of n_layers weight layers.

    Names (bound by ``SGD._compile``): p{l} the parameters [w b] of layer l, pt{l} their
    transpose, w{l} the weights alone; h{l} the hidden activation (m, n) and a{l} the same
    with its ones column, v{l} a view of a{l} without it; out the output activation;
    d{l}, dt{l} (its transpose), t{l} and g{l} the delta, scratch and gradient of layer l;
    one{l} and one_out arrays of ones shaped like h{l} and out; eta_m an array like out
    filled with eta / m. For [784, 30, 10] with the quadratic cost and plain SGD it reads:

        def step(x, y):
            matmul(x, pt0, out=h1)
            negative(h1, out=h1)
            ... (sigma in place, then into a1)
            matmul(a1, pt1, out=out)
            ... (sigma)
            delta_into(out, y, eta_m, d1, t1)
            matmul(dt1, a1, out=g1)
            matmul(d1, w1, out=d0)
            subtract(one1, h1, out=t0)
            multiply(t0, h1, out=t0)
            multiply(d0, t0, out=d0)
            subtract(p1, g1, out=p1)
            matmul(dt0, x, out=g0)
            subtract(p0, g0, out=p0)
    """
    last = n_layers - 1
    lines = ["def step(x, y):", "# Forward: z = a @ [w b].T, sigma(z) in place, then into a."]
    a = "x"
    for l in range(1, n_layers):
        lines += [
            f"matmul({a}, pt{l - 1}, out=h{l})",
            *_sigmoid_lines(f"h{l}", f"one{l}"),
            f"copyto(v{l}, h{l})",
        ]
        a = f"a{l}"
    lines.append(f"matmul({a}, pt{last}, out=out)")
    lines += _sigmoid_lines("out", "one_out") if sigmoid_output else ["output(out)"]
    lines += [
        "# BP1, times eta/m: every later delta and gradient then carries that factor,",
        "# so the update is a plain subtraction.",
        f"delta_into(out, y, eta_m, d{last}, t{last})",
    ]
    for l in range(last, -1, -1):
        a = f"a{l}" if l else "x"
        lines += [
            "# BP3 and BP4 in one product: the ones column of the input gives dC/db.",
            f"matmul(dt{l}, {a}, out=g{l})",
        ]
        if l:
            lines += [
                f"# BP2, with w{l} as it was before this step; sigma'(z) = a (1 - a).",
                f"matmul(d{l}, w{l}, out=d{l - 1})",
                f"subtract(one{l}, h{l}, out=t{l - 1})",
                f"multiply(t{l - 1}, h{l}, out=t{l - 1})",
                f"multiply(d{l - 1}, t{l - 1}, out=d{l - 1})",
            ]
        lines.append(f"subtract(p{l}, g{l}, out=p{l})" if plain else f"update({l}, g{l})")
    return "\n    ".join(lines) + "\n"
