"""The training loop: epochs of mini-batch SGD (``sgd.SGD``), evaluation, the eta
schedule, early stopping and the best epoch.

Progress goes out through callbacks so that the caller (the CLI) decides what to show;
nothing here prints or touches files.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from nnbp import metrics
from nnbp.config import TrainingConfig
from nnbp.data import Split, Splits
from nnbp.introspect import layer_stats
from nnbp.metrics import one_hot
from nnbp.network import Network
from nnbp.sgd import SGD, Step

# Rows gathered (and augmented) at a time in an epoch: large enough that the per-call
# overhead vanishes, small enough (1024 x 785 float32 = 3 MB) that the steps then read
# their mini-batches from cache (4096 rows measured about 5% slower per epoch).
CHUNK_ROWS = 1024
# training.trace measures the layers on this many (fixed, first) training examples.
TRACE_EXAMPLES = 1000
# A mini-batch step whose largest matrix product has fewer multiply-adds than this runs
# on one BLAS thread. Measured on 2 cores (s/epoch, 1 thread vs 2): [784, 30, 10] at
# m = 10 (0.24 M) 0.18 vs 0.18; at m = 100 (2.4 M) 0.117 vs 0.100; [784, 100, 10] at
# m = 100 (7.8 M) 0.25 vs 0.20. Two threads also swing widely when anything else runs
# on the machine (10-50x slower seen), so below the threshold one thread is the sure bet.
PARALLEL_MIN_MACS = 2_000_000
# Augmented chunks are made on a second thread while the steps run (sgd_epoch's
# ``background``) only when the steps use one BLAS thread, so that a core is free, and
# their largest product has at least this many multiply-adds: the steps then spend long
# stretches in BLAS without the GIL. Measured, epoch time with the thread vs without
# (elastic, 1 BLAS thread): [784, 800, 10] m = 20 (12.5 M) 0.83; [784, 100, 10] m = 10
# (0.78 M) 0.81; [784, 30, 10] m = 10 (0.24 M) 1.10, the steps being too short to leave
# the GIL to the worker; with 2 BLAS threads 1.03-1.04.
BACKGROUND_MIN_MACS = 500_000


def _step_macs(settings: TrainingConfig, sizes: list[int] | tuple[int, ...]) -> int:
    pairs = zip(sizes[:-1], sizes[1:], strict=True)
    return settings.mini_batch_size * max(a * b for a, b in pairs)


def sgd_threads(settings: TrainingConfig, sizes: list[int] | tuple[int, ...]) -> int | None:
    """BLAS threads for the SGD steps: the config's, else 1 for small products, else
    None (the library's default, all cores)."""
    if settings.blas_threads:
        return settings.blas_threads
    return 1 if _step_macs(settings, sizes) < PARALLEL_MIN_MACS else None


def background_augmentation(settings: TrainingConfig, sizes: list[int] | tuple[int, ...]) -> bool:
    """Whether augmented chunks are best made on a second thread (BACKGROUND_MIN_MACS)."""
    threads = sgd_threads(settings, sizes)
    return threads == 1 and _step_macs(settings, sizes) >= BACKGROUND_MIN_MACS


@dataclass
class Evaluation:
    """Accuracy (share of argmax predictions equal to the label) and mean cost on a Split."""

    accuracy: float
    cost: float


def evaluate(net: Network, split: Split, batch: int = metrics.EVAL_BATCH) -> Evaluation:
    """Accuracy and mean cost of ``net`` on ``split``, in matrix batches of ``batch`` rows.

    A diverged network gives a NaN or infinite cost here, which the caller reports.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        a = metrics.outputs(net, split.x, batch)
        return Evaluation(
            metrics.accuracy(a, split.labels), metrics.mean_cost(net.cost, a, split.labels)
        )


class StopFlag:
    """Set ``requested`` (e.g. from a signal handler) to stop training at the next step."""

    requested: str = ""


def sgd_epoch(
    net: Network,
    split: Split,
    y: np.ndarray,
    mini_batch_size: int,
    eta: float,
    rng: np.random.Generator,
    on_batches: Callable[[int, int], None] | None = None,
    *,
    optimizer: SGD | None = None,
    augment: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
    stop: StopFlag | None = None,
    background: bool = False,
) -> bool:
    """One epoch of SGD: shuffle with ``rng``, then one step per mini-batch.

    ``y`` is the one-hot form of ``split.labels``, (n, n_classes). The shuffled rows are
    gathered CHUNK_ROWS at a time (a multiple of the mini-batch size, so the mini-batches
    are exactly consecutive slices of one permutation), augmented if asked, and each
    mini-batch goes whole to ``optimizer.step``: the only Python loop is over
    mini-batches, never over examples. The last mini-batch is smaller when m does not
    divide n. ``on_batches(done, total)`` is called about a hundred times, and ``stop``
    looked at as often; returns False when it was requested before the epoch's end (the
    epoch is then incomplete). With ``background`` (and ``augment``), each chunk is
    augmented on a worker thread while the previous one trains; the results are the same.
    """
    if optimizer is None:
        optimizer = SGD(net, eta=eta, n_train=len(split))
    n, n_in = split.x.shape
    m = mini_batch_size
    x1 = split.x1
    if x1 is None:  # a Split made without its ones column (e.g. in tests)
        x1 = np.concatenate([split.x, np.ones((n, 1), split.x.dtype)], axis=1)
    order = rng.permutation(n)
    chunk = m * max(1, CHUNK_ROWS // m)
    starts = range(0, n, chunk)
    rows_max = min(chunk, n)
    worker = background and augment is not None
    # (x, y) buffers for a chunk: two with a worker, which fills one while the steps
    # read the other.
    buffers = [
        (np.ones((rows_max, n_in + 1), dtype=net.dtype), np.empty((rows_max, y.shape[1]), y.dtype))
        for _ in range(2 if worker else 1)
    ]
    total = -(-n // m)
    # Stop requests and progress are looked at between groups of mini-batches (about a
    # hundred groups an epoch), keeping the innermost loop to the step alone.
    group = max(total // 100, 1)

    def fill(i: int) -> int:
        """Chunk i (shuffled rows, augmented if asked) into its buffers; its row count."""
        rows = order[starts[i] : starts[i] + chunk]
        c = len(rows)
        xc, yc = buffers[i % len(buffers)]
        # mode="clip" lets take write straight into xc (the indices are valid). The rows
        # come from the contiguous x1, never from its view split.x: take from a strided
        # source is ~40x slower (15 ms for 1,024 MNIST rows).
        x1.take(rows, axis=0, out=xc[:c], mode="clip")
        if augment is not None:
            xc[:c, :-1] = augment(xc[:c, :-1], rng)
        y.take(rows, axis=0, out=yc[:c], mode="clip")
        return c

    # A full chunk's mini-batches are always the same views of its buffers, each with the
    # step compiled for its size: made once, so that the innermost loop is the step alone.
    def batches_of(i: int, c: int) -> list[tuple[Step, np.ndarray, np.ndarray]]:
        xc, yc = buffers[i % len(buffers)]
        views = [(xc[k : min(k + m, c)], yc[k : min(k + m, c)]) for k in range(0, c, m)]
        return [(optimizer.compiled(len(xb)), xb, yb) for xb, yb in views]

    full = [batches_of(i, rows_max) for i in range(len(buffers))]
    done = 0
    # sigmoid's exp(-z) overflows to inf, correctly; a diverging run (inf, NaN) is caught
    # by the cost check after the epoch, with a clear message, not by warnings here.
    with contextlib.ExitStack() as stack, np.errstate(over="ignore", invalid="ignore"):
        if worker:
            # Chunk i + 1 is made on the worker while chunk i trains. The worker is the
            # only user of rng during the epoch and makes the chunks in order, so the
            # results are those of doing it all in line. (For plain chunks a worker was
            # measured slower: the gather is memory-bound.)
            pool = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="nnbp-augment"))
            pending = pool.submit(fill, 0)
        for i in range(len(starts)):
            if not worker:
                c = fill(i)
            else:
                c = pending.result()
                if i + 1 < len(starts):
                    pending = pool.submit(fill, i + 1)
            batches = full[i % len(buffers)] if c == rows_max else batches_of(i, c)
            for lo in range(0, len(batches), group):
                if stop is not None and stop.requested:
                    return False
                part = batches[lo : lo + group]
                for run, xb, yb in part:
                    run(xb, yb)
                done += len(part)
                if on_batches is not None:
                    on_batches(done, total)
    return True


@dataclass
class TrainState:
    """Where training stands after an epoch: what a checkpoint must hold to resume."""

    epoch: int = 0
    eta: float = 0.0
    halvings: int = 0
    best_accuracy: float = -1.0
    best_epoch: int = 0
    since_improvement: int = 0
    best_params: list[np.ndarray] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    stopped: str = ""  # why training ended early: "" (it did not), "early_stopping", "eta"


def fit(
    net: Network,
    splits: Splits,
    settings: TrainingConfig,
    rng: np.random.Generator,
    *,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    on_batches: Callable[[int, int, int], None] | None = None,
    augment: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
    state: TrainState | None = None,
    optimizer: SGD | None = None,
    stop: StopFlag | None = None,
) -> TrainState:
    """Train ``net`` in place for up to ``settings.epochs`` epochs; return the final state.

    After every epoch: the training cost (data and regularisation parts) and accuracy,
    the validation accuracy (None without a validation split), the test accuracy, the
    eta in force, ``train_seconds`` (the SGD pass alone) and ``seconds`` (the whole
    epoch). ``on_epoch(metrics)`` gets each epoch's dict as soon as it is known;
    ``on_batches(epoch, done, total)`` reports progress within an epoch.

    With a validation split, the best validation epoch's parameters are kept in the
    state (``best_params``, ``best_epoch``); eta is halved after ``halve_eta_after``
    epochs without improvement (stopping after ``max_halvings`` halvings), and training
    stops after ``early_stopping`` epochs without improvement, when those are set.
    Training resumes from ``state`` (and ``optimizer``) when given; it stops early, with
    the state of the last complete epoch, when ``stop`` is requested.
    """
    s = settings
    state = state or TrainState(eta=s.eta)
    optimizer = optimizer or SGD(
        net,
        eta=state.eta,
        n_train=len(splits.train),
        lmbda=s.lmbda,
        regularization=s.regularization,
        momentum=s.momentum,
    )
    y = one_hot(splits.train.labels, net.sizes[-1], net.dtype)
    background = background_augmentation(s, net.sizes)
    while state.epoch < s.epochs and not state.stopped:
        epoch = state.epoch + 1
        t0 = time.perf_counter()
        report = None
        if on_batches is not None:

            def report(done: int, total: int, epoch: int = epoch) -> None:
                on_batches(epoch, done, total)

        optimizer.eta = state.eta
        with threadpool_limits(limits=sgd_threads(s, net.sizes), user_api="blas"):
            complete = sgd_epoch(
                net, splits.train, y, s.mini_batch_size, state.eta, rng, report,
                optimizer=optimizer, augment=augment, stop=stop, background=background,
            )  # fmt: skip
        if not complete:
            break
        t1 = time.perf_counter()
        train = evaluate(net, splits.train)
        validation = evaluate(net, splits.validation) if splits.validation else None
        test = evaluate(net, splits.test)
        reg = optimizer.regularization_cost()
        trace = None
        if s.trace:
            sample = slice(0, TRACE_EXAMPLES)
            trace = layer_stats(net, splits.train.x[sample], y[sample])
        metrics_ = {
            "epoch": epoch,
            "train_cost": train.cost + reg,
            "train_cost_data": train.cost,
            "train_cost_regularization": reg,
            "train_accuracy": train.accuracy,
            "validation_accuracy": validation.accuracy if validation else None,
            "test_accuracy": test.accuracy,
            "eta": state.eta,
            "train_seconds": t1 - t0,
            "seconds": time.perf_counter() - t0,
        }
        if trace is not None:
            metrics_["trace"] = trace
        state.epoch = epoch
        state.history.append(metrics_)
        if validation is not None:
            _track_best(state, s, net, validation.accuracy)
        if on_epoch is not None:
            on_epoch(metrics_)
    return state


def _track_best(state: TrainState, s: TrainingConfig, net: Network, accuracy: float) -> None:
    """Best-epoch bookkeeping, the eta schedule and early stopping, after one epoch."""
    if accuracy > state.best_accuracy:
        state.best_accuracy = accuracy
        state.best_epoch = state.epoch
        state.since_improvement = 0
        state.best_params = [p.copy() for p in net.params]
        return
    state.since_improvement += 1
    if s.early_stopping and state.since_improvement >= s.early_stopping:
        state.stopped = "early_stopping"
    elif s.halve_eta_after and state.since_improvement >= s.halve_eta_after:
        state.halvings += 1
        state.eta /= 2
        state.since_improvement = 0
        if state.halvings >= s.max_halvings:
            state.stopped = "eta"
