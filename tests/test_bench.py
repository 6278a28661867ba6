"""`bench/run.py --smoke`: the benchmark runs end to end in seconds, without MNIST.

One round on synthetic data with a tiny network: every installed implementation gives
finite positive timings, the peers whose package is not installed report "missing", and,
when git history is at hand, the engine of a past revision is timed beside the checkout's
and trains bit-identical weights. The report goes to a temporary directory, never to
docs/BENCHMARKS.md.
"""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BASELINE = "0c9a75a"  # the Makefile's BASELINE: the engine before SGD.epoch
PEER_PACKAGES = {"torch-manual": "torch", "torch-idiomatic": "torch", "sklearn": "sklearn"}


def _has_commit(rev: str) -> bool:
    if shutil.which("git") is None:
        return False
    cmd = ["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, check=False).returncode == 0


HAS_BASELINE = _has_commit(BASELINE)


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
    by_impl = {rec["impl"]: rec for rec in results["training"]}
    assert set(by_impl) == {"nnbp", "reference", *PEER_PACKAGES}
    for impl, rec in by_impl.items():
        if _installed(impl):
            _assert_timed(rec)
        else:
            assert rec["status"] == "missing", rec
            assert "not importable" in rec["error"]
    assert {rec["status"] for rec in results["floors"]} == {"ok"}
    assert all(rec["gemm_seconds"] > 0 for rec in results["floors"])
    assert all(rec["images_per_second"] > 0 for rec in results["evaluate"])


def test_report_is_written_where_asked_and_reads_as_a_report(smoke: dict) -> None:
    text = smoke["text"]
    assert smoke["docs_unchanged"]
    for heading in ("## Seconds per epoch", "## Ratios", "## Machine", "## Method"):
        assert heading in text
    assert "BLAS kernel that ran" in text
    for words in ("## Targets", "PASS", "FAIL", "the issue", "required"):
        assert words not in text
    assert str(REPO) not in text and smoke["tmp"] not in text


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
