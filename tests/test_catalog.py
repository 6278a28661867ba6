"""nnbp runs and nnbp runs diff: find runs (sweep trials too), compare two, survive broken ones."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import assert_one_error_line

from nnbp import catalog


def _two_runs(invoke, tiny_config) -> None:
    cfg = tiny_config(training={"epochs": 2})
    assert invoke("train", cfg).exit_code == 0
    assert (
        invoke("train", cfg, "--set", "training.eta=0.5", "--set", "training.epochs=3").exit_code
        == 0
    )


def test_runs_lists_each_run_with_what_differs_from_the_defaults(invoke, tiny_config):
    _two_runs(invoke, tiny_config)
    nested = Path("runs/sweeps/x/trials/0000")  # found however deep
    nested.mkdir(parents=True)
    for name in ("config.yaml", "metrics.jsonl", "weights.npz", "checkpoint.npz"):
        (nested / name).write_bytes((Path("runs/tiny") / name).read_bytes())
    result = invoke("runs", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {"tiny", "tiny-2", "sweeps/x/trials/0000"}
    two = rows["tiny-2"]
    assert two["status"] == "finished" and two["epochs"] == 3 and 1 <= two["kept_epoch"] <= 3
    assert two["changed"]["training.eta"] == 0.5 and two["changed"]["training.epochs"] == 3
    assert "name" not in two["changed"] and "data.dir" not in two["changed"]
    assert two["seconds"] > 0 and two["started"].endswith("Z")
    assert "training.eta" not in rows["tiny"]["changed"]  # 3.0, the default
    assert rows["tiny"]["changed"]["training.epochs"] == 2 == rows["tiny"]["epochs"]
    text = invoke("runs").stdout.splitlines()
    assert text[0].startswith("name\tstatus") and len(text) == 4


def test_runs_sort_puts_the_best_first_and_broken_runs_last(invoke, tiny_config):
    _two_runs(invoke, tiny_config)
    broken = Path("runs/broken")
    broken.mkdir()
    (broken / "config.yaml").write_text("name: broken\n")
    (broken / "metrics.jsonl").write_text("{not json\n")
    result = invoke("runs", "runs", "--sort", "epochs", "--json")
    names = [r["name"] for r in json.loads(result.stdout)]
    assert names == ["tiny-2", "tiny", "broken"]
    bad = json.loads(result.stdout)[-1]
    assert bad["status"] == "broken" and "metrics.jsonl: line 1 is not valid JSON" in bad["reason"]
    assert "broken\tbroken\t" in invoke("runs").stdout
    assert_one_error_line(invoke("runs", "--sort", "colour"), 2, "--sort colour: expected one of")


def test_an_interrupted_run_says_so(invoke, tiny_config):
    _two_runs(invoke, tiny_config)
    Path("runs/tiny-2/checkpoint.npz").write_bytes(b"cut")  # an unreadable checkpoint
    rows = {r["name"]: r for r in catalog.listing(Path("runs"))}
    assert rows["tiny-2"]["status"] == "interrupted"


def test_runs_diff_shows_the_keys_that_differ_and_the_results(invoke, tiny_config):
    _two_runs(invoke, tiny_config)
    result = invoke("runs", "diff", "runs/tiny", "runs/tiny-2", "--json")
    d = json.loads(result.stdout)
    assert d["config"] == {"training.epochs": [2, 3], "training.eta": [3.0, 0.5]}
    assert d["results"]["epochs"] == [2, 3] and len(d["results"]["test_accuracy"]) == 2
    text = invoke("runs", "diff", "runs/tiny", "runs/tiny-2").stdout
    assert "training.eta" in text and "test_accuracy" in text
    assert_one_error_line(
        invoke("runs", "diff", "runs", "runs/tiny"), 1, "runs: not a run directory"
    )
