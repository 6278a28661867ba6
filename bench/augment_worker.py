"""What best.yaml's elastic distortions cost its SGD pass from the second core.

nnbp makes each chunk's distorted images on a worker thread while the steps train on the
previous chunk (epoch.py). The worker runs on the other core, but it shares the GIL with
the steps' Python and NumPy calls. This times ``SGD.epoch`` at best.yaml's setting
([784, 800, 10], m = 10, momentum 0.9, one BLAS thread) three ways, alternated and
repeated on the same random rows: without distortions ("plain"); with them on the worker
thread, as nnbp trains best.yaml ("thread"); and without them while another process
distorts as many images at the same time, a chunk at a time ("process": the same work
on the other core, without the GIL; what a process worker could at best achieve).
Prints which BLAS ran.

    python bench/augment_worker.py [--rounds 5] [--rows 10000]

Results: docs/ENGINE.md.
"""

from __future__ import annotations

import functools
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np
from interleave import blas_line, epochs_args, random_rows, sgd_epochs
from threadpoolctl import threadpool_limits

from nnbp import augment
from nnbp.epoch import CHUNK_ROWS

ELASTIC = {"elastic": {"alpha": 24.0, "sigma": 4.0}}  # best.yaml's
DISTORTER = """import sys
import numpy as np
from nnbp import augment
x = np.random.default_rng(1).random(({rows}, 784), dtype=np.float32)
rng = np.random.default_rng(2)
print("ready", flush=True)
sys.stdin.readline()
for start in range(0, {rows}, {chunk}):
    augment.augment(x[start : start + {chunk}], (28, 28), rng, ["elastic"], **{elastic})
"""


def distort(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return augment.augment(x, (28, 28), rng, ["elastic"], **ELASTIC)


def timed(call: Callable[[], object]) -> Callable[[], float]:
    def run() -> float:
        start = time.perf_counter()
        call()
        return time.perf_counter() - start

    return run


def beside_a_process(call: Callable[[], object], rows: int) -> Callable[[], float]:
    """``call`` timed while another process distorts ``rows`` images; the process is
    started, its imports done, before the clock starts."""

    def run() -> float:
        code = DISTORTER.format(rows=rows, chunk=CHUNK_ROWS, elastic=ELASTIC)
        # One BLAS thread, as the worker thread has within the steps' thread limit.
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
        pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
        with subprocess.Popen([sys.executable, "-c", code], env=env, **pipes) as p:
            p.stdout.readline()
            start = time.perf_counter()
            p.stdin.write("go\n")
            p.stdin.flush()
            call()
            seconds = time.perf_counter() - start
            p.stdin.close()
        return seconds

    return run


def main() -> None:
    args = epochs_args(__doc__.split("\n")[0])
    x, y = random_rows(args.rows)
    print(f"BLAS: {blas_line()}; {args.rows} rows per epoch; {args.rounds} rounds")
    calls, _ = sgd_epochs([784, 800, 10], 10, 0.9, x, y, {"plain": {}, "thread": {}, "process": {}})
    ways = {
        "plain": timed(calls["plain"]),
        "thread": timed(functools.partial(calls["thread"], augment=distort, background=True)),
        "process": beside_a_process(calls["process"], args.rows),
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    with threadpool_limits(1, user_api="blas"):
        for way in ways.values():  # warm-up
            way()
        for _ in range(args.rounds):
            for name, way in ways.items():
                times[name].append(way() * 50_000 / args.rows)
    plain = statistics.median(times["plain"])
    print("| way | median s per 50,000-image epoch | ÷ plain | each round |")
    print("|---|---|---|---|")
    for name, t in times.items():
        each, median = ", ".join(f"{s:.2f}" for s in t), statistics.median(t)
        print(f"| {name} | {median:.3f} | {median / plain:.2f} | {each} |")


if __name__ == "__main__":
    main()
