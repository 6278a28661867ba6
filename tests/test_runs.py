"""Run directories: refusal to overwrite, the latest pointer, metrics lines, atomic writes."""

from __future__ import annotations

import json
import os
import stat

import pytest

from nnbp import runs
from nnbp.atomic import atomic_write_bytes
from nnbp.errors import RunError, UsageError


def test_prepare_refuses_a_finished_run_unless_overwrite(tmp_path):
    run = tmp_path / "r"
    runs.prepare(run, overwrite=False)
    (run / runs.METRICS_FILE).write_text("{}\n")
    runs.prepare(run, overwrite=False)  # unfinished: fine, starts afresh
    assert not (run / runs.METRICS_FILE).exists()
    (run / runs.WEIGHTS_FILE).write_bytes(b"x")
    with pytest.raises(UsageError, match="holds a finished run; pass --overwrite"):
        runs.prepare(run, overwrite=False)
    assert (run / runs.WEIGHTS_FILE).exists()
    runs.prepare(run, overwrite=True)
    assert not (run / runs.WEIGHTS_FILE).exists()


def test_prepare_refuses_a_file_and_an_unwritable_place(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(RunError, match="exists and is not a directory"):
        runs.prepare(tmp_path / "f", overwrite=True)
    with pytest.raises(RunError, match="cannot create the run directory"):
        runs.prepare(tmp_path / "f" / "sub", overwrite=False)


def test_metrics_log_writes_one_json_object_per_line(tmp_path):
    log = runs.MetricsLog(tmp_path)
    log.append({"epoch": 1, "x": 0.5})
    # Each line is on disk as soon as it is appended, before close.
    assert (tmp_path / runs.METRICS_FILE).read_text() == '{"epoch": 1, "x": 0.5}\n'
    log.append({"epoch": 2, "x": None})
    log.close()
    lines = (tmp_path / runs.METRICS_FILE).read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]


def test_latest_points_to_the_newest_run_under_runs(tmp_path):
    root = tmp_path / "runs"
    with pytest.raises(RunError, match="no latest run"):
        runs.find_latest(root)
    a, b, elsewhere = root / "a", root / "b", tmp_path / "elsewhere" / "c"
    for run in (a, b, elsewhere):
        run.mkdir(parents=True)
    runs.update_latest(a, root)
    assert runs.find_latest(root) == a.resolve()
    assert os.readlink(root / "latest") == "a"  # relative inside runs/, so runs/ can move
    runs.update_latest(b, root)
    assert runs.find_latest(root) == b.resolve()
    # A run outside runs/ (--out elsewhere) is not the latest run in runs/.
    runs.update_latest(elsewhere, root)
    assert runs.find_latest(root) == b.resolve()
    assert sorted(p.name for p in root.iterdir()) == ["a", "b", "latest"]  # no temp left


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "w.bin"
    atomic_write_bytes(target, b"old")

    def boom(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["w.bin"]


@pytest.mark.parametrize("has_fchmod", [True, False])
def test_atomic_writes_work_with_and_without_os_fchmod(tmp_path, monkeypatch, has_fchmod):
    from nnbp.atomic import atomic_write_text

    if not has_fchmod:  # as on Windows before Python 3.13
        monkeypatch.delattr(os, "fchmod", raising=False)
    target = tmp_path / "f.txt"
    target.write_text("old")
    atomic_write_text(target, "new")
    mask = os.umask(0)
    os.umask(mask)
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]  # no temporary file left
