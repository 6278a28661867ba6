"""`make bench`: nnbp's training speed against the reference, peers, the realistic floor
and a past revision of its own engine -> docs/BENCHMARKS.md.

    .venv/bin/python bench/run.py [--quick | --smoke] [--baseline REV] [--out PATH]
                                  [--rounds N] [--json RAW.json]

Every measurement runs in a fresh subprocess (bench/worker_train.py or
bench/worker_micro.py) that prints one JSON object, so each starts with clean imports
and its own thread settings. The data are loaded once, here (bench/mnist.py: MNIST
through ``nnbp.datasets.load``, pixels / 255 as float32; synthetic images with
--smoke), and handed to the workers as .npy files: every implementation trains on the
same numbers. Progress goes to stderr; the summary tables to stdout and the full report
to --out.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import cli_checks
import document
import engine
import mnist
import numpy as np
import report
from launch import REPO, log, run_worker
from peers import NEEDS
from settings import PEERS, SETTINGS


def save_data(dest: Path, kind: str) -> tuple[dict, tuple[np.ndarray, ...]]:
    """The data set as .npy files for the workers; its counts and first test image."""
    arrays = mnist.load() if kind == "mnist" else mnist.synthetic(2_000, 500)
    dest.mkdir(parents=True)
    for name, a in zip(("train_x", "train_labels", "test_x", "test_labels"), arrays, strict=True):
        np.save(dest / f"{name}.npy", a)
    return {"data": kind, "train": len(arrays[1]), "test": len(arrays[3])}, arrays[2:]


def plan_round(r: int, s: dict, baseline: dict | None) -> list[dict]:
    """One round: per network, the engine comparison's processes (with a baseline), then per
    thread setting nnbp and the peers in an order rotated from round to round, so no peer
    always runs right after nnbp."""
    k = (r - 1) % len(PEERS)
    peers = PEERS[k:] + PEERS[:k]
    items = []
    for sizes, m in s["configs"]:
        if baseline is not None:
            items += engine.plan(r, sizes, m, s)
        items += [
            {"set": "training", "sizes": sizes, "m": m, "impl": impl, "threads": threads}
            | ({"dtype": "float32"} if impl == "nnbp" else {})
            for threads in s["threads"]
            for impl in ["nnbp", *peers]
        ]
    return items


def train_args(item: dict, s: dict, data: Path) -> list[str]:
    how = s["reference"] if item.get("impl") == "reference" else s["train"]
    worker_impl = item.get("impl") or {"new": "nnbp", "old": "nnbp-baseline"}[item["side"]]
    args = ["--impl", worker_impl, "--sizes", ",".join(map(str, item["sizes"]))]
    args += ["--m", str(item["m"]), "--threads", item["threads"], "--data", str(data)]
    args += ["--dtype", item.get("dtype", "float32")]
    for key in ("epochs", "warmup", "examples", "budget"):
        args += [f"--{key}", str(how[key])]
    return args


def measure(item: dict, s: dict, data: Path, baseline: dict | None, missing: dict) -> dict:
    """One training process for a planned item: its record."""
    rec = {**item, "sizes": list(item["sizes"]), "load": os.getloadavg()[0]}
    if item["set"] == "engine":
        rec["impl"] = "nnbp" if item["side"] == engine.NEW else baseline["label"]
    if rec["impl"] in missing:
        return {**rec, "status": "missing", "error": missing[rec["impl"]]}
    t0 = time.perf_counter()
    side = item.get("side")
    path = engine.source(side, baseline) if side else None
    res = run_worker("worker_train.py", train_args(item, s, data), path)
    if side:
        res = engine.check_source(res, side, baseline)
    else:  # where the checkout's nnbp lives is no result
        res.get("backend", {}).pop("nnbp", None)
    res["wall"] = time.perf_counter() - t0
    if res["status"] == "missing":
        missing[rec["impl"]] = res["error"]
    return {**rec, **res}


def micro_round(r: int, s: dict, data: Path, n_train: int, missing: dict) -> tuple[list, ...]:
    """The floor of each network, the GEMM-bound step's products per library and thread
    setting, and nnbp's evaluation speed: one measurement each, this round's records."""
    floors, libs, evals = [], [], []
    block = ["--block", str(s["block"]), "--n-train", str(n_train)]
    for sizes, m in s["configs"]:
        args = ["floor", "--sizes", ",".join(map(str, sizes)), "--m", str(m), *block]
        floors.append(
            {"round": r, "sizes": list(sizes), "m": m, **run_worker("worker_micro.py", args)}
        )
    sizes, m = s["gemm_bound"]
    for lib in ("numpy", "torch"):
        for threads in s["threads"]:
            args = ["gemms", "--lib", lib, "--threads", threads, "--m", str(m), *block]
            args += ["--sizes", ",".join(map(str, sizes))]
            skip = lib == "torch" and "torch-manual" in missing
            res = {"status": "missing"} if skip else run_worker("worker_micro.py", args)
            libs.append({"round": r, "lib": lib, "threads": threads, **res})
    for threads in s["threads"]:
        res = run_worker("worker_micro.py", ["evaluate", "--data", str(data), "--threads", threads])
        evals.append({"round": r, "threads": threads, **res})
    return floors, libs, evals


def shown(rec: dict) -> str:
    if rec["status"] == "ok":
        return f"{statistics.median(rec['seconds']):.3f} s/epoch"
    return f"{rec['status']}: {rec.get('error', '')}"


def run_rounds(s: dict, data: Path, n_train: int, rounds: int, baseline: dict | None) -> dict:
    """Every round's measurements: training, engine, floor, GEMM-library and evaluate records."""
    out: dict[str, list] = {k: [] for k in ("training", "engine", "floors", "gemm_libraries")}
    out["evaluate"], out["engine_paired"] = [], []
    missing = {
        impl: f"{pkg} not importable"
        for impl, pkg in NEEDS.items()
        if importlib.util.find_spec(pkg) is None
    }
    plans = [plan_round(r, s, baseline) for r in range(1, rounds + 1)]
    total, done = sum(map(len, plans)), 0
    for r, items in enumerate(plans, start=1):
        for key, recs in zip(
            ("floors", "gemm_libraries", "evaluate"),
            micro_round(r, s, data, n_train, missing),
            strict=True,
        ):
            out[key] += recs
        for item in items:
            done += 1
            rec = measure(item, s, data, baseline, missing)
            out[rec["set"]].append({"round": r, "seq": done, **rec})
            what = " ".join(
                filter(None, [rec["impl"], rec.get("dtype"), f"threads={rec['threads']}"])
            )
            log(f"[{done}/{total}] round {r} {rec['sizes']} m={rec['m']} {what}: {shown(rec)}")
        if baseline is not None:
            for rec in engine.paired(s, data, baseline, r):
                out["engine_paired"].append(rec)
                log(f"round {r} {rec['sizes']} m={rec['m']} engines paired: {paired_text(rec)}")
    return out


