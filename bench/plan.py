"""The order of every round's measurements, and how long a run of them will take.

A round is a list of items, each one process: per network, the engine comparison's
processes (with a baseline), the network's floor, then its training processes; after
all networks, the GEMM-library and evaluation micro-measurements. Within a network the
two BLAS kernels are interleaved measurement by measurement (nnbp at 1 thread under one
kernel, then under the other, ...), the kernel that goes first alternating from round to
round, and the peers' order rotates from round to round, so that a drift of the
machine's speed weighs on every kernel and implementation alike.
"""

from __future__ import annotations

from typing import Any

import engine
from settings import KERNEL_IMPLS, PEERS

Item = dict[str, Any]


def kernel_order(r: int, kernels: list[str]) -> list[str]:
    """The kernels in round r's order: as given in odd rounds, reversed in even ones."""
    return list(kernels) if r % 2 else list(kernels)[::-1]


def impl_kernels(impl: str, order: list[str]) -> list[str]:
    """The kernels an implementation runs under: all for nnbp and torch-manual, whose
    figures are compared kernel by kernel; the default one for the other peers."""
    return order if impl in KERNEL_IMPLS else ["default"]


def network_items(r: int, sizes: tuple, m: int, s: dict, order: list[str]) -> list[Item]:
    """One network's floor processes (per thread count and kernel), then its training
    processes: per thread setting, nnbp and the peers in an order rotated from round to
    round (so no peer always runs right after nnbp), each under its kernels in turn."""
    k = (r - 1) % len(PEERS)
    impls = ["nnbp", *PEERS[k:], *PEERS[:k]]
    net = {"sizes": sizes, "m": m}
    items = [
        {"set": "floors", **net, "threads": t, "kernel": kern}
        for t in s["floor_threads"]
        for kern in order
    ]
    for threads in dict.fromkeys(s["nnbp_threads"] + s["threads"]):  # union, in order
        for impl in impls:
            if threads not in (s["nnbp_threads"] if impl == "nnbp" else s["threads"]):
                continue
            dtype = {"dtype": "float32"} if impl == "nnbp" else {}
            items += [
                {"set": "training", **net, "impl": impl, "threads": threads, "kernel": kern} | dtype
                for kern in impl_kernels(impl, order)
            ]
    return items


def micro_items(s: dict, order: list[str]) -> list[Item]:
    """The GEMM-bound step's products per library, thread setting and kernel, and nnbp's
    evaluation speed per thread setting and kernel."""
    libs = [
        {"set": "gemm_libraries", "lib": lib, "threads": t, "kernel": kern}
        for lib in ("numpy", "torch")
        for t in s["threads"]
        for kern in order
    ]
    evals = [
        {"set": "evaluate", "threads": t, "kernel": kern} for t in s["threads"] for kern in order
    ]
    return libs + evals


def plan_round(r: int, s: dict, kernels: list[str], baseline: dict | None) -> list[Item]:
    """Round r: per network its engine processes (with a baseline, default kernel), floor
    and training processes, then the micro-measurements."""
    order = kernel_order(r, kernels)
    items = []
    for sizes, m in s["configs"]:
        if baseline is not None:
            items += [{**e, "kernel": "default"} for e in engine.plan(r, sizes, m, s)]
        items += network_items(r, sizes, m, s, order)
    return items + micro_items(s, order)


def estimate(plans: list[list[Item]], s: dict, baseline: dict | None) -> tuple[dict, float]:
    """The processes of each kind the run will start, and its expected seconds: each kind's
    typical wall seconds per process (settings "estimate") times their number, with the
    engine's in-process pairs and weight checks (with a baseline) and the command-line
    checks."""
    counts: dict[str, int] = {}
    for items in plans:
        for item in items:
            kind = "micro" if item["set"] in ("gemm_libraries", "evaluate") else item["set"]
            counts[kind] = counts.get(kind, 0) + 1
    if baseline is not None:
        counts["paired"] = len(plans) * len(s["engine"]["configs"])
        counts["weights"] = 2 * (len(s["engine"]["configs"]) + len(s["engine"]["float64"]))
    per = s["estimate"]
    seconds = sum(n * per[kind] for kind, n in counts.items())
    return counts, seconds + per.get("cli", 0) * bool(s["cli_repeats"])
