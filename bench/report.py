"""From bench/run.py's raw records to the figures of docs/BENCHMARKS.md: machine, cells,
floors, the engine comparison.

Each training record holds the per-epoch seconds of one worker process; its median is
that process's value, and a table cell is the median of those values over the rounds.
"nnbp" in a ratio is nnbp as shipped (its own thread choice, as `nnbp train` runs); the
ratio with nnbp's better thread setting is shown beside it. A peer's value is the better
(lower) of its 1-thread and default-thread cells.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

IMPLS = ["nnbp", "torch-manual", "torch-idiomatic", "sklearn", "reference"]
PEERS = IMPLS[1:]
CALLS_PER_STEP = 23  # the fewest NumPy calls one mini-batch step of [784, h, 10] can make


def loadavg() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else "?"


def machine_info(repo: Path) -> dict[str, Any]:
    """CPU, Python, NumPy and its BLAS (as this process sees it), peer versions, git state."""
    import numpy as np
    from threadpoolctl import threadpool_info

    cpu, cores, flags = "unknown", "?", set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key == "model name" and cpu == "unknown":
                cpu = value
            elif key == "cpu cores" and cores == "?":
                cores = value
            elif key == "flags" and not flags:
                flags = set(value.split())
    blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    dirty = _git(repo, "status", "--porcelain", "--", "nnbp")
    return {
        "cpu": cpu,
        "simd": [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if f in flags],
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cores_per_socket": cores,
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "numpy": np.__version__,
        "numpy_blas": [_pool_text(p) for p in blas],
        "blas_kernel": sorted({f"{p.get('internal_api')} {p.get('architecture')}" for p in blas}),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "unset"),
        "versions": {
            pkg: _version(pkg) for pkg in ("nnbp", "torch", "scikit-learn", "threadpoolctl")
        },
        "git": _git(repo, "rev-parse", "--short", "HEAD")
        + (" + uncommitted changes in nnbp/" if dirty else ""),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_start": loadavg(),
    }


def _pool_text(p: dict[str, Any]) -> str:
    arch = p.get("architecture") or "?"
    return f"{p.get('internal_api')} {p.get('version') or ''} {arch}, {p.get('num_threads')} thr"


def backend_text(backend: dict[str, Any] | None) -> str:
    """The thread pools a worker ran with, in a few words."""
    if not backend:
        return ""
    if "torch_threads" in backend:
        return (
            f"torch {backend['torch_blas']} {backend['cpu_capability']},"
            f" {backend['torch_threads']} thr"
        )
    blas = [p for p in backend.get("pools", []) if p.get("user_api") == "blas"]
    return "; ".join(sorted({_pool_text(p) for p in blas}))


# --- aggregation -------------------------------------------------------------------------


def cells(training: list[dict]) -> dict[tuple, dict[str, Any]]:
    """(sizes, m, impl, threads) -> median over rounds, range, status, accuracy, backend."""
    groups: dict[tuple, list[dict]] = {}
    for rec in training:
        key = (tuple(rec["sizes"]), rec["m"], rec["impl"], rec["threads"])
        groups.setdefault(key, []).append(rec)
    out = {}
    for key, recs in groups.items():
        ok = [r for r in recs if r["status"] == "ok"]
        if not ok:
            status = "missing" if all(r["status"] == "missing" for r in recs) else "error"
            out[key] = {"status": status, "error": recs[0].get("error", "")}
            continue
        values = [statistics.median(r["seconds"]) for r in ok]
        out[key] = {
            "status": "ok",
            "median": statistics.median(values),
            "min": min(values),
            "max": max(values),
            "rounds": len(values),
            "fraction": any(r["examples"] < r["n_train"] for r in ok),
            "accuracy": statistics.median(r["test_accuracy"] for r in ok),
            "backend": backend_text(ok[-1]["backend"]),
        }
    return out


def better(c: dict, sizes: tuple, m: int, impl: str) -> tuple[float, str] | None:
    """The lower of an implementation's two thread settings: (seconds, threads)."""
    options = [
        (c[(sizes, m, impl, t)]["median"], t)
        for t in ("1", "default")
        if c.get((sizes, m, impl, t), {}).get("status") == "ok"
    ]
    return min(options) if options else None


def shipped(c: dict, sizes: tuple, m: int) -> float | None:
    cell = c.get((sizes, m, "nnbp", "default"), {})
    return cell["median"] if cell.get("status") == "ok" else None


