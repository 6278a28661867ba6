"""The command line, through click's CliRunner: outputs, run directories, errors, exit codes."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml
from conftest import assert_one_error_line

from nnbp import __version__, config, datasets, model_file, runs
from nnbp.cli import EXIT_MEANINGS, cli
from nnbp.cli.data import data_fetch
from nnbp.errors import ExitCode


def test_version_and_help(invoke):
    assert invoke("--version").stdout.strip() == f"nnbp, version {__version__}"
    out = invoke("--help").stdout
    for command in ("train", "evaluate", "predict", "gradcheck", "inspect", "plot", "data",
                    "config"):  # fmt: skip
        assert re.search(rf"^\s+{command}\s", out, re.M)


def test_help_lists_every_exit_code_with_its_meaning(invoke):
    out = invoke("--help").stdout
    listed = out[out.index("Exit codes:") :].splitlines()[1:]
    assert [int(line.split()[0]) for line in listed] == [code.value for code in ExitCode]
    for code, line in zip(ExitCode, listed, strict=True):
        assert line.split(maxsplit=1)[1] == EXIT_MEANINGS[code]
    assert "usage or config mistake" in out and "Ctrl-C" in out


def test_help_and_version_start_without_numpy():
    script = (
        "import sys\n"
        "from nnbp.cli import cli\n"
        "for args in (['--help'], ['--version'], ['train', '--help']):\n"
        "    try:\n"
        "        cli(args)\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, e.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'PIL', 'yaml')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)  # fmt: skip
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_python_dash_m_runs_the_same_cli():
    done = subprocess.run(
        [sys.executable, "-m", "nnbp", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == f"nnbp, version {__version__}"


def test_train_writes_the_run_directory(invoke, tiny_config):
    cfg_path = tiny_config()
    result = invoke("train", cfg_path)
    assert result.exit_code == 0, result.output
    last = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(
        r"test_accuracy=\d\.\d{4} validation_accuracy=\d\.\d{4} epoch=[123] epochs=3"
        r" run=runs/tiny",
        last,
    )
    run = Path.cwd() / "runs" / "tiny"
    files = sorted(p.name for p in run.iterdir())
    assert files == sorted(
        [
            runs.LOCK_FILE,
            "checkpoint.npz",
            "config.yaml",
            "metrics.jsonl",
            "run.json",
            "weights.npz",
        ]
    )
    made = json.loads((run / "run.json").read_text())
    assert made["command"].startswith("nnbp train ") and made["outcome"] == "finished"
    assert made["versions"]["nnbp"] == __version__ and made["seconds"] > 0
    assert made["started"] <= made["ended"] and made["ended"].endswith("Z")
    images = config.load(cfg_path).data.train_images
    assert (
        made["data"]["train_images"]["sha256"]
        == hashlib.sha256(Path(images).read_bytes()).hexdigest()
    )
    assert all(b["num_threads"] >= 1 for b in made["blas"])
    # The data paths are absolute, so evaluate finds the data from any directory.
    assert config.load(run / "config.yaml") == config.load(cfg_path).with_absolute_paths()
    assert Path(config.load(run / "config.yaml").data.dir).is_absolute()
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in metrics] == [1, 2, 3]
    for key in ("train_cost", "validation_accuracy", "test_accuracy", "train_seconds", "seconds"):
        assert isinstance(metrics[-1][key], float)
    kept = int(re.search(r" epoch=(\d)", last).group(1))
    best = max(metrics, key=lambda m: m["validation_accuracy"])  # the first best epoch
    assert kept == best["epoch"]
    assert last.startswith(f"test_accuracy={best['test_accuracy']:.4f}")
    net, meta = model_file.load(run / "weights.npz")
    assert net.sizes == [64, 10, 3] and meta["input_shape"] == [8, 8]
    assert meta["epoch"] == kept
    assert meta["config_sha256"] == config.load(cfg_path).with_absolute_paths().digest()
    assert (Path.cwd() / "runs" / "latest").resolve() == run.resolve()
    assert "epoch 3/3" in result.stderr
    assert result.stdout.count("\n") == 1  # only the result line: progress is on stderr


def test_runs_never_collide_and_out_is_exact(invoke, tiny_config):
    cfg_path = tiny_config(training={"epochs": 1})
    assert invoke("train", cfg_path).exit_code == 0
    weights = (Path.cwd() / "runs/tiny/weights.npz").read_bytes()
    for n in (2, 3):  # a finished run is kept; the next one goes beside it
        result = invoke("train", cfg_path)
        assert result.exit_code == 0 and result.stdout.strip().endswith(f"run=runs/tiny-{n}")
        assert "runs/tiny holds a finished run; this one trains into" in result.stderr
        assert (Path.cwd() / "runs/latest").resolve() == (Path.cwd() / f"runs/tiny-{n}").resolve()
    assert (Path.cwd() / "runs/tiny/weights.npz").read_bytes() == weights
    result = invoke("train", cfg_path, "--out", "runs/tiny")
    assert_one_error_line(result, 2, "runs/tiny: holds a finished run; pass --overwrite")
    result = invoke("train", cfg_path, "--overwrite", "--set", "training.seed=99")
    assert result.exit_code == 0
    assert (Path.cwd() / "runs/tiny/weights.npz").read_bytes() != weights
    result = invoke("train", cfg_path, "--out", "elsewhere/r1")
    assert result.exit_code == 0 and result.stdout.strip().endswith("run=elsewhere/r1")
    assert (Path.cwd() / "elsewhere/r1/weights.npz").is_file()
    # runs/latest names the newest run under runs/; one elsewhere does not move it.
    assert (Path.cwd() / "runs/latest").resolve() == (Path.cwd() / "runs/tiny").resolve()


def test_an_interrupted_run_is_never_skipped(invoke, tiny_config):
    cfg_path = tiny_config(training={"epochs": 1})
    assert invoke("train", cfg_path).exit_code == 0
    runs.prepare(Path("runs/tiny-2"), overwrite=False)
    (Path("runs/tiny-2") / runs.CHECKPOINT_FILE).write_bytes(b"half")  # an interrupted run
    result = invoke("train", cfg_path)
    assert_one_error_line(result, 2, "runs/tiny-2: holds an interrupted run; continue it with")
    assert "nnbp train --resume runs/tiny-2" in result.stderr


def test_set_overrides_reach_training(invoke, tiny_config):
    result = invoke("train", tiny_config(), "--set", "training.epochs=1", "--set", "name=quick")
    assert result.exit_code == 0
    assert result.stdout.strip().endswith("epoch=1 epochs=1 run=runs/quick")


def test_same_seed_gives_identical_runs(invoke, tiny_config):
    cfg_path = tiny_config()
    for out in ("a", "b"):
        assert invoke("train", cfg_path, "--out", out).exit_code == 0

    def strip(path):
        lines = (Path.cwd() / path / "metrics.jsonl").read_text().splitlines()
        return [{k: v for k, v in json.loads(x).items() if "seconds" not in k} for x in lines]

    assert strip("a") == strip("b")
    (na, _), (nb, _) = (model_file.load(Path.cwd() / p / "weights.npz") for p in "ab")
    for p, q in zip(na.w + na.b, nb.w + nb.b, strict=True):
        np.testing.assert_array_equal(p, q)


def test_config_errors_exit_2_with_one_line(invoke, tiny_config):
    result = invoke("train", tiny_config(training={"eta": -1}))
    assert_one_error_line(result, 2, "training.eta: expected a number > 0, got -1")
    result = invoke("train", tiny_config(), "--set", "training.etta=1")
    assert_one_error_line(result, 2, "did you mean 'training.eta'?")
    result = invoke("train", "missing.yaml")
    assert_one_error_line(result, 2, "missing.yaml: config file not found")
    result = invoke("train", tiny_config(network={"sizes": [60, 10, 3]}))
    assert_one_error_line(result, 2, "network.sizes: the first size must be 64")
    assert not (Path.cwd() / "runs").exists()  # nothing written for a refused config


def test_data_errors_exit_1_with_one_line(invoke, tiny_config, tiny_data):
    tiny_data["train_images"].write_bytes(b"\x00\x00\x08\x03garbage")
    result = invoke("train", tiny_config())
    assert_one_error_line(result, 1, str(tiny_data["train_images"]))


def test_missing_dataset_says_how_to_fetch_it(invoke, tmp_path):
    (tmp_path / "c.yaml").write_text(f"data: {{dir: {tmp_path / 'nodata'}}}\n")
    result = invoke("train", tmp_path / "c.yaml")
    assert_one_error_line(result, 1, "file not found; run `nnbp data fetch mnist --dest")


def test_traceback_flag_shows_the_traceback(runner, tiny_config):
    result = runner.invoke(cli, ["--traceback", "train", str(tiny_config(training={"eta": 0}))])
    assert result.exit_code != 0 and result.exception is not None
    assert type(result.exception).__name__ == "ConfigError"


def test_config_show_and_keys(invoke, tiny_config):
    cfg_path = tiny_config()
    result = invoke("config", "show", cfg_path, "--set", "training.eta=0.25")
    assert result.exit_code == 0
    shown = yaml.safe_load(result.stdout)
    assert shown["training"]["eta"] == 0.25
    assert shown == config.load(cfg_path, ["training.eta=0.25"]).to_dict()
    result = invoke("config", "show", cfg_path, "--set", "training.eta=0")
    assert_one_error_line(result, 2, "training.eta: expected a number > 0")
    keys = invoke("config", "keys").stdout
    assert all(path in keys for path in config.key_paths())


def test_data_fetch_rejects_unknown_dataset(invoke):
    result = invoke("data", "fetch", "cifar")
    assert result.exit_code == 2 and "cifar" in result.stderr
    # The choices are spelled out so that the command line starts without the library.
    (name,) = [p for p in data_fetch.params if p.name == "name"]
    assert sorted(name.type.choices) == sorted(datasets.DATASETS)