def paired_text(rec: dict) -> str:
    if rec["status"] != "ok":
        return f"{rec['status']}: {rec.get('error', '')}"
    return f"new/old {statistics.median(rec['ratios']):.3f} over {len(rec['ratios'])} quadruples"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="one short round on MNIST")
    mode.add_argument("--smoke", action="store_true", help="seconds: synthetic data, tiny network")
    p.add_argument("--baseline", metavar="REV", help="also time nnbp/ at this git revision")
    p.add_argument("--out", type=Path, default=Path("docs/BENCHMARKS.md"), help="report file")
    p.add_argument("--rounds", type=int, help="rounds of measurements [the mode's]")
    p.add_argument("--json", type=Path, help="also write every raw record to this JSON file")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    out = args.out.resolve()
    raw_out = args.json.resolve() if args.json else None
    os.chdir(REPO)  # data/ is found relative to the repository
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    s = SETTINGS[mode]
    rounds = args.rounds or s["rounds"]
    started = time.perf_counter()
    machine = report.machine_info(REPO)
    log(f"bench ({mode}, {rounds} round(s)) on {machine['cpu']}, load {machine['load_start']}")
    with tempfile.TemporaryDirectory(prefix="nnbp-bench-") as tmp:
        tmp_path = Path(tmp)
        baseline = engine.extract(args.baseline, tmp_path / "baseline") if args.baseline else None
        if baseline is not None:
            log(f"baseline {args.baseline}: {baseline.get('label') or baseline['error']}")
        ok_baseline = baseline if baseline and baseline["status"] == "ok" else None
        log(f"loading the data ({s['data']}) ...")
        counts, (test_x, test_labels) = save_data(tmp_path / "data", s["data"])
        results = run_rounds(s, tmp_path / "data", counts["train"], rounds, ok_baseline)
        if ok_baseline is not None:
            log("engine weights: both engines, same seed, same steps ...")
            results["engine_weights"] = engine.compare_weights(
                s, tmp_path / "data", ok_baseline, tmp_path
            )
        if s["cli_repeats"]:
            log("command-line checks: train (peak RSS), evaluate, predict ...")
            cli = cli_checks.run_all(REPO, tmp_path / "cli", test_x[0], int(test_labels[0]), s)
        else:
            cli = {"status": "skipped", "error": f"not run with --{mode}"}
    machine["load_end"] = report.loadavg()
    if baseline is not None:
        baseline.pop("root", None)
        baseline.pop("paired", None)
    results.update(mode=mode, rounds=rounds, settings=s, machine=machine, counts=counts)
    results.update(baseline=baseline, cli=cli, wall_seconds=time.perf_counter() - started)
    text, summary = document.render(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    if raw_out is not None:
        raw_out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(summary)
    log(f"wrote {out} in {results['wall_seconds'] / 60:.1f} min")


if __name__ == "__main__":
    main()
