"""What best.yaml's elastic distortions cost its SGD pass from the second core.

nnbp makes each chunk's distorted images on a worker thread while the steps train on the
previous chunk (epoch.py). The worker runs on the other core, but it shares the GIL with
the steps' Python and NumPy calls. This times ``SGD.epoch`` at best.yaml's setting
([784, 800, 10], m = 10, momentum 0.9, one BLAS thread) three ways, alternated and
repeated on the same random rows: without distortions ("plain"); with them on the worker
thread ("thread", as ``SGD.epoch(background=True)`` makes them); and with them made in
a second process ("process", nnbp/augment_process.py, as ``nnbp train`` makes them): the
same work on the other core, without the GIL. Prints which BLAS ran.

    python bench/augment_worker.py [--rounds 5] [--rows 10000]

Results: docs/ENGINE.md.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable

from interleave import blas_line, epochs_args, random_rows, sgd_epochs
from threadpoolctl import threadpool_limits

from nnbp.augment_process import AugmentProcess
from nnbp.epoch import CHUNK_ROWS
from nnbp.training import Augmentation

ELASTIC = {"elastic": {"alpha": 24.0, "sigma": 4.0}}  # best.yaml's
DISTORT = Augmentation((28, 28), ("elastic",), ELASTIC)


def timed(call: Callable[[], object]) -> Callable[[], float]:
    def run() -> float:
        start = time.perf_counter()
        call()
        return time.perf_counter() - start

    return run


def main() -> None:
    args = epochs_args(__doc__.split("\n")[0])
    x, y = random_rows(args.rows)
    print(f"BLAS: {blas_line()}; {args.rows} rows per epoch; {args.rounds} rounds")
    calls, _ = sgd_epochs([784, 800, 10], 10, 0.9, x, y, {"plain": {}, "thread": {}, "process": {}})
    times: dict[str, list[float]] = {name: [] for name in calls}
    with threadpool_limits(1, user_api="blas"), AugmentProcess(x, DISTORT, CHUNK_ROWS) as process:
        ways = {
            "plain": timed(calls["plain"]),
            "thread": timed(functools.partial(calls["thread"], augment=DISTORT, background=True)),
            "process": timed(
                functools.partial(calls["process"], augment=DISTORT, background=process)
            ),
        }
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
