"""Never lose work: checkpoints, interruption and resume, divergence, write failures.

The library's behaviour is tested through ``nnbp.training.train``; a real Ctrl-C,
SIGTERM and SIGKILL go to ``python -m nnbp train`` in a subprocess.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import assert_one_error_line, make_images

from nnbp import atomic, checkpoint, fit, idx, model_file, runs, sgd
from nnbp.epoch import StopFlag
from nnbp.errors import Diverged, ExitCode, Interrupted, ModelFileError, RunError, UsageError
from nnbp.training import stop_on_signals, train


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # runs/<name> and runs/latest go under the test's own directory, never the checkout's.
    monkeypatch.chdir(tmp_path)


def metrics_of(run: Path) -> list[dict]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if "seconds" not in k} for x in lines]


def assert_same_weights(a: Path, b: Path) -> None:
    (na, ma), (nb, mb) = model_file.load(a), model_file.load(b)
    assert ma == mb
    for p, q in zip(na.params, nb.params, strict=True):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("extra", [{}, {"dropout": 0.3}])
def test_ctrl_c_stops_cleanly_and_resume_ends_as_an_uninterrupted_run(tiny_config, extra):
    cfg = tiny_config(training={"epochs": 4, "momentum": 0.5, "eta": 1.0, **extra})
    straight = train(cfg, out="straight")

    def ctrl_c_in_epoch_3(epoch, done, total):
        if epoch == 3 and done == total // 2:
            os.kill(os.getpid(), signal.SIGINT)  # the handler only sets a flag

    with pytest.raises(Interrupted) as e:
        train(cfg, out="cut", on_batches=ctrl_c_in_epoch_3)
    assert e.value.exit_code == ExitCode.INTERRUPTED == 130
    assert "SIGINT: stopped during epoch 3; cut holds epoch 2" in str(e.value)
    assert "nnbp train --resume cut" in str(e.value)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    assert runs.status(Path("cut")) == "unfinished"
    assert json.loads(Path("cut/run.json").read_text())["outcome"] == "interrupted"
    assert len(metrics_of(Path("cut"))) == 2
    assert model_file.load(Path("cut/weights.npz"))[1]["epoch"] in (1, 2)

    with pytest.raises(UsageError, match="holds an interrupted run") as e:
        train(cfg, out="cut")
    assert "--resume" in str(e.value) and e.value.exit_code == 2

    started = []
    resumed = train("cut", resume=True, on_start=lambda splits, done: started.append(done))
    assert started == [2]  # resumed after epoch 2
    assert metrics_of(Path("cut")) == metrics_of(Path("straight"))
    assert_same_weights(Path("cut/weights.npz"), Path("straight/weights.npz"))
    ck_a = checkpoint.load(Path("cut/checkpoint.npz"))
    ck_b = checkpoint.load(Path("straight/checkpoint.npz"))
    for p, q in zip(ck_a.params + ck_a.velocity, ck_b.params + ck_b.velocity, strict=True):
        np.testing.assert_array_equal(p, q)  # the last epoch's weights and momentum too
    assert runs.status(Path("cut")) == "finished"
    made = json.loads(Path("cut/run.json").read_text())
    assert made["outcome"] == "finished" and [s["outcome"] for s in made["sessions"]] == [
        "interrupted"
    ]
    fields = ("epochs_trained", "kept_epoch", "test_accuracy", "validation_accuracy")
    assert [getattr(resumed, f) for f in fields] == [getattr(straight, f) for f in fields]


def test_resume_refusals(tiny_config):
    cfg = tiny_config(training={"epochs": 1})
    with pytest.raises(RunError, match="no checkpoint to resume from") as e:
        train(cfg, resume=True)
    assert e.value.exit_code == 1
    train(cfg)
    with pytest.raises(RunError, match="the run has finished") as e:
        train("runs/tiny", resume=True)
    assert e.value.exit_code == 1
    with pytest.raises(UsageError, match="is a directory; give a config file") as e:
        train("runs/tiny")
    assert e.value.exit_code == 2
    with pytest.raises(UsageError, match="exclude each other") as e:
        train(cfg, resume=True, overwrite=True)
    assert e.value.exit_code == 2


def _interrupt_after_epoch(patch: pytest.MonkeyPatch, epoch: int) -> None:
    """Make the training loop see a stop request at the start of epoch ``epoch + 1``."""
    real = sgd.SGD.epoch
    count = {"n": 0}

    def epoch_then_stop(self, *args, stop=None, **kw):
        count["n"] += 1
        if count["n"] > epoch and stop is not None:
            stop.requested = "SIGINT"
        return real(self, *args, stop=stop, **kw)

    patch.setattr(sgd.SGD, "epoch", epoch_then_stop)


def test_resume_with_another_config_is_refused(tiny_config, monkeypatch):
    cfg = tiny_config(training={"epochs": 3})
    with monkeypatch.context() as patch:
        _interrupt_after_epoch(patch, 1)
        with pytest.raises(Interrupted, match="tiny holds epoch 1"):
            train(cfg)
    with pytest.raises(RunError, match="training.eta cannot change when a run is resumed") as e:
        train(cfg, resume=True, overrides=["training.eta=0.1"])
    assert e.value.exit_code == 1
    assert checkpoint.load(Path("runs/tiny/checkpoint.npz")).state.epoch == 1  # untouched


def test_divergence_stops_with_a_clear_error_and_keeps_the_last_good_epoch(
    tiny_config, monkeypatch
):
    cfg = tiny_config(training={"epochs": 4, "keep": "last"})
    real = fit.evaluate
    calls = {"n": 0}

    def evaluate(net, split, *args):
        calls["n"] += 1
        result = real(net, split, *args)
        if calls["n"] > 3:  # the second epoch's first evaluation (the training set)
            result.cost = float("nan")
        return result

    monkeypatch.setattr(fit, "evaluate", evaluate)
    with pytest.raises(Diverged) as e:
        train(cfg)
    assert e.value.exit_code == 1
    assert "epoch 2: the training cost is nan; training diverged" in str(e.value)
    assert "try a smaller training.eta than 3" in str(e.value)
    assert "runs/tiny keeps epoch 1" in str(e.value)
    assert model_file.load(Path("runs/tiny/weights.npz"))[1]["epoch"] == 1
    assert checkpoint.load(Path("runs/tiny/checkpoint.npz")).state.epoch == 1
    assert len(metrics_of(Path("runs/tiny"))) == 1


def test_a_huge_eta_really_diverges(tiny_config):
    # eta / m overflows float32 to inf: the first step makes the weights inf and NaN.
    with pytest.raises(Diverged, match="training diverged") as e:
        train(tiny_config(training={"eta": 1e300, "epochs": 2}))
    assert e.value.exit_code == 1


def test_a_full_disk_keeps_the_previous_weights(tiny_config, monkeypatch):
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
    with pytest.raises(ModelFileError) as e:
        train(cfg)
    assert e.value.exit_code == 1
    assert "weights.npz: cannot write (No space left on device)" in str(e.value)
    net, meta = model_file.load(Path("runs/tiny/weights.npz"))  # epoch 1's, intact
    assert meta["epoch"] == 1
    hidden = {p.name for p in Path("runs/tiny").iterdir() if p.name.startswith(".")}
    assert hidden <= {runs.LOCK_FILE}  # no temporary file left behind


def test_an_unwritable_run_directory_fails_before_training(tiny_config, tmp_path):
    (tmp_path / "file").write_text("")
    epochs = []
    with pytest.raises(RunError, match="cannot create the run directory") as e:
        train(tiny_config(), out=tmp_path / "file" / "run", on_epoch=epochs.append)
    assert e.value.exit_code == 1
    assert epochs == []


def test_the_command_line_reports_each_refusal_on_one_line(invoke, tiny_config, monkeypatch):
    cfg = tiny_config(training={"epochs": 2})
    with monkeypatch.context() as patch:
        _interrupt_after_epoch(patch, 1)
        with pytest.raises(Interrupted):
            train(cfg)
    result = invoke("train", cfg)
    assert_one_error_line(result, 2, "runs/tiny: holds an interrupted run")
    assert "nnbp train --resume runs/tiny" in result.stderr
    assert_one_error_line(
        invoke("train", "runs/tiny"), 2, "give a CONFIG file, or --resume RUN_DIR"
    )
    assert_one_error_line(invoke("train", cfg, "--resume", "--overwrite"), 2, "exclude each other")
    result = invoke("train", "--resume", "runs/tiny")
    assert result.exit_code == 0, result.output
    assert "resuming after epoch 1" in result.stderr
    assert_one_error_line(invoke("train", "--resume", "runs/tiny"), 1, "the run has finished")


def test_signals_set_the_flag_once_then_fall_through_and_are_restored():
    before = signal.getsignal(signal.SIGTERM)
    flag = StopFlag()
    with stop_on_signals(flag):
        os.kill(os.getpid(), signal.SIGTERM)
        assert flag.requested == "SIGTERM"
        # The first signal put the previous handlers back: a second one is not caught.
        assert signal.getsignal(signal.SIGTERM) is before
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) is before


def test_signals_are_left_alone_outside_the_main_thread():
    flag, seen = StopFlag(), []

    def worker():
        with stop_on_signals(flag):
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [signal.default_int_handler] and flag.requested == ""


# --- a real process: python -m nnbp train ----------------------------------------------


def _subprocess_config(tmp_path: Path, tiny_data: dict[str, Path]) -> Path:
    # 8,000 training images at m = 1 make an epoch 8,000 steps (about 0.2-0.4 s): a signal
    # sent when an epoch's metrics line appears lands in the next epoch, not after the run.
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
        "training": {"epochs": 6, "mini_batch_size": 1, "eta": 0.1, "momentum": 0.3},
    }
    path = tmp_path / "killed.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _nnbp(cwd: Path, *args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "nnbp", *map(str, args)], cwd=cwd,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_for_lines(proc: subprocess.Popen, metrics: Path, n: int, timeout: float = 60) -> None:
    """Return once ``metrics`` holds n complete lines; fail if the process ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if metrics.exists() and metrics.read_text().count("\n") >= n:
            return
        if proc.poll() is not None:
            pytest.fail(f"nnbp exited ({proc.returncode}) first: {proc.stderr.read()}")
        time.sleep(0.005)
    pytest.fail(f"{metrics} did not reach {n} lines within {timeout} s")


