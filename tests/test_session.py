"""Never lose work: checkpoints, interruption and resume, divergence, write failures."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from conftest import make_images

from nnbp import atomic, checkpoint, idx, model_file, runs, train
from nnbp.cli import cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def invoke(runner, *args):
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


def metrics_of(run: Path) -> list[dict]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if "seconds" not in k} for x in lines]


def assert_same_weights(a: Path, b: Path) -> None:
    (na, ma), (nb, mb) = model_file.load(a), model_file.load(b)
    assert ma == mb
    for p, q in zip(na.params, nb.params, strict=True):
        np.testing.assert_array_equal(p, q)


def test_ctrl_c_stops_cleanly_and_resume_ends_as_an_uninterrupted_run(runner, tiny_config):
    cfg = tiny_config(training={"epochs": 4, "momentum": 0.5, "eta": 1.0})
    assert invoke(runner, "train", cfg, "--out", "straight").exit_code == 0

    def ctrl_c_in_epoch_3(epoch, done, total):
        if epoch == 3 and done == total // 2:
            os.kill(os.getpid(), signal.SIGINT)  # the handler only sets a flag

    from nnbp import config, session

    with pytest.raises(session.Interrupted) as e:
        session.train_run(config.load(cfg), Path("cut"), on_batches=ctrl_c_in_epoch_3)
    assert "stopped during epoch 3; cut holds epoch 2" in str(e.value)
    assert "nnbp train --resume cut" in str(e.value)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    assert runs.status(Path("cut")) == "unfinished"
    assert len(metrics_of(Path("cut"))) == 2
    assert model_file.load(Path("cut/weights.npz"))[1]["epoch"] in (1, 2)

    result = invoke(runner, "train", cfg, "--out", "cut")
    assert result.exit_code == 2 and "holds an interrupted run" in result.stderr
    assert "--resume" in result.stderr

    result = invoke(runner, "train", "--resume", "cut")
    assert result.exit_code == 0, result.output
    assert "resuming after epoch 2" in result.stderr
    assert metrics_of(Path("cut")) == metrics_of(Path("straight"))
    assert_same_weights(Path("cut/weights.npz"), Path("straight/weights.npz"))
    ck_a = checkpoint.load(Path("cut/checkpoint.npz"))
    ck_b = checkpoint.load(Path("straight/checkpoint.npz"))
    for p, q in zip(ck_a.params + ck_a.velocity, ck_b.params + ck_b.velocity, strict=True):
        np.testing.assert_array_equal(p, q)  # the last epoch's weights and momentum too
    assert runs.status(Path("cut")) == "finished"


def test_resume_refusals(runner, tiny_config):
    cfg = tiny_config(training={"epochs": 1})
    result = invoke(runner, "train", cfg, "--resume")
    assert result.exit_code == 1 and "no checkpoint to resume from" in result.stderr
    assert invoke(runner, "train", cfg).exit_code == 0
    result = invoke(runner, "train", "--resume", "runs/tiny")
    assert result.exit_code == 1 and "the run has finished" in result.stderr
    result = invoke(runner, "train", "runs/tiny")
    assert result.exit_code == 2 and "give a CONFIG file, or --resume RUN_DIR" in result.stderr
    result = invoke(runner, "train", cfg, "--resume", "--overwrite")
    assert result.exit_code == 2 and "exclude each other" in result.stderr


def test_resume_with_another_config_is_refused(runner, tiny_config, monkeypatch):
    cfg = tiny_config(training={"epochs": 3})
    with monkeypatch.context() as patch:
        _interrupt_after_epoch(patch, 1)
        assert invoke(runner, "train", cfg).exit_code == 130
    result = invoke(runner, "train", cfg, "--resume", "--set", "training.eta=0.1")
    assert result.exit_code == 1 and "made with another config" in result.stderr


def _interrupt_after_epoch(patch: pytest.MonkeyPatch, epoch: int) -> None:
    """Make the training loop see a stop request at the start of epoch ``epoch + 1``."""
    real = train.sgd_epoch
    count = {"n": 0}

    def sgd_epoch(*args, stop=None, **kw):
        count["n"] += 1
        if count["n"] > epoch and stop is not None:
            stop.requested = "SIGINT"
        return real(*args, stop=stop, **kw)

    patch.setattr(train, "sgd_epoch", sgd_epoch)


def test_divergence_stops_with_a_clear_error_and_keeps_the_last_good_epoch(
    runner, tiny_config, monkeypatch
):
    cfg = tiny_config(training={"epochs": 4, "keep": "last"})
    real = train.evaluate
    calls = {"n": 0}

    def evaluate(net, split, *args):
        calls["n"] += 1
        result = real(net, split, *args)
        if calls["n"] > 3:  # the second epoch's first evaluation (the training set)
            result.cost = float("nan")
        return result

    monkeypatch.setattr(train, "evaluate", evaluate)
    result = invoke(runner, "train", cfg)
    assert result.exit_code == 1
    assert "epoch 2: the training cost is nan; training diverged" in result.stderr
    assert "try a smaller training.eta than 3" in result.stderr
    assert model_file.load(Path("runs/tiny/weights.npz"))[1]["epoch"] == 1
    assert checkpoint.load(Path("runs/tiny/checkpoint.npz")).state.epoch == 1
    assert len(metrics_of(Path("runs/tiny"))) == 1


def test_a_huge_eta_really_diverges(runner, tiny_config):
    # eta / m overflows float32 to inf: the first step makes the weights inf and NaN.
    result = invoke(runner, "train", tiny_config(training={"eta": 1e300, "epochs": 2}))
    assert result.exit_code == 1 and "training diverged" in result.stderr


def test_a_full_disk_keeps_the_previous_weights(runner, tiny_config, monkeypatch):
    cfg = tiny_config(training={"epochs": 3, "keep": "last"})
    real = atomic.atomic_write_bytes
    writes = {"n": 0}

    def flaky(path, data):
        if Path(path).name == "weights.npz":
            writes["n"] += 1
            if writes["n"] == 2:
                # The second epoch's weights find the disk full.
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path, data)

    monkeypatch.setattr(atomic, "atomic_write_bytes", flaky)
    result = invoke(runner, "train", cfg)
    assert result.exit_code == 1
    assert "weights.npz: cannot write (No space left on device)" in result.stderr
    net, meta = model_file.load(Path("runs/tiny/weights.npz"))  # epoch 1's, intact
    assert meta["epoch"] == 1
    assert sorted(p.name for p in Path("runs/tiny").iterdir() if p.name.startswith(".")) == []


def test_an_unwritable_run_directory_fails_before_training(runner, tiny_config, tmp_path):
    (tmp_path / "file").write_text("")
    result = invoke(runner, "train", tiny_config(), "--out", tmp_path / "file" / "run")
    assert result.exit_code == 1 and "cannot create the run directory" in result.stderr
    assert "epoch" not in result.stderr


def _subprocess_config(tmp_path: Path, tiny_data: dict[str, Path]) -> Path:
    # 8,000 training images at m = 1 make an epoch 8,000 steps (about 0.2-0.4 s), so
    # "a few epochs done, then a kill 0.1 s later" lands inside an epoch, not after the run.
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 3, size=8100).astype(np.uint8)
    data = dict(tiny_data)
    data["train_images"], data["train_labels"] = tmp_path / "big-images", tmp_path / "big-labels"
    idx.write_idx(data["train_images"], make_images(rng, labels))
    idx.write_idx(data["train_labels"], labels)
    raw = {
        "name": "killed",
        "data": {**{k: str(v) for k, v in data.items()}, "validation_size": 100},
        "network": {"sizes": [64, 20, 3], "cost": "cross-entropy", "init": "scaled"},
        "training": {"epochs": 12, "mini_batch_size": 1, "eta": 0.1, "momentum": 0.3},
    }
    path = tmp_path / "killed.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _nnbp(*args, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "nnbp", *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw,
    )  # fmt: skip


def test_sigkill_mid_epoch_then_resume_gives_identical_weights(tmp_path, tiny_data):
    cfg = _subprocess_config(tmp_path, tiny_data)
    straight = _nnbp("train", cfg, "--out", tmp_path / "straight")
    assert straight.wait(timeout=120) == 0, straight.stderr.read()

    run = tmp_path / "killed"
    victim = _nnbp("train", cfg, "--out", run)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        metrics = run / "metrics.jsonl"
        if metrics.exists() and len(metrics.read_text().splitlines()) >= 3:
            break
        time.sleep(0.01)
    time.sleep(0.1)  # into the next epoch
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    assert runs.status(run) == "unfinished"
    ckpt = checkpoint.load(run / "checkpoint.npz")  # loads: the last complete epoch
    assert 3 <= ckpt.state.epoch < 12
    model_file.load(run / "weights.npz")  # and so do the weights

    resumed = _nnbp("train", "--resume", run)
    assert resumed.wait(timeout=120) == 0, resumed.stderr.read()
    assert metrics_of(run) == metrics_of(tmp_path / "straight")
    assert_same_weights(run / "weights.npz", tmp_path / "straight" / "weights.npz")


def test_sigterm_stops_cleanly_with_exit_130(tmp_path, tiny_data):
    cfg = _subprocess_config(tmp_path, tiny_data)
    run = tmp_path / "term"
    proc = _nnbp("train", cfg, "--out", run)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (run / "metrics.jsonl").exists():
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1].startswith("Error: SIGTERM: stopped during epoch")
    assert f"Continue with: nnbp train --resume {run}" in err
    assert runs.status(run) == "unfinished"
