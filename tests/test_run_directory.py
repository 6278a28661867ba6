"""The run directory as a shared resource: one trainer at a time, a clean --overwrite, and
runs/latest only for runs under runs/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import nnbp
from nnbp import runs
from nnbp.errors import RunError

HOLD_LOCK = """
import sys
from pathlib import Path
from nnbp import runs
with runs.locked(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def lock_holder(tmp_path):
    """start(run): another process holding the run's lock until killed."""
    procs = []

    def start(run: Path) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(run)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, cwd=tmp_path,
        )  # fmt: skip
        procs.append(proc)
        assert proc.stdout.readline().strip() == "locked"  # waits for the lock to be held
        return proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def test_a_second_trainer_is_refused_while_the_first_holds_the_run(
    runner, tiny_config, lock_holder
):
    run = Path("runs/tiny")
    holder = lock_holder(run)
    with pytest.raises(RunError, match=rf"another process is training there \(pid {holder.pid}\)"):
        nnbp.train(tiny_config())
    with pytest.raises(RunError, match="another process is training there"):
        nnbp.train(tiny_config(), overwrite=True)
    assert not (run / "checkpoint.npz").exists()  # nothing was written by the second
    holder.kill()  # a killed holder's lock goes with it
    holder.wait()
    assert nnbp.train(tiny_config()).epochs_trained == 3


def test_an_interrupted_run_in_use_is_not_called_interrupted(runner, tiny_config, lock_holder):
    first = nnbp.train(tiny_config(), overrides={"training.epochs": 1})
    lock_holder(first.directory)
    with pytest.raises(RunError, match="another process is training there"):
        nnbp.train(first.directory, resume=True, overrides={"training.epochs": 2})


def test_the_cli_says_another_process_is_training(invoke, tiny_config, lock_holder):
    from conftest import assert_one_error_line

    lock_holder(Path("runs/tiny"))
    result = invoke("train", tiny_config())
    assert_one_error_line(result, 1, "runs/tiny: another process is training there")


def test_overwrite_removes_everything_of_the_old_run(runner, tiny_config):
    run = nnbp.train(tiny_config()).directory
    (run / "plots").mkdir()
    (run / "plots" / "learning_curves.png").write_bytes(b"old picture")
    nnbp.train(tiny_config(), overrides={"training.epochs": 1}, overwrite=True)
    assert not (run / "plots").exists()
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 1


def test_overwrite_keeps_what_is_not_a_runs_in_a_directory_that_holds_no_run(runner, tiny_config):
    mine = Path("mine")
    (mine / "plots").mkdir(parents=True)
    (mine / "plots" / "holiday.png").write_bytes(b"not nnbp's")
    nnbp.train(tiny_config(), out=mine, overwrite=True)
    assert (mine / "plots" / "holiday.png").read_bytes() == b"not nnbp's"


def test_latest_moves_only_for_runs_under_runs(runner, tiny_config, tmp_path_factory):
    nnbp.train(tiny_config())
    assert runs.find_latest() == Path("runs/tiny").resolve()
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "run"
    nnbp.train(tiny_config(), out=elsewhere)
    assert runs.find_latest() == Path("runs/tiny").resolve()
    nnbp.train(tiny_config(), out="runs/second")
    assert runs.find_latest() == Path("runs/second").resolve()


def test_the_lock_holds_the_trainers_pid_and_is_released_on_exit(runner):
    run = Path("runs/x")
    with runs.locked(run):
        assert (run / runs.LOCK_FILE).read_text() == str(os.getpid())
        with pytest.raises(RunError, match=f"pid {os.getpid()}"):
            runs.check_not_in_use(run)
    runs.check_not_in_use(run)
