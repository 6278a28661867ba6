"""nnbp sweep on one machine: a grid with two worker processes, rerun, kill and resume."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import make_images

from nnbp import idx
from nnbp.errors import MissingExtra
from nnbp.runs import status

optuna = pytest.importorskip("optuna")

ETAS = [0.05, 0.2, 1.0, 4.0]
SIZES = [[64, 6, 3], [64, 12, 3]]
TIME_KEYS = ("seconds", "train_seconds")


@pytest.fixture
def sweep_dir(tmp_path: Path) -> Path:
    """A directory with noisy 3-class data, a base config and an 8-point grid spec."""
    rng = np.random.default_rng(5)
    data = {}
    for part, n in (("train", 2500), ("test", 300)):
        labels = rng.integers(0, 3, size=n).astype(np.uint8)
        images = make_images(rng, labels)
        images = np.where(
            rng.random(images.shape) < 0.35, 255 - images, images
        )  # hard enough to differ
        for kind, array in (("images", images), ("labels", labels)):
            data[f"{part}_{kind}"] = str(tmp_path / f"{part}-{kind}.idx")
            idx.write_idx(data[f"{part}_{kind}"], array)
    base = {
        "name": "tiny",
        "data": {**data, "validation_size": 500},
        "network": {"sizes": [64, 6, 3]},
        "training": {"epochs": 30, "mini_batch_size": 10, "seed": 3},
    }
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base))
    spec = {
        "name": "grid",
        "base": "base.yaml",
        "sampler": {"type": "grid"},
        "space": {"training.eta": ETAS, "network.sizes": SIZES},
        "pruner": {"type": "median", "warmup_epochs": 3, "startup_trials": 2},
    }
    (tmp_path / "grid.yaml").write_text(yaml.safe_dump(spec))
    return tmp_path


def nnbp(cwd: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nnbp", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        **kw,
    )


def report(cwd: Path) -> dict:
    done = nnbp(cwd, "sweep", "report", "grid.yaml", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def ended(summary: dict) -> list[dict]:
    return [t for t in summary["trials"] if t["state"] in ("COMPLETE", "PRUNED")]


def point(trial: dict) -> tuple:
    return (trial["params"]["training.eta"], tuple(trial["params"]["network.sizes"]))


def test_a_grid_runs_each_point_once_on_two_workers_and_a_rerun_redoes_nothing(sweep_dir):
    done = nnbp(
        sweep_dir,
        "sweep",
        "run",
        "grid.yaml",
        "--workers",
        "2",
        "--set",
        "training.epochs=6",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    trials = summary["trials"]
    assert len(trials) == 8 and len(ended(summary)) == 8
    assert sorted(map(point, trials)) == sorted((e, tuple(s)) for e in ETAS for s in SIZES)
    dirs = sorted(Path(t["run_dir"]) for t in trials)
    assert dirs == sorted((sweep_dir / "sweeps/grid/trials").iterdir())
    assert all((d / "weights.npz").is_file() and (d / "metrics.jsonl").is_file() for d in dirs)
    assert {t["host"] for t in trials} == {socket.gethostname()}  # each trial records its host
    best = summary["best"]
    assert best["state"] == "COMPLETE" and best["test_accuracy"] is not None
    assert (sweep_dir / "sweeps/grid/best").resolve() == Path(best["run_dir"])
    values = [t["validation_accuracy"] for t in trials if t["state"] == "COMPLETE"]
    assert values == sorted(values, reverse=True)
    # A trial is an ordinary run: evaluate reads it as it is.
    assert nnbp(sweep_dir, "evaluate", str(dirs[0])).returncode == 0
    again = nnbp(sweep_dir, "sweep", "run", "grid.yaml", "--set", "training.epochs=6", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["trials"] == trials and "started" not in again.stderr


def _wait_for_interrupted_trial(root: Path, epochs: int, proc: subprocess.Popen) -> Path:
    """A trial directory with some but not all epochs written, once the first trial ended."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        lengths = {}
        for d in root.glob("sweeps/grid/trials/*"):
            metrics = d / "metrics.jsonl"
            lengths[d] = len(metrics.read_text().splitlines()) if metrics.is_file() else 0
        if any(n == epochs for n in lengths.values()):
            # unfinished: a pruned trial also stops early, but its run is finished
            partial = [
                d for d, n in lengths.items() if 2 <= n < epochs - 3 and status(d) == "unfinished"
            ]
            if partial:
                return partial[0]
        time.sleep(0.05)
    pytest.fail("no trial was half-way when the first one ended")


