"""Shipped configs by name (config list/copy, train NAME) and JSON from every command."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import assert_one_error_line

from nnbp import config, datasets, shipped


def test_config_list_names_every_shipped_config_with_its_purpose(invoke):
    rows = json.loads(invoke("config", "list", "--json").stdout)
    configs = [r["name"] for r in rows if r["kind"] == "config"]
    assert configs == sorted(p.stem for p in shipped.directory().glob("*.yaml"))
    assert {"mnist", "nielsen-ch1", "nielsen-ch3", "best"} <= set(configs)
    sweeps = {r["name"] for r in rows if r["kind"] == "sweep"}
    assert sweeps == {p.stem for p in (shipped.directory() / "sweeps").glob("*.yaml")}
    assert {"best-sweep", "best-elastic", "fashion-elastic", "nielsen-ch3", "seeds"} <= sweeps
    assert all(r["purpose"] and "\n" not in r["purpose"] for r in rows)
    text = invoke("config", "list").stdout
    assert "nielsen-ch1 " in text and "seeds (sweep)" in text


def test_every_shipped_config_and_sweep_reads(invoke):
    from nnbp.sweep import spec

    for name in shipped.names():
        assert config.load(name).name == name  # by name, as nnbp train NAME reads it
    for name in shipped.names("sweep"):
        assert spec.load(name).name == name


def test_config_copy_writes_it_out_and_never_over_a_file(invoke):
    result = invoke("config", "copy", "nielsen-ch1")
    assert result.exit_code == 0 and "wrote nielsen-ch1.yaml" in result.stderr
    assert (
        Path("nielsen-ch1.yaml").read_text()
        == (shipped.directory() / "nielsen-ch1.yaml").read_text()
    )
    assert_one_error_line(invoke("config", "copy", "nielsen-ch1"), 2, "nielsen-ch1.yaml: exists")
    assert invoke("config", "copy", "seeds", "mine.yaml", "--sweep").exit_code == 0
    assert Path("mine.yaml").read_text().startswith("# configs/mnist.yaml over seeds")


def test_an_unknown_name_lists_the_shipped_ones(invoke):
    result = invoke("train", "mnsit")
    assert_one_error_line(
        result, 2, "mnsit: no such config file, nor a shipped config; shipped: best,"
    )
    assert_one_error_line(invoke("config", "copy", "nope"), 2, "shipped: best, fashion-mnist")


def test_a_file_of_that_name_wins_over_the_shipped_config(invoke, tiny_config):
    Path("mnist").write_text(Path(tiny_config()).read_text())
    assert config.load("mnist").network.sizes == (64, 10, 3)


def test_config_show_and_keys_as_json(invoke, tiny_config):
    shown = json.loads(invoke("config", "show", tiny_config(), "--json").stdout)
    assert shown["network"]["sizes"] == [64, 10, 3] and shown["name"] == "tiny"
    keys = json.loads(invoke("config", "keys", "--json").stdout)
    eta = next(k for k in keys if k["key"] == "training.eta")
    assert eta["default"] == 3.0 and eta["meaning"]


def test_train_json_and_quiet(invoke, tiny_config):
    result = invoke("train", tiny_config(), "--json")
    summary = json.loads(result.stdout)
    assert set(summary) == {"test_accuracy", "validation_accuracy", "epoch", "epochs", "run"}
    assert summary["run"] == "runs/tiny" and summary["epochs"] == 3
    quiet = invoke("train", tiny_config(), "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert quiet.stdout.strip().endswith("run=runs/tiny-2") and quiet.stdout.count("\n") == 1


def test_gradcheck_json(invoke, tiny_config):
    result = invoke("gradcheck", tiny_config(), "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and report["passed"] and len(report["layers"]) == 2
    assert report["largest_error"] == max(
        max(r["dC/db"], r["dC/dw"], r["dC/dz"]) for r in report["layers"]
    )


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_clicks_script(invoke, shell):
    result = invoke("completion", shell)
    assert result.exit_code == 0 and "_NNBP_COMPLETE" in result.stdout


def test_data_fetch_json_names_the_files_and_their_checksums(invoke, mnist_dir):
    result = invoke("data", "fetch", "mnist", "--dest", mnist_dir, "--json")
    fetched = json.loads(result.stdout)
    assert fetched["dataset"] == "mnist" and len(fetched["files"]) == 4
    for role, f in fetched["files"].items():
        assert Path(f["path"]).is_absolute() and Path(f["path"]).is_file()
        assert f["content_sha256"] == datasets.DATASETS["mnist"].files[role][1]
        assert f["sha256"] == hashlib.sha256(Path(f["path"]).read_bytes()).hexdigest()
