"""Both engines in one process, epoch for epoch: the checkout's nnbp against a past
revision's, imported side by side; prints one JSON object on stdout.

    python bench/worker_pair.py --base DIR --sizes 784,30,10 --m 10 --data DIR \
        [--dtype float32] [--budget 12]

DIR (--base) holds ``nnbp_base/``, the revision's package with its imports renamed
(bench/engine.py makes it). Each engine trains its own network, from the same seed, on
the same rows; after one warm-up epoch each, epochs alternate as ABBA quadruples until
the budget is spent, and each quadruple gives one ratio new/old of its summed times. In
one process, paired epoch by epoch, the ratio is far steadier than between processes:
a drift of the machine's speed weighs on both engines alike.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ETA = 0.5  # small enough that no run diverges on any benchmarked shape


def trainer(package: str, sizes: list[int], m: int, dtype: str, x: np.ndarray, labels):
    """(one epoch as a function, the BLAS threads the package chooses) for ``package``."""
    network = importlib.import_module(f"{package}.network")
    sgd = importlib.import_module(f"{package}.sgd")
    rng = np.random.default_rng(0)
    net = network.Network.create(sizes, rng, dtype=dtype)
    opt = sgd.SGD(net, eta=ETA, n_train=len(x))
    x_ones = np.ones((len(x), x.shape[1] + 1), dtype)
    x_ones[:, :-1] = x
    y = np.eye(sizes[-1], dtype=dtype)[labels]
    if hasattr(sgd.SGD, "epoch"):  # SGD.epoch, the entry point since the loop engine
        # The thread policy moved from sgd.py to epoch.py with the folded update.
        moved = not hasattr(sgd, "blas_threads")
        policy = importlib.import_module(f"{package}.epoch") if moved else sgd
        return (lambda: opt.epoch(x_ones, y, m, rng)), policy.blas_threads(sizes, m)
    train = importlib.import_module(f"{package}.train")  # the API at 0c9a75a
    data = importlib.import_module(f"{package}.data")
    config = importlib.import_module(f"{package}.config")
    split = data.Split(x_ones[:, :-1], labels, x_ones)
    threads = train.sgd_threads(config.TrainingConfig(mini_batch_size=m), sizes)
    return (lambda: train.sgd_epoch(net, split, y, m, ETA, rng, optimizer=opt)), threads


def timed(epoch: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    epoch()
    return time.perf_counter() - t0


def measure(args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(args.base))
    sizes = [int(s) for s in args.sizes.split(",")]
    x, labels = np.load(args.data / "train_x.npy"), np.load(args.data / "train_labels.npy")
    new, threads = trainer("nnbp", sizes, args.m, args.dtype, x, labels)
    old, old_threads = trainer("nnbp_base", sizes, args.m, args.dtype, x, labels)
    if threads != old_threads:
        return {"status": "error", "error": f"threads differ: {threads} vs {old_threads}"}
    seconds: dict[str, list[float]] = {"new": [], "old": []}
    ratios = []
    with threadpool_limits(limits=threads, user_api="blas"):
        timed(new), timed(old)  # warm-up: buffers, caches, thread pools
        start = time.perf_counter()
        while time.perf_counter() - start < args.budget or not ratios:
            a1, b1, b2, a2 = timed(new), timed(old), timed(old), timed(new)
            seconds["new"] += [a1, a2]
            seconds["old"] += [b1, b2]
            ratios.append((a1 + a2) / (b1 + b2))
    return {"status": "ok", "ratios": ratios, "seconds": seconds, "threads": threads}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", type=Path, required=True, help="directory holding nnbp_base/")
    p.add_argument("--sizes", required=True)
    p.add_argument("--m", type=int, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--dtype", default="float32")
    p.add_argument("--budget", type=float, default=12.0, help="seconds of paired epochs")
    print(json.dumps(measure(p.parse_args())))


if __name__ == "__main__":
    main()