def test_sigkill_mid_epoch_then_resume_gives_identical_weights(tmp_path, tiny_data):
    cfg = _subprocess_config(tmp_path, tiny_data)
    straight = _nnbp(tmp_path, "train", cfg, "--out", "straight")
    assert straight.wait(timeout=120) == 0, straight.stderr.read()

    run = tmp_path / "killed"
    victim = _nnbp(tmp_path, "train", cfg, "--out", run)
    _wait_for_lines(victim, run / "metrics.jsonl", 3)  # epoch 3 written, epoch 4 starting
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    assert runs.status(run) == "unfinished"
    ckpt = checkpoint.load(run / "checkpoint.npz")  # loads: the last complete epoch
    assert 3 <= ckpt.state.epoch < 6
    model_file.load(run / "weights.npz")  # and so do the weights

    resumed = _nnbp(tmp_path, "train", "--resume", run)
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert f"resuming after epoch {ckpt.state.epoch}" in err
    assert metrics_of(run) == metrics_of(tmp_path / "straight")
    assert_same_weights(run / "weights.npz", tmp_path / "straight" / "weights.npz")
    assert not (Path(__file__).resolve().parent.parent / "runs" / "killed").exists()


def test_sigterm_stops_cleanly_with_exit_143(tmp_path, tiny_data):
    cfg = _subprocess_config(tmp_path, tiny_data)
    run = tmp_path / "term"
    proc = _nnbp(tmp_path, "train", cfg, "--out", run)
    # A complete line, not the file: metrics.jsonl is created before the handlers are set.
    _wait_for_lines(proc, run / "metrics.jsonl", 1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 == 128 + signal.SIGTERM, err  # the shell's convention
    assert err.strip().splitlines()[-1].startswith("Error: SIGTERM: stopped during epoch")
    assert f"Continue with: nnbp train --resume {run}" in err
    assert runs.status(run) == "unfinished"


@pytest.mark.parametrize("lmbda", [0.0, 1.0])
def test_run_json_says_where_the_update_was_made(tiny_config, lmbda):
    """run.json's ``update``: in BP4 where NumPy's OpenBLAS allows it and there is no
    weight decay; after BP4 otherwise."""
    from nnbp.blas import Gemm

    train(tiny_config(training={"epochs": 1, "lmbda": lmbda}), out="run")
    folded = lmbda == 0 and Gemm.find(np.float32) is not None
    made = json.loads(Path("run/run.json").read_text())
    assert made["update"] == ("in BP4" if folded else "after BP4")
