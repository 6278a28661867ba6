"""What the book's layout, examples as columns, would save over nnbp's rows.

nnbp's workspace holds a mini-batch with one example per row, a (m, n), so the first
layer's forward product is x (m, 785) @ w^T. The book's matrix form stacks the examples as
columns instead, a (n, m): z = w a + b, delta = (w^T delta') * sigma'(z), nabla_w =
delta a^T. OpenBLAS makes the same product as w (n, 785) @ x^T faster at small m. This
times ``SGD.epoch`` with nnbp's backprop and with a version of it that keeps the hidden
layers as columns (defined here: no dropout; the output layer stays in rows for the cost),
alternated on the same random rows, at the bench's networks and best.yaml's, at 1 and 2
BLAS threads, and prints the largest difference between the weights the two trained: not
zero, since the products add in another order.

    python bench/columns_layout.py [--rounds 5] [--rows 10000]
    OPENBLAS_CORETYPE=Haswell python bench/columns_layout.py

Results: docs/ENGINE.md.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from fused_update import SHAPES
from interleave import blas_line, compared_epochs, epochs_args

import nnbp.sgd
from nnbp.activations import sigmoid_, sigmoid_prime_
from nnbp.network import Network, layered


class ColumnsWorkspace:
    """nnbp's Workspace with each hidden layer's arrays as (n, m), examples as columns.

    ``a_in_cols[l]`` (n_in + 1, m) is layer l's input with a row of ones (l >= 1), and
    ``a_cols[l]`` its first n rows, so that sigma(z) lands where the next layer reads it.
    The attributes SGD uses (``a``, ``a_in``, ``delta``, ``delta_T``) are views of these
    in nnbp's orientation; the output layer's arrays are nnbp's own.
    """

    def __init__(self, sizes: list[int], m: int, dtype: np.dtype):
        hidden, n_L = sizes[1:-1], sizes[-1]
        self.a_in_cols = [np.ones((n + 1, m), dtype) for n in hidden]
        self.a_cols = [a_in[:-1] for a_in in self.a_in_cols]
        self.one_cols = [np.ones((n, m), dtype) for n in hidden]
        self.delta_cols = [np.empty((n, m), dtype) for n in hidden]
        self.tmp_cols = [np.empty((n, m), dtype) for n in hidden]
        out, self.one_out, self.delta_out, self.tmp_out = (
            np.empty((m, n_L), dtype) for _ in range(4)
        )
        self.one_out.fill(1)
        self.a = [a.T for a in self.a_cols] + [out]
        self.a_in = [np.empty(0, dtype)] + [a_in.T for a_in in self.a_in_cols]
        self.delta = [d.T for d in self.delta_cols] + [self.delta_out]
        self.delta_T = self.delta_cols + [self.delta_out.T]
        self.nabla_flat, self.nabla = layered(sizes, dtype)


def columns_backprop(net, ws, x, y, k, keep=None, bp4=None) -> None:
    """nnbp's backprop (network.py) with the hidden layers as columns."""
    if keep is not None:
        raise ValueError("columns_backprop has no dropout")
    if bp4 is None:

        def bp4(l, delta_T, a_in):
            np.dot(delta_T, a_in, out=ws.nabla[l])

    w, L = net.w, len(net.w) - 1
    a_in = x.T
    for l in range(L):  # z = w a + b, then a = sigma(z) in place
        sigmoid_(np.dot(net.params[l], a_in, out=ws.a_cols[l]), ws.one_cols[l])
        a_in = ws.a_in_cols[l]
    a_L = net.output_fn(np.dot(a_in.T, net.params_T[L], out=ws.a[L]), ws.one_out)
    net.cost_fn.delta(a_L, y, k, ws.delta_out, ws.tmp_out)  # BP1
    for l in range(L, 0, -1):  # BP2, then BP3-BP4
        delta = np.dot(w[l].T, ws.delta_T[l], out=ws.delta_cols[l - 1])
        delta *= sigmoid_prime_(ws.a_cols[l - 1], ws.tmp_cols[l - 1], ws.one_cols[l - 1])
        bp4(l, ws.delta_T[l], ws.a_in[l])
    bp4(0, ws.delta_T[0], x)


ROWS = nnbp.sgd.backprop  # nnbp's own, put back after each columns epoch


def with_columns(call: Callable[[], object], net: Network) -> Callable[[], object]:
    """``call`` (an SGD epoch of net) run with the columns workspace and backprop."""
    net.workspace = lambda m: ColumnsWorkspace(net.sizes, m, net.dtype)

    def run() -> object:
        nnbp.sgd.backprop = columns_backprop
        try:
            return call()
        finally:
            nnbp.sgd.backprop = ROWS

    return run


def main() -> None:
    args = epochs_args(__doc__.split("\n")[0])
    print(f"BLAS: {blas_line()}; {args.rows} rows per epoch; {args.rounds} rounds")
    print("| network | m | momentum | threads | rows: median s/epoch | columns"
          " | columns / rows | largest weight difference |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")

    def prepare(calls: dict, nets: list[Network]) -> None:
        calls["columns"] = with_columns(calls["columns"], nets[1])

    ways = {"rows": {}, "columns": {}}
    for sizes, m, mu, threads, s, nets in compared_epochs(SHAPES, args, ways, prepare):
        diff = float(np.abs(nets[0].flat - nets[1].flat).max())
        print(f"| {sizes} | {m} | {mu} | {threads} | {s['rows']:.3f} | {s['columns']:.3f} |"
              f" {s['columns'] / s['rows']:.2f} | {diff:.1e} |")  # fmt: skip


if __name__ == "__main__":
    main()
