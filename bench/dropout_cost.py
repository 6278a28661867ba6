"""What dropout's masks cost a step: SGD epochs with and without ``training.dropout``.

With dropout p, every step draws a fresh mask per hidden layer (16 random bits per
hidden activation), turns it into 0 or 1/(1 - p) in place, multiplies it into the next
layer's input and into BP2's delta. This times ``SGD.epoch`` on the same random rows
with p = 0 and p = 0.3, alternated and repeated, at best.yaml's network with momentum
0.9 and m = 20, and at the bench's [784, 100, 10] with m = 10, on one BLAS thread,
and prints which BLAS ran.

    python bench/dropout_cost.py [--rounds 5] [--rows 10000]
    OPENBLAS_CORETYPE=Haswell python bench/dropout_cost.py

Results: docs/ENGINE.md.
"""

from __future__ import annotations

import argparse
import functools
import statistics
from collections.abc import Callable

import numpy as np
from interleave import blas_line, interleaved
from threadpoolctl import threadpool_limits

from nnbp.network import Network, with_ones
from nnbp.sgd import SGD

# (sizes, mini-batch size, momentum): best.yaml's network (at its earlier m = 20), and
# the bench's small network.
SHAPES = [([784, 800, 10], 20, 0.9), ([784, 100, 10], 10, 0.0)]
DROPOUT = 0.3


def epochs(sizes: list[int], m: int, mu: float, x, y) -> dict[str, Callable[[], object]]:
    """One SGD epoch over the rows of x, without and with dropout: name -> call. Each
    trainer starts from the same network and goes on training from call to call."""
    calls = {}
    for p in (0.0, DROPOUT):
        rng = np.random.default_rng(0)
        net = Network.create(sizes, rng, init="scaled", cost="log-likelihood")
        opt = SGD(net, eta=0.05, n_train=len(x), momentum=mu, dropout=p)
        calls[f"p = {p}"] = functools.partial(opt.epoch, x, y, m, rng)
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=10_000, help="training rows per epoch")
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    x = with_ones(rng.random((args.rows, 784), dtype=np.float32))
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, args.rows)]
    with threadpool_limits(1, user_api="blas"):
        print(f"BLAS: {blas_line()}; {args.rows} rows per epoch; {args.rounds} rounds")
        print("network | m | momentum | p = 0 median s | p = 0.3 median s | ratio")
        for sizes, m, mu in SHAPES:
            calls = epochs(sizes, m, mu, x, y)
            interleaved(calls, 1)  # warm-up
            plain, dropped = map(statistics.median, interleaved(calls, args.rounds).values())
            print(f"{sizes} | {m} | {mu} | {plain:.3f} | {dropped:.3f} | {dropped / plain:.2f}")


if __name__ == "__main__":
    main()
