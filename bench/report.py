"""From bench/run.py's raw records to the figures of docs/BENCHMARKS.md: machine, cells,
floors, targets (the engine comparison's are in bench/report_engine.py).

Each training record holds the per-epoch seconds of one worker process; its median is
that process's value. A cell (implementation, kernel, network, thread setting) has two
figures: the median of those values over the rounds, and the fastest single epoch of
any round. "nnbp as shipped" is nnbp's own thread choice, as `nnbp train` runs; a
peer's value is its better (lower median) thread setting. Floors are the fastest over
the rounds, per kernel and thread count.
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

from settings import KERNELS, TARGETS

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
        # the default kernel inherits these; the report says whether they were set
        "kernel_env": {
            k: os.environ.get(k) for k in sorted({k for env in KERNELS.values() for k in env})
        },
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

THREADS = ("1", "2", "default")  # every thread setting a cell can have, in table order


def cell_key(rec: dict) -> tuple:
    """(sizes, m, impl, kernel, threads) of a training record."""
    return (
        tuple(rec["sizes"]),
        rec["m"],
        rec["impl"],
        rec.get("kernel", "default"),
        rec["threads"],
    )


def cells(training: list[dict]) -> dict[tuple, dict[str, Any]]:
    """(sizes, m, impl, kernel, threads) -> the median over rounds of each process's median
    epoch, the fastest epoch of all rounds, the status, accuracy and pools in effect."""
    groups: dict[tuple, list[dict]] = {}
    for rec in training:
        groups.setdefault(cell_key(rec), []).append(rec)
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
            "fastest": min(min(r["seconds"]) for r in ok),
            "rounds": len(values),
            "fraction": any(r["examples"] < r["n_train"] for r in ok),
            "accuracy": statistics.median(r["test_accuracy"] for r in ok),
            "backend": backend_text(ok[-1]["backend"]),
        }
    return out


def _ok(c: dict, sizes: tuple, m: int, impl: str, kernel: str) -> dict[str, dict]:
    """threads -> cell, for the cells of one implementation and kernel that were timed."""
    cs = {t: c.get((sizes, m, impl, kernel, t), {}) for t in THREADS}
    return {t: cell for t, cell in cs.items() if cell.get("status") == "ok"}


def better(c: dict, sizes: tuple, m: int, impl: str, kernel: str) -> tuple[float, str] | None:
    """The thread setting with the lowest median: (seconds, threads)."""
    options = [(cell["median"], t) for t, cell in _ok(c, sizes, m, impl, kernel).items()]
    return min(options) if options else None


def fastest(c: dict, sizes: tuple, m: int, impl: str, kernel: str) -> float | None:
    """The fastest epoch of any thread setting and round."""
    options = [cell["fastest"] for cell in _ok(c, sizes, m, impl, kernel).values()]
    return min(options) if options else None


def at(c: dict, sizes: tuple, m: int, kernel: str, threads: str = "default") -> float | None:
    """nnbp's median at a thread setting; "default" is nnbp as shipped."""
    cell = c.get((sizes, m, "nnbp", kernel, threads), {})
    return cell["median"] if cell.get("status") == "ok" else None


def floors(records: list[dict]) -> dict[tuple, dict[str, Any]]:
    """(sizes, m, kernel, threads) -> the fastest GEMM set and the cheapest ufunc call over
    the rounds, and the realistic floor they make."""
    groups: dict[tuple, list[dict]] = {}
    for rec in records:
        if rec["status"] == "ok":
            key = (tuple(rec["sizes"]), rec["m"], rec.get("kernel", "default"), rec["threads"])
            groups.setdefault(key, []).append(rec)
    out = {}
    for key, recs in groups.items():
        f = dict(min(recs, key=lambda r: r["gemm_seconds"]))
        f["ufunc_call_seconds"] = min(r["ufunc_call_seconds"] for r in recs)
        f["overhead_seconds"] = CALLS_PER_STEP * f["ufunc_call_seconds"] * f["steps"]
        f["floor_seconds"] = f["gemm_seconds"] + f["overhead_seconds"]
        out[key] = f
    return out


def targets(c: dict, fl: dict, configs: list, kernels: list[str], s: dict) -> list[dict]:
    """Per kernel and network: (value, limit) of nnbp as shipped ÷ torch-manual's better
    setting, and of nnbp at each floor thread count ÷ the realistic floor at that count."""
    rows = []
    for kernel in kernels:
        for sizes, m in configs:
            nn, tm = at(c, sizes, m, kernel), better(c, sizes, m, "torch-manual", kernel)
            limit = TARGETS["torch_m10"] if m == 10 else TARGETS["torch"]
            row = {"sizes": sizes, "m": m, "kernel": kernel}
            row["torch"] = (nn / tm[0] if nn and tm else None, limit)
            for t in s["floor_threads"]:
                nt, f = at(c, sizes, m, kernel, t), fl.get((sizes, m, kernel, t))
                row[f"floor {t}"] = (
                    nt / f["floor_seconds"] if nt and f else None,
                    TARGETS["floor"],
                )
            rows.append(row)
    return rows


def gemm_libraries(records: list[dict]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(lib, threads, kernel) -> fastest time per product over the rounds, or the failure."""
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for rec in records:
        key = (rec["lib"], rec["threads"], rec.get("kernel", "default"))
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


def evaluate_rates(records: list[dict]) -> dict[tuple[str, str], float]:
    """(kernel, threads) -> median images/s over the rounds."""
    rates: dict[tuple[str, str], list[float]] = {}
    for rec in records:
        if rec["status"] == "ok":
            key = (rec.get("kernel", "default"), rec["threads"])
            rates.setdefault(key, []).append(rec["images_per_second"])
    return {k: statistics.median(v) for k, v in rates.items()}


def kernels_ran(records: list[dict]) -> dict[str, list[str]]:
    """kernel -> the BLAS kernels (threadpoolctl's OpenBLAS architecture, torch's MKL and
    CPU capability) its workers reported while timing."""
    seen: dict[str, set[str]] = {}
    for rec in records:
        backend = rec.get("backend")
        if rec.get("status") != "ok" or not backend:
            continue
        names = seen.setdefault(rec.get("kernel", "default"), set())
        names.update(
            f"{p.get('internal_api')} {p.get('architecture')}"
            for p in backend.get("pools", [])
            if p.get("user_api") == "blas"
        )
        if "torch_threads" in backend:
            names.add(f"torch {backend['torch_blas']}, ATen {backend['cpu_capability']}")
    return {k: sorted(v) for k, v in seen.items()}
