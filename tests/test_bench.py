"""`bench/run.py --smoke`: the benchmark runs end to end in seconds, without MNIST.

One round on synthetic data with a tiny network: every installed implementation gives
finite positive timings, the peers whose package is not installed report "missing",
nnbp and torch-manual run under both BLAS kernels and the floor at 1 and 2 threads,
and, when git history is at hand, the engine of a past revision is timed beside the
checkout's and trains bit-identical weights. The report goes to a temporary directory,
never to docs/BENCHMARKS.md. The order of a round and the kernel's environment reaching
a worker are checked directly, without a run.
"""

from __future__ import annotations

import importlib.util
import json
import math
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnbp.config
import nnbp.sgd
from nnbp.network import Network, backprop, with_ones

REPO = Path(__file__).resolve().parent.parent
BASELINE = "0c9a75a"  # the Makefile's BASELINE: the engine before SGD.epoch
PEER_PACKAGES = {"torch-manual": "torch", "torch-idiomatic": "torch", "sklearn": "sklearn"}


def _has_commit(rev: str) -> bool:
    if shutil.which("git") is None:
        return False
    cmd = ["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, check=False).returncode == 0


HAS_BASELINE = _has_commit(BASELINE)
sys.path.insert(0, str(REPO / "bench"))  # bench/ is scripts, not a package

import columns_layout  # noqa: E402
import engine  # noqa: E402
import launch  # noqa: E402
import plan  # noqa: E402
from interleave import sgd_epochs  # noqa: E402
from settings import KERNEL_IMPLS, KERNELS, SETTINGS  # noqa: E402


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench")
    report, raw = out / "BENCHMARKS.md", out / "raw.json"
    docs = REPO / "docs" / "BENCHMARKS.md"
    before = docs.read_bytes() if docs.exists() else None
    cmd = [sys.executable, str(REPO / "bench" / "run.py"), "--smoke"]
    cmd += ["--out", str(report), "--json", str(raw)]
    if HAS_BASELINE:
        cmd += ["--baseline", BASELINE]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    after = docs.read_bytes() if docs.exists() else None
    return {
        "results": json.loads(raw.read_text()),
        "text": report.read_text(),
        "docs_unchanged": before == after,
        "tmp": str(out),
    }


def _installed(impl: str) -> bool:
    package = PEER_PACKAGES.get(impl)
    return package is None or importlib.util.find_spec(package) is not None


def _assert_timed(rec: dict) -> None:
    assert rec["status"] == "ok", rec
    assert rec["seconds"], rec
    assert all(math.isfinite(s) and s > 0 for s in rec["seconds"]), rec
    assert 0 <= rec["test_accuracy"] <= 1


def test_every_installed_implementation_is_timed(smoke: dict) -> None:
    results = smoke["results"]
    assert results["mode"] == "smoke" and results["rounds"] == 1
    assert {rec["impl"] for rec in results["training"]} == {"nnbp", "reference", *PEER_PACKAGES}
    for rec in results["training"]:
        if _installed(rec["impl"]):
            _assert_timed(rec)
        else:
            assert rec["status"] == "missing", rec
            assert "not importable" in rec["error"]
    assert {rec["status"] for rec in results["floors"]} == {"ok"}
    assert all(rec["gemm_seconds"] > 0 for rec in results["floors"])
    assert all(rec["images_per_second"] > 0 for rec in results["evaluate"])


def test_both_kernels_and_both_floor_thread_counts(smoke: dict) -> None:
    results = smoke["results"]
    assert results["kernels"] == ["default", "avx2"]
    for impl in ("nnbp", "torch-manual", "sklearn"):
        kernels = {rec["kernel"] for rec in results["training"] if rec["impl"] == impl}
        assert kernels == ({"default", "avx2"} if impl in KERNEL_IMPLS else {"default"}), impl
    nnbp = {(r["kernel"], r["threads"]) for r in results["training"] if r["impl"] == "nnbp"}
    assert {threads for _, threads in nnbp} == {"1", "2", "default"}
    floors = {(r["kernel"], r["threads"]) for r in results["floors"]}
    assert floors == {(k, t) for k in ("default", "avx2") for t in ("1", "2")}
    if platform.machine() in ("x86_64", "AMD64"):  # OPENBLAS_CORETYPE=Haswell: Haswell ran
        for rec in results["training"] + results["floors"]:
            if rec.get("kernel") == "avx2" and rec["status"] == "ok":
                archs = {
                    p["architecture"] for p in rec["backend"]["pools"] if p["user_api"] == "blas"
                }
                assert archs == {"Haswell"}, rec


def test_report_is_written_where_asked_and_reads_as_a_report(smoke: dict) -> None:
    text = smoke["text"]
    assert smoke["docs_unchanged"]
    headings = ("## Targets", "## Seconds per epoch", "## Ratios", "## Lower bound", "## Machine")
    for heading in (*headings, "## Method"):
        assert heading in text
    assert text.index("## Targets") < text.index("## Seconds per epoch")
    assert "BLAS kernel that ran, avx2" in text and "OPENBLAS_CORETYPE=Haswell" in text
    assert "fastest" in text and ("holds (" in text or "misses (" in text)
    for words in ("PASS", "FAIL", "the issue", "required"):
        assert words not in text
    assert str(REPO) not in text and smoke["tmp"] not in text


def test_a_round_interleaves_the_kernels_and_alternates_their_order() -> None:
    s = SETTINGS["full"]
    rounds = [plan.plan_round(r, s, list(KERNELS), None) for r in (1, 2)]
    for r, items in enumerate(rounds, start=1):
        first = "default" if r % 2 else "avx2"
        for a, b in zip(items, items[1:], strict=False):
            # every measurement of nnbp and torch-manual: both kernels, one after the other
            if a.get("impl", "nnbp") in KERNEL_IMPLS and a["kernel"] == first:
                assert {**a, "kernel": b["kernel"]} == b and b["kernel"] != first, (a, b)
        peers = [i for i in items if i.get("impl") not in (None, *KERNEL_IMPLS)]
        assert peers and {i["kernel"] for i in peers} == {"default"}
    shapes = {(i["sizes"], i["m"]) for i in rounds[0] if "sizes" in i}
    best = nnbp.config.load(REPO / "configs" / "best.yaml")  # the bench follows best.yaml
    assert (tuple(best.network.sizes), best.training.mini_batch_size) in shapes
    counts, seconds = plan.estimate(rounds, s, None)
    assert counts["training"] == 2 * 5 * (3 * 2 + 2 * 2 + 3 * 2) and seconds > 0


def test_a_worker_runs_with_the_extra_environment() -> None:
    args = ["floor", "--sizes", "784,8,10", "--m", "10", "--block", "0.001", "--n-train", "100"]
    res = launch.run_worker("worker_micro.py", args, env={"OPENBLAS_CORETYPE": "Sandybridge"})
    assert res["status"] == "ok", res
    blas = [p for p in res["backend"]["pools"] if p["user_api"] == "blas"]
    if blas and blas[0]["internal_api"] == "openblas" and platform.machine() == "x86_64":
        assert blas[0]["architecture"] == "Sandybridge"


@pytest.mark.skipif(not HAS_BASELINE, reason=f"no git history with {BASELINE}")
def test_engine_against_the_baseline(smoke: dict) -> None:
    results = smoke["results"]
    assert results["baseline"]["status"] == "ok"
    label = results["baseline"]["label"]
    engine = results["engine"]
    assert {rec["impl"] for rec in engine} == {"nnbp", label}
    for rec in engine:
        _assert_timed(rec)
        assert rec["backend"]["nnbp"] == ("checkout" if rec["impl"] == "nnbp" else label)
    weights = results["engine_weights"]
    assert weights and all(w["status"] == "ok" and w["identical"] for w in weights), weights
    assert {w["dtype"] for w in weights} == {"float32", "float64"}
    assert f"## Engine against {BASELINE}" in smoke["text"]
    # Both engines in one process, epoch for epoch: ratios of real, positive times.
    paired = results["engine_paired"]
    assert paired and all(rec["status"] == "ok" for rec in paired), paired
    for rec in paired:
        assert rec["ratios"] and all(math.isfinite(r) and r > 0 for r in rec["ratios"])
        assert len(rec["seconds"]["new"]) == len(rec["seconds"]["old"]) == 2 * len(rec["ratios"])
    assert "quadruples" in smoke["text"]


@pytest.mark.skipif(not _has_commit("HEAD"), reason="needs the git history")
def test_a_recent_revision_extracts_for_the_engine_comparison(tmp_path: Path) -> None:
    """`make bench BASELINE=<rev>` for a revision whose nnbp/configs is a symbolic link to
    the top-level configs/: both copies of its package are made, imports renamed."""
    got = engine.extract("HEAD", tmp_path / "baseline")
    assert got["status"] == "ok", got
    base = got["paired"] / "nnbp_base"
    assert (base / "sgd.py").is_file() and (got["root"] / "nnbp" / "sgd.py").is_file()
    assert "from nnbp_base.network import" in (base / "sgd.py").read_text()


@pytest.mark.parametrize("cost", ["quadratic", "log-likelihood"])
def test_the_columns_layout_measured_in_engine_md_computes_nnbps_gradient(cost: str) -> None:
    """bench/columns_layout.py's backprop (hidden layers as columns) against nnbp's, and an
    SGD epoch with it: the same numbers to rounding, and nnbp's backprop back afterwards."""
    rng = np.random.default_rng(3)
    sizes, m = [6, 5, 4, 3], 7
    x = with_ones(rng.random((m, 6)))
    y = np.eye(3)[rng.integers(0, 3, m)]
    net = Network.create(sizes, rng, init="scaled", cost=cost, dtype="float64")
    k = np.full((m, 3), 1 / m)
    rows, cols = net.workspace(m), columns_layout.ColumnsWorkspace(sizes, m, net.dtype)
    backprop(net, rows, x, y, k)
    columns_layout.columns_backprop(net, cols, x, y, k)
    np.testing.assert_allclose(cols.nabla_flat, rows.nabla_flat, rtol=1e-10, atol=1e-14)
    assert np.abs(rows.nabla_flat).max() > 1e-3  # a gradient, not zeros

    # An epoch of float32 SGD with momentum (the bench's trainers), rows and columns.
    xs = with_ones(rng.random((40, 6), dtype=np.float32))
    ys = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 40)]
    calls, nets = sgd_epochs(sizes, 7, 0.9, xs, ys, {"rows": {}, "cols": {}})
    calls["cols"] = columns_layout.with_columns(calls["cols"], nets[1])
    start = nets[0].flat.copy()
    for call in calls.values():
        call()
    np.testing.assert_allclose(nets[1].flat, nets[0].flat, rtol=1e-5, atol=1e-6)
    assert np.abs(nets[0].flat - start).max() > 1e-3  # the epoch trained
    assert nnbp.sgd.backprop is backprop
