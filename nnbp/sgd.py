"""Stochastic gradient descent: the update rule (chapter 1, with chapter 3's weight decay
and momentum) and one epoch of mini-batches.

The gradient comes from ``network.backprop``, called with a workspace allocated once per
mini-batch size and the factor eta/m folded into BP1, so the plain update is a single
subtraction for all the parameters at once. ``SGD.epoch`` is the engine's entry point:
``fit`` (fit.py) calls it once per epoch, and ``make bench`` times it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from nnbp.network import Network, Workspace, backprop, layered

# Rows gathered (and augmented) at a time in an epoch: large enough that the per-call
# overhead vanishes, small enough (1024 x 785 float32 = 3 MB) that the steps then read
# their mini-batches from cache.
CHUNK_ROWS = 1024

# A mini-batch step whose largest matrix product has fewer multiply-adds than this runs
# on one BLAS thread: below it a second thread gains little and, when anything else runs
# on the machine, can cost far more (docs/BENCHMARKS.md has the measurements).
PARALLEL_MIN_MACS = 2_000_000
# Augmented chunks are made on a second thread while the steps run only when the steps
# use one BLAS thread (a core is free) and their largest product has at least this many
# multiply-adds: shorter steps do not leave the GIL to the worker long enough.
BACKGROUND_MIN_MACS = 500_000

Augment = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def step_macs(sizes: Sequence[int], mini_batch_size: int) -> int:
    """Multiply-adds of a step's largest matrix product."""
    return mini_batch_size * max(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


def blas_threads(sizes: Sequence[int], mini_batch_size: int, configured: int = 0) -> int | None:
    """BLAS threads for the SGD steps: ``configured`` when set, else 1 for small products,
    else None (the library's default, all cores)."""
    if configured:
        return configured
    return 1 if step_macs(sizes, mini_batch_size) < PARALLEL_MIN_MACS else None


def background_augmentation(
    sizes: Sequence[int], mini_batch_size: int, configured: int = 0
) -> bool:
    """Whether augmented chunks are best made on a second thread (BACKGROUND_MIN_MACS)."""
    threads = blas_threads(sizes, mini_batch_size, configured)
    return threads == 1 and step_macs(sizes, mini_batch_size) >= BACKGROUND_MIN_MACS


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


class StopFlag:
    """Set ``requested`` (e.g. from a signal handler) to stop training at the next check."""

    requested: str = ""  # the name of what asked (e.g. "SIGINT"); "" while none has


class SGD:
    """Mini-batch gradient descent on a Network, with optional momentum and L2/L1 decay.

    Per step, with g the mean gradient of the cost over the mini-batch (the book's
    chapter 3): plain w -> w - eta g; with regularisation g gains the term of
    ``Regularization.gradient``; with momentum mu: v -> mu v - eta g, w -> w + v (biases
    too). With dropout p, g is the gradient of the network thinned afresh for each step:
    every hidden neuron left out with probability p (chapter 3), the others' activations
    scaled by 1/(1 - p) so that the whole network needs no rescaling afterwards.
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
        # Per mini-batch size m: the workspace and eta/m as an array shaped like a^L.
        self._buffers: dict[int, tuple[Workspace, np.ndarray]] = {}
        self.eta = eta

    @property
    def eta(self) -> float:
        return self._eta

    @eta.setter
    def eta(self, eta: float) -> None:
        self._eta = eta
        for m, (_, eta_over_m) in self._buffers.items():
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
            buffers = self._buffers[m] = (ws, np.full(ws.a[-1].shape, self._eta_over(m)))
        ws, eta_over_m = buffers
        keep = self._draw_keep(m) if self.dropout else None
        backprop(self.net, ws, x_ones, y, eta_over_m, keep)  # ws.nabla: eta times the mean gradient
        if self._decay is None and self.velocity is None:
            np.subtract(self.net.flat, ws.nabla_flat, out=self.net.flat)  # w -= eta nabla_w ...
        else:
            self._update(ws)

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
        return _Epoch(self, x_ones, y, mini_batch_size, augment, background).run(
            rng, on_batches, stop, between
        )


class _Epoch:
    """The chunk buffers of one epoch and the loop over its mini-batches."""

    def __init__(
        self, opt: SGD, x_ones: np.ndarray, y: np.ndarray, m: int, augment: Augment | None,
        background: bool,
    ) -> None:  # fmt: skip
        self.opt, self.x_ones, self.y, self.m, self.augment = opt, x_ones, y, m, augment
        n = len(x_ones)
        self.chunk = m * max(1, CHUNK_ROWS // m)
        self.starts = range(0, n, self.chunk)
        self.rows_max = min(self.chunk, n)
        self.worker = background and augment is not None
        # (x, y) buffers for a chunk: two with a worker, which fills one while the steps
        # read the other.
        shape = (self.rows_max, x_ones.shape[1])
        self.buffers = [
            (np.ones(shape, x_ones.dtype), np.empty((self.rows_max, y.shape[1]), y.dtype))
            for _ in range(2 if self.worker else 1)
        ]
        # A full chunk's mini-batches are always the same views of its buffers: made once.
        self.full = [self.batches(i, self.rows_max) for i in range(len(self.buffers))]
        self.total = -(-n // m)

    def fill(self, i: int, order: np.ndarray, rng: np.random.Generator) -> int:
        """Chunk i (shuffled rows, augmented if asked) into its buffers; its row count."""
        rows = order[self.starts[i] : self.starts[i] + self.chunk]
        c = len(rows)
        xc, yc = self.buffers[i % len(self.buffers)]
        # mode="clip" lets take write straight into xc (the indices are valid). The rows
        # come from the contiguous x_ones: take from a strided source is far slower.
        self.x_ones.take(rows, axis=0, out=xc[:c], mode="clip")
        if self.augment is not None:
            xc[:c, :-1] = self.augment(xc[:c, :-1], rng)
        self.y.take(rows, axis=0, out=yc[:c], mode="clip")
        return c

    def batches(self, i: int, c: int) -> list[tuple[np.ndarray, np.ndarray]]:
        xc, yc = self.buffers[i % len(self.buffers)]
        return [
            (xc[k : min(k + self.m, c)], yc[k : min(k + self.m, c)]) for k in range(0, c, self.m)
        ]

    def run(
        self, rng: np.random.Generator, on_batches: Callable[[int, int], None] | None,
        stop: StopFlag | None, between: Callable[[], bool] | None,
    ) -> bool:  # fmt: skip
        order = rng.permutation(len(self.x_ones))
        if self.opt.dropout:  # drawn before the augmentation worker takes over rng
            self.opt.dropout_rng = np.random.Generator(np.random.PCG64(rng.integers(2**63)))
        step, done = self.opt.step, 0
        # Stop requests and progress are looked at between groups of mini-batches (about a
        # hundred groups an epoch), keeping the innermost loop to the step alone.
        group = max(self.total // 100, 1)
        # sigmoid's exp(-z) overflows to inf, correctly; a diverging run (inf, NaN) is
        # caught by the cost check after the epoch, with a clear message.
        with contextlib.ExitStack() as stack, np.errstate(over="ignore", invalid="ignore"):
            if self.worker:
                # Chunk i + 1 is made on the worker while chunk i trains. The worker is the
                # only user of rng during the epoch and makes the chunks in order, so the
                # results are those of doing it all in line.
                pool = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="nnbp-augment"))
                pending = pool.submit(self.fill, 0, order, rng)
            for i in range(len(self.starts)):
                if not self.worker:
                    c = self.fill(i, order, rng)
                else:
                    c = pending.result()
                    if i + 1 < len(self.starts):
                        pending = pool.submit(self.fill, i + 1, order, rng)
                batches = (
                    self.full[i % len(self.buffers)] if c == self.rows_max else self.batches(i, c)
                )
                for lo in range(0, len(batches), group):
                    if (stop is not None and stop.requested) or (between and between()):
                        return False
                    part = batches[lo : lo + group]
                    for xb, yb in part:
                        step(xb, yb)
                    done += len(part)
                    if on_batches is not None:
                        on_batches(done, self.total)
        return True
