"""What folding the update into BP4 saves: SGD epochs with ``fold_update`` on and off.

Folded (nnbp's default without weight decay), each layer's BP4 product is subtracted from
the weights, or added into the velocity, by the GEMM that makes it (beta = 1, or mu:
nnbp/blas.py, NumPy's own OpenBLAS through ctypes). Off, the product is written to nabla
and applied in NumPy passes afterwards: w -= nabla, or v *= mu, v -= nabla, w += v. This
times ``SGD.epoch`` both ways on the same random rows, alternated and repeated, at the
bench's networks and best.yaml's (plain, and with best.yaml's momentum 0.9), at 1 and 2
BLAS threads, checks that both ways trained the same weights, and prints which BLAS ran.

    python bench/fused_update.py [--rounds 5] [--rows 10000]
    OPENBLAS_CORETYPE=Haswell python bench/fused_update.py

Results: docs/ENGINE.md.
"""

from __future__ import annotations

import numpy as np
from interleave import blas_line, compared_epochs, epochs_args

# (sizes, mini-batch size, momentum): the bench's networks, then best.yaml's, plain and
# with its momentum.
SHAPES = [
    ([784, 30, 10], 10, 0.0), ([784, 30, 10], 100, 0.0), ([784, 100, 10], 10, 0.0),
    ([784, 100, 10], 100, 0.0), ([784, 800, 10], 10, 0.0), ([784, 800, 10], 10, 0.9),
]  # fmt: skip
WAYS = {"after": False, "folded": True}


def main() -> None:
    args = epochs_args(__doc__.split("\n")[0])
    variants = {name: {"fold_update": fold} for name, fold in WAYS.items()}
    print(f"BLAS: {blas_line()}; {args.rows} rows per epoch; {args.rounds} rounds")
    print("| network | m | momentum | threads | after: median s/epoch | folded | folded / after"
          " | same weights |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for sizes, m, mu, threads, s, nets in compared_epochs(SHAPES, args, variants):
        same = np.array_equal(nets[0].flat, nets[1].flat)
        print(f"| {sizes} | {m} | {mu} | {threads} | {s['after']:.3f} | {s['folded']:.3f} |"
              f" {s['folded'] / s['after']:.2f} | {'yes' if same else 'no'} |")  # fmt: skip


if __name__ == "__main__":
    main()
