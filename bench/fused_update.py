"""Would a BLAS GEMM with beta (BP4 fused with the update) pay for a SciPy dependency?

nnbp's step writes BP4's product delta^T a into nabla, then updates in separate NumPy
passes: w -= nabla, or with momentum v = mu v - nabla, w += v. A GEMM with beta (SciPy's
``scipy.linalg.blas.sgemm``; what torch's ``addmm_`` does) folds the first pass into the
product: w = w - delta^T a (beta 1), or v = mu v - delta^T a (beta mu). This times the
first layer's BP4 and update, the bulk of the step at wide layers, both ways, per epoch
of steps, interleaved and repeated, at 1 and 2 BLAS threads, and prints which BLAS ran.

    python bench/fused_update.py [--rounds 5]
    OPENBLAS_CORETYPE=Haswell python bench/fused_update.py

Needs SciPy (the ``photos`` extra). Results: docs/ENGINE.md.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
from interleave import blas_line, interleaved
from scipy.linalg import blas
from threadpoolctl import threadpool_limits

# (n_in + 1, n_out, m, steps per 50,000-image epoch): best.yaml's first layer (at its
# earlier m = 20), and the bench's [784, 100, 10] at mini-batches 10 and 100.
SHAPES = [(785, 800, 20, 2500), (785, 100, 10, 5000), (785, 100, 100, 500)]
MU = 0.9


def ways(n_in: int, n_out: int, m: int) -> dict:
    """The four ways to time, closed over their arrays: name -> one step's call."""
    rng = np.random.default_rng(0)
    a = rng.random((m, n_in), dtype=np.float32)
    delta = rng.random((m, n_out), dtype=np.float32) * np.float32(1e-6)
    w, v, nabla = (np.zeros((n_out, n_in), np.float32) for _ in range(3))
    mu = np.float32(MU)
    # w is C-ordered (n_out, n_in), so w.T is the Fortran array sgemm updates in place:
    # w.T = beta w.T - a^T delta.
    w_t, v_t = w.T, v.T

    def numpy_plain() -> None:
        np.dot(delta.T, a, out=nabla)
        np.subtract(w, nabla, out=w)

    def fused_plain() -> None:
        blas.sgemm(-1.0, a, delta, beta=1.0, c=w_t, trans_a=1, overwrite_c=1)

    def numpy_momentum() -> None:
        np.dot(delta.T, a, out=nabla)
        v.__imul__(mu)
        v.__isub__(nabla)
        w.__iadd__(v)

    def fused_momentum() -> None:
        blas.sgemm(-1.0, a, delta, beta=MU, c=v_t, trans_a=1, overwrite_c=1)
        w.__iadd__(v)

    fused_plain()  # sgemm must update in place, or the comparison means nothing
    assert np.any(w != 0), "sgemm did not write into w"
    return {
        "plain: numpy": numpy_plain, "plain: fused": fused_plain,
        "momentum: numpy": numpy_momentum, "momentum: fused": fused_momentum,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    print(f"# {blas_line()}")
    print("| layer | m | threads | way | median s/epoch | fastest | fused / numpy |")
    print("|---|---|---|---|---|---|---|")
    for n_in, n_out, m, steps in SHAPES:
        calls = ways(n_in, n_out, m)
        for threads in (1, 2):
            with threadpool_limits(threads):
                times = interleaved(calls, rounds, steps)
            med = {name: statistics.median(t) for name, t in times.items()}
            for name, t in times.items():
                kind = name.split(":")[0]
                ratio = med[f"{kind}: fused"] / med[f"{kind}: numpy"]
                print(f"| {n_out}x{n_in} | {m} | {threads} | {name} | {med[name]:.3f} |"
                      f" {min(t):.3f} | {ratio:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
