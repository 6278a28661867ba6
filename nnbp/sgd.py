"""Stochastic gradient descent: the update rule (chapter 1, with chapter 3's weight decay
and momentum).

The gradient comes from ``network.backprop``, called with a workspace allocated once per
mini-batch size and the factor eta/m folded into BP1. Without weight decay the update is
folded into BP4 as well: each layer's product delta^T a is subtracted from the weights (or
added into the velocity) by the GEMM that makes it (nnbp/blas.py); otherwise nabla is
written out and the update is a few passes over all the parameters at once.
``SGD.epoch`` (the loop is in epoch.py) is the engine's entry point: ``fit`` (fit.py)
calls it once per epoch, and ``make bench`` times it.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnbp.blas import Gemm
from nnbp.epoch import Augment, Epoch, StopFlag
from nnbp.network import BP4, Network, Workspace, backprop, layered


@dataclass(frozen=True)
class Regularization:
    """The weight-decay part of the cost (chapter 3) and its gradient; biases are exempt.

    L2: C_reg = (lmbda / 2n) sum w^2, gradient (lmbda / n) w; L1: C_reg = (lmbda / n)
    sum |w|, gradient (lmbda / n) sgn(w); n is the size of the training set.
    """

    lmbda: float = 0.0
    kind: str = "l2"
    n: int = 1

    def cost(self, w: list[np.ndarray]) -> float:
        """C_reg for the weight matrices ``w``, summed in float64."""
        if not self.lmbda:
            return 0.0
        if self.kind == "l2":
            total = sum(float(np.square(wl, dtype=np.float64).sum()) for wl in w)
            return self.lmbda / (2 * self.n) * total
        total = sum(float(np.abs(wl).sum(dtype=np.float64)) for wl in w)
        return self.lmbda / self.n * total

    def gradient(self, params: np.ndarray, out: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """scale * dC_reg / d[w b] of one layer's ``params`` into ``out``; returns out."""
        c = params.dtype.type(scale * self.lmbda / self.n)
        if self.kind == "l2":
            np.multiply(params, c, out=out)
        else:
            np.sign(params, out=out)
            out *= c
        out[:, -1] = 0  # the bias column
        return out


