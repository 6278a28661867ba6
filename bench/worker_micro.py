"""Micro-measurements in a fresh process; prints one JSON object on stdout.

    python bench/worker_micro.py floor --sizes 784,30,10 --m 10 [--threads 1]
    python bench/worker_micro.py evaluate --data DIR [--threads default]
    python bench/worker_micro.py weights --data DIR --out W.npz [--steps 300] [--dtype float32]

``floor``: the machine's lower bound for one SGD epoch. Every matrix product a
mini-batch step needs (forward z = a w^T for each layer; BP2's delta w; BP4's
delta^T a for each layer) is timed alone with np.matmul(..., out=) at its exact
shapes and layouts, float32, at ``--threads``, best of several blocks of many
repetitions; their sum times the steps per epoch is the GEMM-only time. The per-call
cost of a cheap ufunc (np.multiply with out= on a (10, 30) float32 array) prices the
other calls a step cannot avoid. bench/run.py runs it at 1 and at 2 threads under each
BLAS kernel (the kernel is the environment the worker starts with).

``gemms``: the same products timed with another library's matrix product at the same
shapes, layouts and thread setting: ``--lib numpy`` (np.matmul, NumPy's OpenBLAS) or
``--lib torch`` (torch.mm, MKL in torch's CPU wheel), so that a GEMM-bound gap between
nnbp and torch can be traced to the libraries' kernels and threading.

``evaluate``: images per second of nnbp's Network.feedforward + argmax over the test
set (a fresh [784, 30, 10] float32 network; speed does not depend on the weights).

``weights``: ``--steps`` mini-batch steps (one epoch over the first steps * m training
images) with whichever nnbp is importable, at its shipped thread setting, from seed
``--seed``; every weight and bias saved to ``--out`` (.npz), so that bench/engine.py can
compare two engines' results bit for bit.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from peers import blas_pools
from threadpoolctl import threadpool_limits


def best_time(fn: Callable[[], object], block_seconds: float, blocks: int = 7) -> float:
    """Seconds per call of fn: the fastest of ``blocks`` blocks of about block_seconds."""
    reps = 1
    while True:  # size the blocks: enough calls for ~block_seconds each
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        if time.perf_counter() - t0 > block_seconds / 4:
            break
        reps *= 4
    best = float("inf")
    for _ in range(blocks):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def step_gemms(sizes: list[int], m: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, A, B) for every product of one step, laid out as nnbp's rows-as-examples has them."""
    rng = np.random.default_rng(0)

    def r(*shape: int) -> np.ndarray:
        return rng.random(shape, dtype=np.float32)

    gemms = []
    a = [r(m, n) for n in sizes]  # activations, a[0] = x
    w = [r(n_out, n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)]
    for l, wl in enumerate(w):  # forward: z^(l+1) = a^l w^T, (m, n_in) @ (n_in, n_out)
        gemms.append((f"forward {l + 1}: ({m},{sizes[l]})@({sizes[l]},{sizes[l + 1]})", a[l], wl.T))
    for l in range(len(w) - 1, -1, -1):
        d = r(m, sizes[l + 1])  # delta of the layer w[l] feeds
        n_in, n_out = sizes[l], sizes[l + 1]
        gemms.append((f"BP4 {l + 1}: ({n_out},{m})@({m},{n_in})", d.T, a[l]))
        if l > 0:  # BP2 back into the hidden layer; none is needed for the input
            gemms.append((f"BP2 {l + 1}: ({m},{n_out})@({n_out},{n_in})", d, w[l]))
    return gemms


