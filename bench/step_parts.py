"""How much of an SGD step is matrix products, update, and everything else?

The most a compiled elementwise kernel (a fused sigmoid, sigma' and mask in one pass
each) could save is the part of a step that is neither a matrix product nor the update.
This times, on one mini-batch kept in cache, per step: nnbp's ``SGD.step`` as it is; the
step's five matrix products alone (two forward, BP2, BP4 twice: the products ``backprop``
makes for one hidden layer, into the same buffers); and those products with the update
as the step makes it (where SGD folds the update into BP4, its two BP4 GEMMs into the
weights or the velocity, then w += v with momentum). Alternated and repeated; medians.
Prints which BLAS ran.

    python bench/step_parts.py [--threads 1] [--rounds 7]
    OPENBLAS_CORETYPE=Haswell python bench/step_parts.py

Results: docs/ENGINE.md.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable

import numpy as np
from interleave import blas_line, interleaved
from threadpoolctl import threadpool_limits

from nnbp.network import Network, with_ones
from nnbp.sgd import SGD

# (sizes, m, momentum, steps per timing): the bench's networks and best.yaml's.
SHAPES = [
    ([784, 30, 10], 10, 0.0, 2000),
    ([784, 100, 10], 10, 0.0, 2000),
    ([784, 100, 10], 100, 0.0, 500),
    ([784, 800, 10], 10, 0.0, 300),
    ([784, 800, 10], 10, 0.9, 300),
]


def parts(sizes: list[int], m: int, mu: float) -> dict[str, Callable[[], None]]:
    """One step three ways, over the same network and buffers: name -> call."""
    rng = np.random.default_rng(0)
    x = with_ones(rng.random((m, sizes[0]), dtype=np.float32))
    y = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], m)]
    net = Network.create(sizes, rng, init="scaled", cost="log-likelihood")
    opt = SGD(net, eta=0.01, n_train=50_000, momentum=mu)
    # The products get a workspace of their own with zero errors: their update then
    # leaves the weights as they are (a constant nabla would push them to overflow).
    ws = net.workspace(m)
    for delta in ws.delta:
        delta.fill(0)
    w_T, w = net.params_T, net.w

    def forward_and_bp2() -> None:
        np.dot(x, w_T[0], out=ws.a[0])
        np.copyto(ws.a_in_body[1], ws.a[0])
        np.dot(ws.a_in[1], w_T[1], out=ws.a[1])
        np.dot(ws.delta[1], w[1], out=ws.delta[0])

    def products() -> None:
        forward_and_bp2()
        np.dot(ws.delta_T[1], ws.a_in[1], out=ws.nabla[1])
        np.dot(ws.delta_T[0], x, out=ws.nabla[0])

    bp4 = opt._folded(ws)  # SGD's BP4 with the update folded in, or None where it is not

    def products_and_update() -> None:
        if bp4 is None:
            products()
            if mu:
                opt._update(ws)  # v = mu v - nabla, w += v
            else:
                np.subtract(net.flat, ws.nabla_flat, out=net.flat)
            return
        forward_and_bp2()
        bp4(1, ws.delta_T[1], ws.a_in[1])
        bp4(0, ws.delta_T[0], x)
        if mu:
            np.add(net.flat, opt._velocity_flat, out=net.flat)  # w += v

    return {"step": lambda: opt.step(x, y), "products": products, "update": products_and_update}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with threadpool_limits(args.threads, user_api="blas"), np.errstate(over="ignore"):
        print(f"BLAS: {blas_line()}; {args.rounds} rounds; µs per step")
        print("network | m | momentum | step | products | products + update | other share")
        for sizes, m, mu, steps in SHAPES:
            times = interleaved(parts(sizes, m, mu), args.rounds, steps)
            step, prod, upd = (statistics.median(t) / steps * 1e6 for t in times.values())
            print(f"{sizes} | {m} | {mu} | {step:.0f} | {prod:.0f} | {upd:.0f} |"
                  f" {(step - upd) / step:.0%}")  # fmt: skip


if __name__ == "__main__":
    main()
