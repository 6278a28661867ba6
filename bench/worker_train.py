"""One training-speed measurement in a fresh process; prints one JSON object on stdout.

    python bench/worker_train.py --impl nnbp --sizes 784,30,10 --m 10 --threads 1 \
        --data DIR [--epochs 3] [--warmup 50000] [--examples 50000] [--budget 8] \
        [--dtype float32]

DIR holds the arrays bench/run.py prepared once (train_x.npy, ...), so every
implementation sees the same numbers. The trainer first warms up: a probe pass over
PROBE_EXAMPLES images, then a pass over ``--warmup`` examples (a random subset when
fewer than all), shortened to fit a third of ``--budget`` if the probe says it is slow.
Then up to ``--epochs`` timed passes over ``--examples`` examples; each time is scaled
to a full 50,000-image epoch (seconds * n_train / examples). The timed passes share
``--budget`` seconds: when the warm-up predicts a pass longer than budget / epochs, they
use a random subset that fits (never fewer than MIN_EXAMPLES), and they stop early,
after at least one, once the budget is spent. So a process whose threads are starved
by other load still ends in seconds. ``--threads default`` leaves the pools alone.
A peer whose package cannot be imported gives {"status": "missing"}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from peers import DTYPED, NEEDS, TRAINERS

MIN_EXAMPLES = 5_000  # the smallest timed pass: a tenth of an epoch
PROBE_EXAMPLES = 1_000  # the first warm-up pass, which prices the others


def load(data_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    return np.load(data_dir / f"{split}_x.npy"), np.load(data_dir / f"{split}_labels.npy")


def subset(x: np.ndarray, labels: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, ...]:
    """The whole set when k covers it, else k rows drawn without replacement."""
    if k >= len(labels):
        return x, labels
    rows = np.sort(np.random.default_rng(seed).choice(len(labels), k, replace=False))
    return x[rows], labels[rows]


def timed_pass(trainer, x: np.ndarray, labels: np.ndarray, k: int, seed: int) -> float:
    """One untimed-for-the-report pass over k random examples; its seconds per example."""
    d = trainer.data(*subset(x, labels, k, seed))
    t0 = time.perf_counter()
    trainer.epoch(d)
    return (time.perf_counter() - t0) / k


def measure(args: argparse.Namespace) -> dict:
    sizes = [int(s) for s in args.sizes.split(",")]
    threads = None if args.threads == "default" else int(args.threads)
    x, labels = load(args.data, "train")
    n = len(labels)
    options = {"dtype": args.dtype} if args.impl in DTYPED else {}
    try:
        trainer = TRAINERS[args.impl](sizes, args.m, args.eta, args.seed, **options)
    except ImportError as e:
        if args.impl in NEEDS:
            return {"status": "missing", "error": f"{NEEDS[args.impl]} not importable: {e}"}
        raise
    seconds = []
    with trainer.threads(threads):
        backend = trainer.backend()
        k_warm = min(PROBE_EXAMPLES, args.warmup, n)
        per_example = timed_pass(trainer, x, labels, k_warm, args.seed + 6)
        k_more = min(args.warmup, n, int(args.budget / 3 / per_example) // args.m * args.m)
        if k_more > k_warm:
            per_example = timed_pass(trainer, x, labels, k_more, args.seed + 7)
            k_warm += k_more
        k = min(args.examples, n)
        per_pass = args.budget / args.epochs
        if per_example * k > per_pass:  # too slow for whole passes: time a subset
            k = max(int(per_pass / per_example) // args.m * args.m, min(MIN_EXAMPLES, k))
        timed = trainer.data(*subset(x, labels, k, args.seed + 8))
        start = time.perf_counter()
        for _ in range(args.epochs):
            t0 = time.perf_counter()
            trainer.epoch(timed)
            seconds.append((time.perf_counter() - t0) * n / k)
            if time.perf_counter() - start > args.budget:
                break
    test_x, test_labels = load(args.data, "test")
    return {
        "status": "ok",
        "seconds": seconds,
        "examples": k,
        "warmup_examples": k_warm,
        "n_train": n,
        "test_accuracy": trainer.accuracy(test_x, test_labels),
        "backend": backend,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--impl", required=True, choices=sorted(TRAINERS))
    p.add_argument("--sizes", required=True, help="layer sizes, e.g. 784,30,10")
    p.add_argument("--m", type=int, required=True, help="mini-batch size")
    p.add_argument("--eta", type=float, default=3.0)
    p.add_argument("--threads", default="default", help="an integer, or 'default'")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--epochs", type=int, default=3, help="timed epochs (at most)")
    p.add_argument("--warmup", type=int, default=50_000, help="examples in the warm-up epoch")
    p.add_argument("--examples", type=int, default=50_000, help="examples per timed epoch")
    p.add_argument("--budget", type=float, default=6.0, help="seconds for all timed passes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", default="float32", help="nnbp's float type (nnbp trainers only)")
    args = p.parse_args()
    result = measure(args)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
