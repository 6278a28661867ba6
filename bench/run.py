"""`make bench`: nnbp's training speed against the reference and peers -> docs/BENCHMARKS.md.

    .venv/bin/python bench/run.py [--quick] [--out PATH] [--rounds N] [--json RAW.json]

Every measurement runs in a fresh subprocess (bench/worker_train.py or
bench/worker_micro.py) that prints one JSON object, so each starts with clean imports
and its own thread settings. The data are loaded once, here, through nnbp
(configs/mnist.yaml, float32), and handed to the workers as .npy files: every
implementation trains on the same numbers. Progress goes to stderr; the summary
tables to stdout and the full report to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cli_checks
import document
import report
from report import CONFIGS

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PEERS = ["reference", "torch-manual", "torch-idiomatic", "sklearn"]
THREADS = ["1", "default"]
WORKER_TIMEOUT = 600  # seconds; a hung worker becomes an "error" cell, not a hung bench

# How much each measurement does. "warmup" and "examples" count images (50,000 = one
# epoch); the per-example reference times a random subset and scales it to an epoch.
# "budget" caps the seconds of timed passes per process (see worker_train.py).
SETTINGS = {
    "full": {
        "rounds": 3,
        "train": {"epochs": 3, "warmup": 10_000, "examples": 50_000, "budget": 6.0},
        "reference": {"epochs": 2, "warmup": 1_000, "examples": 10_000, "budget": 6.0},
        "cli_repeats": 5,
    },
    "quick": {
        "rounds": 1,
        "train": {"epochs": 1, "warmup": 2_000, "examples": 50_000, "budget": 1.0},
        "reference": {"epochs": 1, "warmup": 500, "examples": 2_000, "budget": 1.0},
        "cli_repeats": 3,
    },
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_worker(script: str, args: list[str]) -> dict:
    """Run bench/<script> in a fresh interpreter; its JSON, or {"status": "error", ...}."""
    cmd = [sys.executable, str(BENCH / script), *args]
    try:
        proc = subprocess.run(
            cmd, cwd=REPO, capture_output=True, text=True, timeout=WORKER_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return {"status": "error", "error": f"timed out after {WORKER_TIMEOUT} s"}
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"]
        return {"status": "error", "error": lines[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def save_data(dest: Path) -> dict:
    """Load MNIST the nnbp way and write it as .npy files for the workers."""
    import numpy as np

    from nnbp import config, data

    cfg = config.load("configs/mnist.yaml", ["training.dtype=float32"])
    splits = data.load_splits(cfg)
    for name, split in (("train", splits.train), ("test", splits.test)):
        np.save(dest / f"{name}_x.npy", split.x)
        np.save(dest / f"{name}_labels.npy", split.labels)
    return {"train": len(splits.train), "test": len(splits.test), "test_split": splits.test}


def plan_round(r: int) -> list[tuple[tuple[int, ...], int, str, str]]:
    """One round: per config and thread setting, nnbp first, then the peers in an order
    rotated from round to round, so no peer always runs right after nnbp."""
    k = r % len(PEERS)
    peers = PEERS[k:] + PEERS[:k]
    return [
        (sizes, m, impl, threads)
        for sizes, m in CONFIGS
        for threads in THREADS
        for impl in ["nnbp", *peers]
    ]


def train_args(sizes: tuple[int, ...], m: int, impl: str, threads: str, s: dict, data: Path):
    how = s["reference"] if impl == "reference" else s["train"]
    args = ["--impl", impl, "--sizes", ",".join(map(str, sizes)), "--m", str(m)]
    args += ["--threads", threads, "--data", str(data)]
    for key in ("epochs", "warmup", "examples", "budget"):
        args += [f"--{key}", str(how[key])]
    return args


def run_rounds(s: dict, data: Path, rounds: int) -> tuple[list[dict], ...]:
    """Training, floor, GEMM-library and evaluate measurements, all rounds; their records."""
    training, floors, libs, evals = [], [], [], []
    missing: dict[str, str] = {}
    total = rounds * len(plan_round(0))
    done = 0
    for r in range(1, rounds + 1):
        for sizes, m in CONFIGS:
            res = run_worker(
                "worker_micro.py", ["floor", "--sizes", ",".join(map(str, sizes)), "--m", str(m)]
            )
            floors.append({"round": r, "sizes": list(sizes), "m": m, **res})
        sizes, m = report.GEMM_BOUND
        for lib in ("numpy", "torch"):
            for threads in THREADS:
                args = ["gemms", "--lib", lib, "--threads", threads, "--m", str(m)]
                res = run_worker("worker_micro.py", [*args, "--sizes", ",".join(map(str, sizes))])
                libs.append({"round": r, "lib": lib, "threads": threads, **res})
        for threads in THREADS:
            res = run_worker(
                "worker_micro.py", ["evaluate", "--data", str(data), "--threads", threads]
            )
            evals.append({"round": r, "threads": threads, **res})
        for sizes, m, impl, threads in plan_round(r - 1):
            done += 1
            load = os.getloadavg()[0]
            if impl in missing:
                res = {"status": "missing", "error": missing[impl]}
            else:
                t0 = time.perf_counter()
                res = run_worker("worker_train.py", train_args(sizes, m, impl, threads, s, data))
                res["wall"] = time.perf_counter() - t0
            if res["status"] == "missing":
                missing[impl] = res["error"]
            rec = {"round": r, "sizes": list(sizes), "m": m, "impl": impl, "threads": threads}
            training.append({**rec, "load": load, **res})
            shown = (
                f"{statistics.median(res['seconds']):.3f} s/epoch"
                if res["status"] == "ok"
                else f"{res['status']}: {res.get('error', '')}"
            )
            log(
                f"[{done}/{total}] round {r} {list(sizes)} m={m} {impl} threads={threads}:"
                f" {shown} (load {load:.1f})"
            )
    return training, floors, libs, evals


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one short round: a smoke check")
    p.add_argument("--out", type=Path, default=Path("docs/BENCHMARKS.md"), help="report file")
    p.add_argument("--rounds", type=int, help="rounds of measurements [3; 1 with --quick]")
    p.add_argument("--json", type=Path, help="also write every raw record to this JSON file")
    args = p.parse_args()
    out = args.out.resolve()
    raw_out = args.json.resolve() if args.json else None
    os.chdir(REPO)  # configs/ and data/ are found relative to the repository
    mode = "quick" if args.quick else "full"
    s = SETTINGS[mode]
    rounds = args.rounds or s["rounds"]
    started = time.perf_counter()
    machine = report.machine_info(REPO)
    log(f"bench ({mode}, {rounds} round(s)) on {machine['cpu']}, load {machine['load_start']}")
    with tempfile.TemporaryDirectory(prefix="nnbp-bench-") as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "data").mkdir()
        log("loading MNIST through nnbp ...")
        counts = save_data(tmp_path / "data")
        training, floors, libs, evals = run_rounds(s, tmp_path / "data", rounds)
        log("command-line checks: train (peak RSS), evaluate, predict ...")
        cli = cli_checks.run_all(REPO, tmp_path / "cli", counts.pop("test_split"), s)
    machine["load_end"] = report.loadavg()
    results = {
        "mode": mode,
        "rounds": rounds,
        "settings": s,
        "machine": machine,
        "counts": counts,
        "training": training,
        "floors": floors,
        "gemm_libraries": libs,
        "evaluate": evals,
        "cli": cli,
        "wall_seconds": time.perf_counter() - started,
    }
    text, summary = document.render(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    if raw_out is not None:
        raw_out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(summary)
    log(f"wrote {out} in {results['wall_seconds'] / 60:.1f} min")


if __name__ == "__main__":
    main()