class SGD:
    """Mini-batch gradient descent on a Network, with optional momentum and L2/L1 decay.

    Per step, with g the mean gradient of the cost over the mini-batch (the book's
    chapter 3): plain w -> w - eta g; with regularisation g gains the term of
    ``Regularization.gradient``; with momentum mu: v -> mu v - eta g, w -> w + v (biases
    too). With dropout p, g is the gradient of the network thinned afresh for each step:
    every hidden neuron left out with probability p (chapter 3), the others' activations
    scaled by 1/(1 - p) so that the whole network needs no rescaling afterwards.
    ``fold_update=False`` writes nabla out and applies it after backprop, as nnbp does
    anyway with weight decay; the results are the same (see ``_folded``).
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
        dropout: float = 0.0,
        fold_update: bool = True,
    ) -> None:
        self.net = net
        self.dropout = dropout
        # Dropout's masks come from a PCG64 generator derived from the run's one Generator
        # at the start of each epoch (``epoch``), so they do not depend on its other users.
        self.dropout_rng: np.random.Generator | None = None
        # Per mini-batch size: the masks, and the 64-bit draws that fill them.
        self._keep: dict[int, tuple[list[np.ndarray], int]] = {}
        # A neuron is dropped when 16 random bits fall below this: p to within 1/65,536;
        # a kept one's activation is scaled by 1/(1 - p) of that p.
        self._drop_below = min(round(dropout * 65536), 65535)
        self._kept_scale = net.dtype.type(65536 / (65536 - self._drop_below))
        self.regularization = Regularization(lmbda, regularization, n_train)
        self.momentum = momentum
        self.velocity: list[np.ndarray] | None = None
        if momentum:  # v per layer, views into one array like the parameters
            self._velocity_flat, self.velocity = layered(net.sizes, net.dtype)
            self._velocity_flat.fill(0)
        self._decay = [np.empty_like(p) for p in net.params] if lmbda else None
        # Per mini-batch size m: the workspace, eta/m as an array shaped like a^L, and BP4
        # with the update folded in (None where it is not).
        self._buffers: dict[int, tuple[Workspace, np.ndarray, BP4 | None]] = {}
        self.fold_update = fold_update  # False: nabla is written out, then applied
        self.eta = eta

    @property
    def eta(self) -> float:
        return self._eta

    @eta.setter
    def eta(self, eta: float) -> None:
        self._eta = eta
        for m, (_, eta_over_m, _) in self._buffers.items():
            eta_over_m.fill(self._eta_over(m))

    def _eta_over(self, m: int) -> np.generic:
        # A huge eta (a run meant to diverge) overflows float32 to inf, as it should.
        with np.errstate(over="ignore"):
            return self.net.dtype.type(self._eta / m)

    def step(self, x_ones: np.ndarray, y: np.ndarray) -> None:
        """One step on the mini-batch x_ones (m, n_in + 1), last column ones, y (m, n_L) one-hot."""
        m = len(x_ones)
        buffers = self._buffers.get(m)
        if buffers is None:
            ws = self.net.workspace(m)
            eta_over_m = np.full(ws.a[-1].shape, self._eta_over(m))
            buffers = self._buffers[m] = (ws, eta_over_m, self._folded(ws))
        ws, eta_over_m, bp4 = buffers
        keep = self._draw_keep(m) if self.dropout else None
        # The gradient is eta times the mean: eta/m is folded into BP1.
        backprop(self.net, ws, x_ones, y, eta_over_m, keep, bp4)
        if bp4 is not None:  # BP4 has updated w (plain) or v (momentum)
            if self.velocity is not None:
                np.add(self.net.flat, self._velocity_flat, out=self.net.flat)  # w += v
        elif self._decay is None and self.velocity is None:
            np.subtract(self.net.flat, ws.nabla_flat, out=self.net.flat)  # w -= eta nabla_w ...
        else:
            self._update(ws)

    @property
    def folds_update(self) -> bool:
        """Whether the steps fold the update into BP4 (``_folded``) on this NumPy."""
        return self.fold_update and self._decay is None and Gemm.find(self.net.dtype) is not None

    def _folded(self, ws: Workspace) -> BP4 | None:
        """BP4 with the update in the product: w -= delta^T a_in, or v = mu v - delta^T a_in
        (then w += v), each one GEMM into the weights or the velocity instead of a product
        into nabla and a pass over the weights (nnbp/blas.py). None with weight decay, or
        where NumPy's BLAS cannot be called so."""
        gemm = Gemm.find(self.net.dtype) if self.folds_update else None
        if gemm is None:
            return None
        into = self.velocity or self.net.params
        beta = self.momentum or 1.0
        # The layers' arguments, once: the arrays never move. The first layer's input is
        # the mini-batch itself, whose pointer is new at every step.
        first = np.ones((len(ws.a[0]), self.net.params[0].shape[1]), self.net.dtype)
        args = [
            gemm.args(delta_T, a_in, out, -1.0, beta)
            for delta_T, a_in, out in zip(ws.delta_T, [first] + ws.a_in[1:], into, strict=True)
        ]
        call, head, tail = gemm.call, args[0][: Gemm.B_AT], args[0][Gemm.B_AT + 1 :]
        # A ctypes view of the mini-batch is a quicker way to its pointer than .ctypes.data
        # (but needs a writable array).
        at, char = ctypes.byref, ctypes.c_char.from_buffer

        def bp4(l: int, delta_T: np.ndarray, a_in: np.ndarray) -> None:
            if l:
                call(*args[l])
            elif a_in.strides == first.strides and a_in.flags.writeable:
                call(*head, at(char(a_in)), *tail)
            else:  # a mini-batch laid out otherwise
                gemm(delta_T, np.ascontiguousarray(a_in), into[0], -1.0, beta)

        return bp4

    def _draw_keep(self, m: int) -> list[np.ndarray]:
        """Fresh dropout masks for a mini-batch of m: per hidden layer (m, n), each entry
        0 (dropped) with probability p, else 1/(1 - p) (kept), p as ``_drop_below`` /
        65,536, so that every activation keeps its expected value."""
        if self.dropout_rng is None:
            raise RuntimeError("SGD.step with dropout needs dropout_rng (SGD.epoch sets it)")
        made = self._keep.get(m)
        if made is None:
            masks = [np.empty((m, n), self.net.dtype) for n in self.net.sizes[1:-1]]
            made = self._keep[m] = (masks, -(-sum(keep.size for keep in masks) // 4))
        masks, draws = made
        # 16 random bits per entry, four from each 64-bit PCG64 draw: a quarter of the
        # generator's work of one random float per entry, the bulk of dropout's cost.
        bits = self.dropout_rng.bit_generator.random_raw(draws).view(np.uint16)
        start = 0
        for keep in masks:  # 1 where kept, then scaled: in place
            layer_bits = bits[start : start + keep.size].reshape(keep.shape)
            np.greater_equal(layer_bits, self._drop_below, out=keep)
            keep *= self._kept_scale
            start += keep.size
        return masks

    def _update(self, ws: Workspace) -> None:
        """The update with weight decay and/or momentum (every layer at once where possible)."""
        if self._decay is not None:
            for p, g, t in zip(self.net.params, ws.nabla, self._decay, strict=True):
                g += self.regularization.gradient(p, t, scale=self._eta)
        if self.velocity is None:
            self.net.flat -= ws.nabla_flat
        else:
            v = self._velocity_flat
            v *= self.net.dtype.type(self.momentum)
            v -= ws.nabla_flat
            self.net.flat += v

    def regularization_cost(self) -> float:
        """The regularisation part of the cost at the current weights."""
        return self.regularization.cost(self.net.w)

    def epoch(
        self,
        x_ones: np.ndarray,
        y: np.ndarray,
        mini_batch_size: int,
        rng: np.random.Generator,
        *,
        on_batches: Callable[[int, int], None] | None = None,
        augment: Augment | None = None,
        stop: StopFlag | None = None,
        background: bool = False,
        between: Callable[[], bool] | None = None,
    ) -> bool:
        """One epoch: shuffle the rows of x_ones with ``rng``, then one step per mini-batch.

        x_ones: (n, n_in + 1) training inputs with their ones column; y: (n, n_L) one-hot.
        The shuffled rows are gathered CHUNK_ROWS at a time (a multiple of m, so the
        mini-batches are consecutive slices of one permutation), augmented if asked, and
        each mini-batch goes whole to ``step``: the only Python loop is over mini-batches.
        The last mini-batch is smaller when m does not divide n. ``on_batches(done,
        total)`` is called about a hundred times, and ``stop`` looked at as often, as is
        ``between()``, whose true return also ends the epoch; returns False when the epoch
        ended early. With ``background`` (and
        ``augment``) each chunk is augmented on a worker thread while the previous one
        trains; the results are the same.
        """
        return Epoch(self, x_ones, y, mini_batch_size, augment, background).run(
            rng, on_batches, stop, between
        )
