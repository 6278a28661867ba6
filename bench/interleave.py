"""Interleaved timing for the small engine comparisons (fused_update, columns_layout,
step_parts, dropout_cost): each way timed in turn within every round, so that a slow
spell of the machine falls on all of them alike; and the SGD epochs and random rows that
fused_update, columns_layout, dropout_cost and augment_worker compare."""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from peers import blas_pools
from threadpoolctl import threadpool_limits

from nnbp.network import Network, with_ones
from nnbp.sgd import SGD


def interleaved(
    calls: dict[str, Callable[[], object]], rounds: int, repeat: int = 1
) -> dict[str, list[float]]:
    """Per name, the seconds of ``repeat`` calls of it in each of ``rounds`` rounds."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            for _ in range(repeat):
                call()
            times[name].append(time.perf_counter() - start)
    return times


def blas_line() -> str:
    """The BLAS libraries loaded (``peers.blas_pools``), their versions, kernels, threads."""
    return "; ".join(
        f"{p['internal_api']} {p['version']} {p['architecture']},"
        f" {p['num_threads']} thread{'s' * (p['num_threads'] != 1)}"
        for p in blas_pools()
    )


def epochs_args(description: str) -> argparse.Namespace:
    """--rounds and --rows, the options of the epoch comparisons."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=10_000, help="training rows per epoch")
    return parser.parse_args()


def random_rows(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n random 784-pixel inputs with their ones column, and one-hot targets of 10 classes."""
    rng = np.random.default_rng(1)
    x = with_ones(rng.random((n, 784), dtype=np.float32))
    return x, np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]


def sgd_epochs(
    sizes: list[int], m: int, mu: float, x: np.ndarray, y: np.ndarray,
    variants: dict[str, dict[str, Any]],
) -> tuple[dict[str, Callable[[], object]], list[Network]]:  # fmt: skip
    """One SGD epoch over the rows of x per variant (its SGD keyword arguments): name ->
    call, and the networks. Each trainer starts from the same network and goes on training
    from call to call."""
    calls, nets = {}, []
    for name, kw in variants.items():
        rng = np.random.default_rng(0)
        net = Network.create(sizes, rng, init="scaled", cost="log-likelihood")
        opt = SGD(net, eta=0.05, n_train=len(x), momentum=mu, **kw)
        calls[name] = functools.partial(opt.epoch, x, y, m, rng)
        nets.append(net)
    return calls, nets


Prepare = Callable[[dict[str, Callable[[], object]], list[Network]], None]


def compared_epochs(
    shapes: list[tuple[list[int], int, float]], args: argparse.Namespace,
    variants: dict[str, dict[str, Any]], prepare: Prepare | None = None,
) -> Iterator[tuple[list[int], int, float, int, dict[str, float], list[Network]]]:  # fmt: skip
    """Per (sizes, m, momentum) of ``shapes`` and 1 and 2 BLAS threads: the variants'
    epochs (``sgd_epochs``) on ``args.rows`` random rows, warmed up, then alternated for
    ``args.rounds`` rounds. Yields sizes, m, momentum, threads, each variant's median
    seconds per 50,000-image epoch, and the networks. ``prepare(calls, nets)`` may
    change the calls first."""
    x, y = random_rows(args.rows)
    for sizes, m, mu in shapes:
        for threads in (1, 2):
            calls, nets = sgd_epochs(sizes, m, mu, x, y, variants)
            if prepare is not None:
                prepare(calls, nets)
            with threadpool_limits(threads, user_api="blas"):
                for call in calls.values():  # warm-up: buffers, caches
                    call()
                times = interleaved(calls, args.rounds)
            medians = {name: statistics.median(t) * 50_000 / args.rows for name, t in times.items()}
            yield sizes, m, mu, threads, medians, nets
