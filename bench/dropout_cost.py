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

import statistics

from interleave import blas_line, epochs_args, interleaved, random_rows, sgd_epochs
from threadpoolctl import threadpool_limits

# (sizes, mini-batch size, momentum): best.yaml's network (at its earlier m = 20), and
# the bench's small network.
SHAPES = [([784, 800, 10], 20, 0.9), ([784, 100, 10], 10, 0.0)]
DROPOUT = 0.3


def main() -> None:
    args = epochs_args(__doc__.split("\n")[0])
    x, y = random_rows(args.rows)
    variants = {f"p = {p}": {"dropout": p} for p in (0.0, DROPOUT)}
    with threadpool_limits(1, user_api="blas"):
        print(f"BLAS: {blas_line()}; {args.rows} rows per epoch; {args.rounds} rounds")
        print("network | m | momentum | p = 0 median s | p = 0.3 median s | ratio")
        for sizes, m, mu in SHAPES:
            calls, _ = sgd_epochs(sizes, m, mu, x, y, variants)
            interleaved(calls, 1)  # warm-up
            plain, dropped = map(statistics.median, interleaved(calls, args.rounds).values())
            print(f"{sizes} | {m} | {mu} | {plain:.3f} | {dropped:.3f} | {dropped / plain:.2f}")


if __name__ == "__main__":
    main()