def test_a_killed_sweep_continues_its_interrupted_trial_bit_for_bit(sweep_dir):
    epochs = 30
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnbp", "sweep", "run", "grid.yaml"],
        cwd=sweep_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        partial = _wait_for_interrupted_trial(sweep_dir, epochs, proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    again = nnbp(sweep_dir, "sweep", "run", "grid.yaml", "--json")
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert sorted(map(point, ended(summary))) == sorted((e, tuple(s)) for e in ETAS for s in SIZES)
    failed = [t for t in summary["trials"] if t["state"] == "FAIL"]
    assert str(partial) in {t["run_dir"] for t in failed}
    retry = next(t for t in ended(summary) if t["run_dir"] == str(partial))
    assert retry["retry_of"] in {t["number"] for t in failed}
    # The continued run ends exactly as an uninterrupted one with the same config.
    import nnbp as lib

    fresh = lib.train(partial / "config.yaml", out=sweep_dir / "fresh", overrides={"name": "fresh"})
    rows = [json.loads(line) for line in (partial / "metrics.jsonl").read_text().splitlines()]
    strip = lambda rs: [{k: v for k, v in r.items() if k not in TIME_KEYS} for r in rs]  # noqa: E731
    if retry["state"] == "COMPLETE":
        assert strip(rows) == strip(fresh.metrics)
        with np.load(partial / "weights.npz") as a, np.load(sweep_dir / "fresh/weights.npz") as b:
            assert all(np.array_equal(a[k], b[k]) for k in a.files if k.startswith(("w", "b")))
    else:  # pruned after it resumed: the same epochs as far as it went
        assert strip(rows) == strip(fresh.metrics[: len(rows)])


def test_a_changed_search_is_refused_and_the_study_is_untouched(sweep_dir):
    assert (
        nnbp(sweep_dir, "sweep", "run", "grid.yaml", "--set", "training.epochs=2").returncode == 0
    )
    journal = (sweep_dir / "sweeps/grid/study.journal").read_bytes()
    spec = yaml.safe_load((sweep_dir / "grid.yaml").read_text())
    spec["space"]["training.eta"] = [9.0]
    (sweep_dir / "grid.yaml").write_text(yaml.safe_dump(spec))
    done = nnbp(sweep_dir, "sweep", "run", "grid.yaml", "--set", "training.epochs=2")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("Error: sweep 'grid' already exists with a different search")
    assert (sweep_dir / "sweeps/grid/study.journal").read_bytes() == journal


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["run", "grid.yaml", "--set", "training.etaa=1"], 2, "did you mean 'training.eta'?"),
        (
            ["run", "grid.yaml", "--storage", "sqlite:///s.db"],
            2,
            "SQLite lets one process write at a time",
        ),
        (
            ["run", "grid.yaml", "--storage", "postgresql://u:secret@127.0.0.1:9/db"],
            1,
            "cannot reach the study storage at 127.0.0.1:9",
        ),
        (["join", "--storage", "j.journal", "--study", "nope"], 2, "no study named 'nope'"),
        (["report", "grid.yaml"], 1, "no sweep there yet"),
        (["run", "missing.yaml"], 2, "missing.yaml: sweep spec file not found"),
    ],
)
def test_bad_input_is_one_error_line(sweep_dir, args, code, message):
    done = nnbp(sweep_dir, "sweep", *args)
    assert done.returncode == code, done.stderr
    assert done.stderr.startswith("Error: ") and done.stderr.count("\n") == 1, done.stderr
    assert message in done.stderr and "secret" not in done.stderr


def test_dry_run_lists_the_grid_and_runs_nothing(sweep_dir):
    done = nnbp(sweep_dir, "sweep", "run", "grid.yaml", "--dry-run")
    assert done.returncode == 0 and "8 grid points:" in done.stdout
    assert not (sweep_dir / "sweeps").exists()


def test_without_optuna_the_extra_is_named(monkeypatch):
    from nnbp.sweep.storage import import_optuna

    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(MissingExtra, match=r"pip install 'nnbp\[sweep\]'"):
        import_optuna()


def test_nnbp_train_imports_no_optional_extra(tiny_config, tmp_path):
    script = (
        "import sys\nfrom nnbp.cli import main\nsys.argv = ['nnbp', 'train', sys.argv[1]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "extras = ('optuna', 'sqlalchemy', 'psycopg', 'starlette', 'uvicorn', 'onnx')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in extras))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tiny_config())],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