def floor(sizes: list[int], m: int, block: float, n_train: int) -> dict:
    steps = -(-n_train // m)
    rows = []
    for name, a, b in step_gemms(sizes, m):
        out = np.empty((a.shape[0], b.shape[1]), dtype=np.float32)
        t = best_time(lambda a=a, b=b, out=out: np.matmul(a, b, out=out), block)
        flops = 2 * a.shape[0] * a.shape[1] * b.shape[1]
        rows.append({"gemm": name, "seconds": t, "flops": flops, "gflops": flops / t / 1e9})
    x, y = np.random.default_rng(1).random((2, 10, 30), dtype=np.float32)
    out = np.empty_like(x)
    ufunc = best_time(lambda: np.multiply(x, y, out=out), block)
    gemm_epoch = steps * sum(r["seconds"] for r in rows)
    return {
        "steps": steps,
        "gemms": rows,
        "flops_per_epoch": steps * sum(r["flops"] for r in rows),
        "gemm_seconds": gemm_epoch,
        "ufunc_call_seconds": ufunc,
    }


def gemms(sizes: list[int], m: int, lib: str, threads: str, block: float, n_train: int) -> dict:
    """Seconds per call of each product of a step with ``lib``'s matrix product."""
    steps = -(-n_train // m)
    rows = []
    if lib == "torch":
        try:
            import torch
        except ImportError as e:
            return {"status": "missing", "error": f"torch not importable: {e}"}
        if threads != "default":
            torch.set_num_threads(int(threads))
        backend = {"torch_threads": torch.get_num_threads(), "pools": blas_pools()}
    else:
        backend = {"pools": blas_pools()}
    for name, a, b in step_gemms(sizes, m):
        out = np.empty((a.shape[0], b.shape[1]), dtype=np.float32)
        if lib == "torch":
            ta, tb, tout = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(out)
            t = best_time(lambda ta=ta, tb=tb, tout=tout: torch.mm(ta, tb, out=tout), block)
        else:
            t = best_time(lambda a=a, b=b, out=out: np.matmul(a, b, out=out), block)
        rows.append({"gemm": name, "seconds": t})
    epoch = steps * sum(r["seconds"] for r in rows)
    return {"status": "ok", "gemms": rows, "gemm_seconds": epoch, "backend": backend}


def evaluate(data_dir: Path) -> dict:
    from nnbp.network import Network

    x = np.load(data_dir / "test_x.npy")
    net = Network.create([784, 30, 10], np.random.default_rng(0), dtype="float32")
    net.feedforward(x).argmax(axis=1)  # warm-up
    times = []
    for _ in range(15):
        t0 = time.perf_counter()
        net.feedforward(x).argmax(axis=1)
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    return {"images": len(x), "seconds": median, "images_per_second": len(x) / median}


def weights(args: argparse.Namespace) -> dict:
    from peers import TRAINERS

    sizes = [int(n) for n in args.sizes.split(",")]
    x, labels = np.load(args.data / "train_x.npy"), np.load(args.data / "train_labels.npy")
    k = min(args.steps * args.m, len(labels))
    trainer = TRAINERS["nnbp-baseline"](sizes, args.m, 3.0, args.seed, dtype=args.dtype)
    with trainer.threads(None):
        trainer.epoch(trainer.data(x[:k], labels[:k]))
        backend = trainer.backend()
    np.savez(args.out, *trainer.parameters())
    return {"status": "ok", "steps": -(-k // args.m), "backend": backend}


def measure(args: argparse.Namespace) -> dict:
    """The measurement ``args.what`` asks for, with its status and the pools it ran with."""
    if args.what == "weights":  # sets its threads as nnbp ships
        return weights(args)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.what == "gemms":  # reports its own status: torch may be missing
        with _limits(args.threads):
            return gemms(sizes, args.m, args.lib, args.threads, args.block, args.n_train)
    with _limits(args.threads):
        what = args.what
        result = (
            floor(sizes, args.m, args.block, args.n_train)
            if what == "floor"
            else evaluate(args.data)
        )
        return {"status": "ok", **result, "backend": {"pools": blas_pools()}}


def _limits(threads: str) -> contextlib.AbstractContextManager:
    if threads == "default":
        return contextlib.nullcontext()
    return threadpool_limits(limits=int(threads))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=["floor", "gemms", "evaluate", "weights"])
    p.add_argument("--lib", choices=["numpy", "torch"], default="numpy", help="for gemms")
    p.add_argument("--sizes", default="784,30,10")
    p.add_argument("--m", type=int, default=10)
    p.add_argument("--threads", default="1", help="an integer, or 'default'")
    p.add_argument("--data", type=Path)
    p.add_argument("--block", type=float, default=0.04, help="seconds per timed block")
    p.add_argument("--n-train", type=int, default=50_000, help="images per epoch (floor, gemms)")
    p.add_argument("--steps", type=int, default=300, help="for weights")
    p.add_argument("--seed", type=int, default=0, help="for weights")
    p.add_argument("--dtype", default="float32", help="for weights")
    p.add_argument("--out", type=Path, help="for weights: the .npz file to write")
    args = p.parse_args()
    json.dump(measure(args), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
