"""The optimiser: one step of mini-batch stochastic gradient descent, made fast.

``SGD.step`` is the matrix-based mini-batch step (BP1-BP4 over the whole mini-batch)
written for speed: every buffer is allocated once, each layer's weights and biases are
one array updated in one call, biases are folded into the matrix products through a
column of ones, and the learning rate is folded into BP1. ``Network.backprop`` is the
plain form it is tested against (tests/test_train.py).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nnbp.network import COSTS, OUTPUTS, Network, sigmoid_


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
        self.eta = eta
        self.n_train = n_train
        self.lmbda = lmbda
        self.regularization = regularization
        self.momentum = momentum
        self.velocity = [np.zeros_like(p) for p in net.params] if momentum else None
        self._cost = COSTS[net.cost]
        self._output = OUTPUTS[net.output]
        self._steps: dict[int, Callable[[np.ndarray, np.ndarray], None]] = {}
        self._decay_tmp = [np.empty_like(p) for p in net.params] if lmbda else None

    def step(self, x: np.ndarray, y: np.ndarray) -> None:
        """One step on the mini-batch x (m, n_in + 1), last column all ones, y (m, n_L) one-hot."""
        run = self._steps.get(len(x))
        if run is None:
            run = self._steps[len(x)] = self._compile(len(x))
        run(x, y)

    def _compile(self, m: int) -> Callable[[np.ndarray, np.ndarray], None]:
        """The step for mini-batches of m rows, with its buffers and views bound once.

        At mini-batch 10 a step is ~23 small NumPy calls, and looking up the buffers,
        views and functions for each would cost about as much again: the closure keeps
        them in local variables. The parameter arrays are updated in place, never
        replaced, so the views taken here stay valid.
        """
        net, buf = self.net, _Buffers(self.net.sizes, m, self.net.dtype)
        params = net.params
        last = len(params) - 1
        params_t = [p.T for p in params]  # z = a @ [w b].T
        weights = [p[:, :-1] for p in params]  # BP2 uses w alone
        # where h[l] goes: a[l] minus its ones column (a[0] is the mini-batch itself)
        into = [None] + [a[:, :-1] for a in buf.a[1:]]
        acts, h, out, deltas, tmps, grads = buf.a, buf.h, buf.out, buf.delta, buf.tmp, buf.grad
        matmul, subtract, copyto, sigmoid = np.matmul, np.subtract, np.copyto, sigmoid_
        delta_into, output, scalar = self._cost.delta_into, self._output, net.dtype.type
        update = self._update
        plain = not self.lmbda and self.velocity is None

        def run(x: np.ndarray, y: np.ndarray) -> None:
            # Forward: z = a @ [w b].T, sigma(z) in place, then into the next layer's input.
            a = x
            for l in range(1, last + 1):
                matmul(a, params_t[l - 1], out=h[l])
                sigmoid(h[l])
                copyto(into[l], h[l])
                a = acts[l]
            matmul(a, params_t[last], out=out)
            output(out)
            # BP1, times eta/m: every later delta and gradient then carries that factor,
            # so the update is a plain subtraction.
            delta_into(out, y, scalar(self.eta / m), deltas[last], tmps[last])
            for l in range(last, -1, -1):
                d = deltas[l]
                # BP3 and BP4 in one product: the ones column of the input gives dC/db.
                matmul(d.T, x if l == 0 else acts[l], out=grads[l])
                if l:
                    # BP2, with w^(l+1) as it was before this step.
                    a_l, d_prev, t = h[l], deltas[l - 1], tmps[l - 1]
                    matmul(d, weights[l], out=d_prev)
                    subtract(1, a_l, out=t)
                    t *= a_l  # sigma'(z) = a (1 - a)
                    d_prev *= t
                if plain:
                    params[l] -= grads[l]
                else:
                    update(l, grads[l])

        return run

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
