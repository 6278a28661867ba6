"""Interleaved timing for the small engine comparisons (fused_update, step_parts,
dropout_cost): each way timed in turn within every round, so that a slow spell of the
machine falls on all of them alike."""

from __future__ import annotations

import time
from collections.abc import Callable

from peers import blas_pools


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
