"""`make bench`: nnbp's training speed against the reference, peers, the realistic floor
and a past revision of its own engine -> docs/BENCHMARKS.md.

    .venv/bin/python bench/run.py [--quick | --smoke] [--baseline REV] [--out PATH]
                                  [--rounds N] [--kernels default,avx2] [--json RAW.json]

Every measurement runs in a fresh subprocess (bench/worker_train.py or
bench/worker_micro.py) that prints one JSON object, so each starts with clean imports
and its own thread settings. The data are loaded once, here (bench/mnist.py: MNIST
through ``nnbp.datasets.load``, pixels / 255 as float32; synthetic images with
--smoke), and handed to the workers as .npy files: every implementation trains on the
same numbers. nnbp and torch-manual are measured under each BLAS kernel of --kernels
(settings.KERNELS: "default", the environment as it is, and "avx2"), the other peers
under the default one; bench/plan.py orders a round. Progress goes to stderr; the
summary tables to stdout and the full report to --out. ``--baseline ''`` (empty, as
`make bench` passes by default) times no past revision.
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
import plan
import report
from launch import REPO, log, run_worker
from peers import NEEDS
from settings import KERNELS, SETTINGS


def save_data(dest: Path, kind: str) -> tuple[dict, tuple[np.ndarray, ...]]:
    """The data set as .npy files for the workers; its counts and first test image."""
    arrays = mnist.load() if kind == "mnist" else mnist.synthetic(2_000, 500)
    dest.mkdir(parents=True)
    for name, a in zip(("train_x", "train_labels", "test_x", "test_labels"), arrays, strict=True):
        np.save(dest / f"{name}.npy", a)
    return {"data": kind, "train": len(arrays[1]), "test": len(arrays[3])}, arrays[2:]


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
    """One training process for a planned item, under its kernel: its record."""
    rec = {**item, "sizes": list(item["sizes"]), "load": os.getloadavg()[0]}
    if item["set"] == "engine":
        rec["impl"] = "nnbp" if item["side"] == engine.NEW else baseline["label"]
    if rec["impl"] in missing:
        return {**rec, "status": "missing", "error": missing[rec["impl"]]}
    t0 = time.perf_counter()
    side = item.get("side")
    path = engine.source(side, baseline) if side else None
    env = KERNELS[item["kernel"]]
    res = run_worker("worker_train.py", train_args(item, s, data), path, env)
    if side:
        res = engine.check_source(res, side, baseline)
    else:  # where the checkout's nnbp lives is no result
        res.get("backend", {}).pop("nnbp", None)
    res["wall"] = time.perf_counter() - t0
    if res["status"] == "missing":
        missing[rec["impl"]] = res["error"]
    return {**rec, **res}


def micro_args(item: dict, s: dict, data: Path, n_train: int) -> list[str]:
    """worker_micro.py's arguments for a floor, GEMM-library or evaluation item."""
    if item["set"] == "evaluate":
        return ["evaluate", "--data", str(data), "--threads", item["threads"]]
    sizes, m = (item["sizes"], item["m"]) if item["set"] == "floors" else s["gemm_bound"]
    args = ["floor" if item["set"] == "floors" else "gemms", "--threads", item["threads"]]
    args += ["--sizes", ",".join(map(str, sizes)), "--m", str(m)]
    args += ["--block", str(s["block"]), "--n-train", str(n_train)]
    return args + (["--lib", item["lib"]] if "lib" in item else [])


def measure_micro(item: dict, s: dict, data: Path, n_train: int, missing: dict) -> dict:
    """One micro-measurement process under the item's kernel: its record."""
    rec = {k: list(v) if k == "sizes" else v for k, v in item.items()}
    if item.get("lib") == "torch" and "torch-manual" in missing:
        return {**rec, "status": "missing", "error": missing["torch-manual"]}
    res = run_worker(
        "worker_micro.py", micro_args(item, s, data, n_train), env=KERNELS[item["kernel"]]
    )
    return {**rec, **res}


def micro_text(rec: dict) -> str:
    """A micro-measurement's progress line."""
    if rec["set"] == "floors":
        what = f"floor {rec['sizes']} m={rec['m']}"
    elif rec["set"] == "gemm_libraries":
        what = f"GEMM-bound products with {rec['lib']}"
    else:
        what = "nnbp evaluate"
    head = f"{what} threads={rec['threads']} kernel={rec['kernel']}"
    if rec["status"] != "ok":
        return f"{head}: {rec['status']}: {rec.get('error', '')}"
    if "gemm_seconds" in rec:
        return f"{head}: GEMM-only {rec['gemm_seconds']:.3f} s/epoch"
    return f"{head}: {rec['images_per_second']:,.0f} images/s"


def shown(rec: dict) -> str:
    if rec["status"] == "ok":
        return f"{statistics.median(rec['seconds']):.3f} s/epoch"
    return f"{rec['status']}: {rec.get('error', '')}"