def floors(records: list[dict]) -> dict[tuple, dict[str, Any]]:
    """Per config: the fastest GEMM set and the cheapest ufunc call over the rounds, the floor."""
    groups: dict[tuple, list[dict]] = {}
    for rec in records:
        if rec["status"] == "ok":
            groups.setdefault((tuple(rec["sizes"]), rec["m"]), []).append(rec)
    out = {}
    for key, recs in groups.items():
        f = dict(min(recs, key=lambda r: r["gemm_seconds"]))
        f["ufunc_call_seconds"] = min(r["ufunc_call_seconds"] for r in recs)
        f["overhead_seconds"] = CALLS_PER_STEP * f["ufunc_call_seconds"] * f["steps"]
        f["floor_seconds"] = f["gemm_seconds"] + f["overhead_seconds"]
        out[key] = f
    return out


def gemm_libraries(records: list[dict]) -> dict[tuple[str, str], dict[str, Any]]:
    """(lib, threads) -> fastest time per product over the rounds, or the failure."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in records:
        key = (rec["lib"], rec["threads"])
        if rec["status"] != "ok":
            out.setdefault(key, rec)
            continue
        best = out.get(key)
        if best is None or best["status"] != "ok":
            out[key] = {"status": "ok", "gemms": {g["gemm"]: g["seconds"] for g in rec["gemms"]}}
        else:
            for g in rec["gemms"]:
                best["gemms"][g["gemm"]] = min(best["gemms"][g["gemm"]], g["seconds"])
    return out


def evaluate_rates(records: list[dict]) -> dict[str, float]:
    """threads -> median images/s over the rounds."""
    rates: dict[str, list[float]] = {}
    for rec in records:
        if rec["status"] == "ok":
            rates.setdefault(rec["threads"], []).append(rec["images_per_second"])
    return {t: statistics.median(v) for t, v in rates.items()}


# --- the engine against a past revision -------------------------------------------------


def spread(values: list[float]) -> dict[str, float]:
    """Median, range and interquartile range (inclusive quartiles) of some values."""
    q1, q3 = (values[0], values[0]) if len(values) < 2 else _quartiles(values)
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "q1": q1,
        "q3": q3,
        "n": len(values),
    }


def _quartiles(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def engine_summary(records: list[dict], label: str) -> dict[tuple, dict[str, Any]]:
    """(sizes, m, dtype) -> seconds per epoch of each engine (over its processes) and the
    new/old ratio over rounds (each round's mean of new processes / mean of old ones)."""
    groups: dict[tuple, dict[int, dict[str, list[float]]]] = {}
    threads: dict[tuple, set[int]] = {}  # BLAS threads in effect while timing
    for rec in records:
        if rec["status"] != "ok":
            continue
        key = (tuple(rec["sizes"]), rec["m"], rec["dtype"])
        per_round = groups.setdefault(key, {}).setdefault(rec["round"], {"new": [], "old": []})
        side = "new" if rec["impl"] == "nnbp" else "old"
        per_round[side].append(statistics.median(rec["seconds"]))
        pools = rec["backend"]["pools"]
        threads.setdefault(key, set()).update(
            p["num_threads"] for p in pools if p.get("user_api") == "blas"
        )
    out = {}
    for key, rounds in groups.items():
        new = [v for r in rounds.values() for v in r["new"]]
        old = [v for r in rounds.values() for v in r["old"]]
        ratios = [
            statistics.fmean(r["new"]) / statistics.fmean(r["old"])
            for r in rounds.values()
            if r["new"] and r["old"]
        ]
        out[key] = {
            "new": spread(new) if new else None,
            "old": spread(old) if old else None,
            "ratio": spread(ratios) if ratios else None,
            "threads": sorted(threads[key]),
            "label": label,
        }
    return out


def paired_summary(records: list[dict]) -> dict[tuple, dict[str, Any]]:
    """(sizes, m, dtype) -> the in-process comparison: every ABBA quadruple's new/old ratio
    pooled over rounds, and each engine's seconds per epoch."""
    out: dict[tuple, dict[str, list]] = {}
    for rec in records:
        if rec["status"] != "ok":
            continue
        e = out.setdefault(
            (tuple(rec["sizes"]), rec["m"], rec["dtype"]), {"r": [], "n": [], "o": []}
        )
        e["r"] += rec["ratios"]
        e["n"] += rec["seconds"]["new"]
        e["o"] += rec["seconds"]["old"]
    return {
        k: {"ratio": spread(e["r"]), "new": spread(e["n"]), "old": spread(e["o"])}
        for k, e in out.items()
    }
