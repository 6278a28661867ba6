"""One epoch of mini-batches: the shuffle, the chunks of gathered (and augmented) rows,
the loop over the steps; and how many BLAS threads those steps get.

``SGD.epoch`` (sgd.py) runs an ``Epoch``; fit.py asks ``blas_threads`` and
``background_augmentation`` how to set the threads around it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from nnbp.sgd import SGD

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


class StopFlag:
    """Set ``requested`` (e.g. from a signal handler) to stop training at the next check."""

    requested: str = ""  # the name of what asked (e.g. "SIGINT"); "" while none has


class Epoch:
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