def run_rounds(
    s: dict, data: Path, n_train: int, plans: list[list[dict]], baseline: dict | None
) -> dict:
    """Every round's measurements: training, engine, floor, GEMM-library and evaluate records."""
    out: dict[str, list] = {k: [] for k in ("training", "engine", "floors", "gemm_libraries")}
    out["evaluate"], out["engine_paired"] = [], []
    missing = {
        impl: f"{pkg} not importable"
        for impl, pkg in NEEDS.items()
        if importlib.util.find_spec(pkg) is None
    }
    total, done = sum(map(len, plans)), 0
    for r, items in enumerate(plans, start=1):
        t0 = time.perf_counter()
        for item in items:
            done += 1
            if item["set"] in ("training", "engine"):
                rec = measure(item, s, data, baseline, missing)
                text = f"{rec['sizes']} m={rec['m']} {train_text(rec)}"
            else:
                rec = measure_micro(item, s, data, n_train, missing)
                text = micro_text(rec)
            out[rec["set"]].append({"round": r, "seq": done, **rec})
            log(f"[{done}/{total}] round {r} {text}")
        if baseline is not None:
            for rec in engine.paired(s, data, baseline, r):
                out["engine_paired"].append(rec)
                log(f"round {r} {rec['sizes']} m={rec['m']} engines paired: {paired_text(rec)}")
        left = len(plans) - r
        log(
            f"round {r} took {(time.perf_counter() - t0) / 60:.1f} min"
            + (f"; the {left} left, about as long each" if left else "")
        )
    return out


def train_text(rec: dict) -> str:
    """A training process's progress line: what ran and its median epoch."""
    what = [rec["impl"], rec.get("dtype"), f"threads={rec['threads']}", f"kernel={rec['kernel']}"]
    return " ".join(filter(None, what)) + ": " + shown(rec)


def paired_text(rec: dict) -> str:
    if rec["status"] != "ok":
        return f"{rec['status']}: {rec.get('error', '')}"
    return f"new/old {statistics.median(rec['ratios']):.3f} over {len(rec['ratios'])} quadruples"


def kernel_list(text: str) -> list[str]:
    """--kernels: comma-separated names from settings.KERNELS, in the order given."""
    names = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in names if k not in KERNELS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(KERNELS)} (comma-separated)")
    return list(dict.fromkeys(names))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="one short round on MNIST")
    mode.add_argument("--smoke", action="store_true", help="seconds: synthetic data, tiny network")
    p.add_argument("--baseline", metavar="REV", help="also time nnbp/ at this git revision")
    p.add_argument("--out", type=Path, default=Path("docs/BENCHMARKS.md"), help="report file")
    p.add_argument("--rounds", type=int, help="rounds of measurements [the mode's]")
    p.add_argument(
        "--kernels",
        type=kernel_list,
        default=list(KERNELS),
        help="BLAS kernels for nnbp and torch-manual, comma-separated [default,avx2]",
    )
    p.add_argument("--json", type=Path, help="also write every raw record to this JSON file")
    return p.parse_args()


def usable_kernels(wanted: list[str], machine: dict) -> list[str]:
    """The kernels this CPU can run: "avx2" forces AVX2 code, which a CPU without it lacks."""
    if "avx2" in wanted and "avx2" not in machine["simd"]:
        log("this CPU reports no AVX2: the avx2 kernel is left out")
        return [k for k in wanted if k != "avx2"] or ["default"]
    return wanted


def plan_run(s: dict, rounds: int, kernels: list[str], baseline: dict | None) -> list[list[dict]]:
    """Every round's plan, after printing how many processes it starts and how long that
    should take."""
    plans = [plan.plan_round(r, s, kernels, baseline) for r in range(1, rounds + 1)]
    counts, seconds = plan.estimate(plans, s, baseline)
    what = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    took = f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"
    log(f"plan: {what} processes; about {took} on an idle 2-core machine")
    return plans


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
    kernels = usable_kernels(args.kernels, machine)
    what = f"{mode}, {rounds} round(s), kernels {', '.join(kernels)}"
    log(f"bench ({what}) on {machine['cpu']}, load {machine['load_start']}")
    with tempfile.TemporaryDirectory(prefix="nnbp-bench-") as tmp:
        tmp_path = Path(tmp)
        baseline = engine.extract(args.baseline, tmp_path / "baseline") if args.baseline else None
        if baseline is not None:
            log(f"baseline {args.baseline}: {baseline.get('label') or baseline['error']}")
        ok_baseline = baseline if baseline and baseline["status"] == "ok" else None
        plans = plan_run(s, rounds, kernels, ok_baseline)
        log(f"loading the data ({s['data']}) ...")
        counts, (test_x, test_labels) = save_data(tmp_path / "data", s["data"])
        results = run_rounds(s, tmp_path / "data", counts["train"], plans, ok_baseline)
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
    results["kernels"] = kernels
    write(results, out, raw_out)


def write(results: dict, out: Path, raw_out: Path | None) -> None:
    """The report to ``out``, the raw records to ``raw_out``, the summary to stdout."""
    text, summary = document.render(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    if raw_out is not None:
        raw_out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(summary)
    log(f"wrote {out} in {results['wall_seconds'] / 60:.1f} min")


if __name__ == "__main__":
    main()
