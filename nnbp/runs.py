"""The run directory: where ``nnbp train`` leaves its work, and how later commands find it.

    runs/<name>/config.yaml    the resolved config (every key, defaults included)
    runs/<name>/metrics.jsonl  one JSON object per epoch, appended as each epoch ends
    runs/<name>/weights.npz    the kept network (the best validation epoch so far, or the
                               last), rewritten atomically after every epoch
    runs/<name>/checkpoint.npz everything needed to resume (see checkpoint.py), likewise
    runs/<name>/.lock          locked while a process trains there (holds its pid)
    runs/latest                a symlink to the newest run under runs/ (a text file
                               holding its path where symlinks are not available)

A run is *finished* when its checkpoint says so (or, for weights without a checkpoint,
when weights.npz exists). Neither a finished nor an interrupted run is replaced unless
the user asks (``--overwrite``); an interrupted one continues with ``--resume``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from nnbp.atomic import atomic_write_text
from nnbp.errors import RunError, UsageError

RUNS_ROOT = Path("runs")
LATEST = "latest"
CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.jsonl"
WEIGHTS_FILE = "weights.npz"
CHECKPOINT_FILE = "checkpoint.npz"
RUN_FILE = "run.json"  # how the run was made (provenance.py)
PLOTS_DIR = "plots"  # nnbp plot's default output
LOCK_FILE = ".lock"  # held while a process trains in the directory


def default_dir(name: str, root: Path = RUNS_ROOT) -> Path:
    """``runs/<name>``."""
    return root / name


def next_free(run: Path) -> Path:
    """``run`` if it holds no run yet, else the first of ``run-2``, ``run-3``, ... that
    holds none, so a finished run is never replaced. An interrupted run on the way is
    an error saying how to resume it: it is never silently left behind."""
    candidate, n = run, 1
    while True:
        now = status(candidate)
        if now == "new":
            return candidate
        if now == "unfinished":
            raise UsageError(
                f"{candidate}: holds an interrupted run; continue it with `nnbp train --resume"
                f" {candidate}`, or pass --overwrite to start it again (or --out DIR)"
            )
        n += 1
        candidate = run.with_name(f"{run.name}-{n}")


def status(run: Path) -> str:
    """``new`` (nothing to lose), ``unfinished`` (resumable) or ``finished``."""
    ckpt = run / CHECKPOINT_FILE
    if ckpt.is_file():
        try:
            with np.load(ckpt, allow_pickle=False) as npz:
                done = bool(json.loads(str(npz["state"][()])).get("finished"))
        except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
            done = False  # unreadable: call it unfinished, so nothing is replaced silently
        return "finished" if done else "unfinished"
    return "finished" if (run / WEIGHTS_FILE).is_file() else "new"


def check_target(run: Path, *, overwrite: bool) -> None:
    """Refuse, before any work, a run directory that is a file or holds a run's work."""
    if run.exists() and not run.is_dir():
        raise RunError(f"{run}: exists and is not a directory")
    if overwrite:
        return
    now = status(run)
    if now == "finished":
        raise UsageError(
            f"{run}: holds a finished run; pass --overwrite to replace it, or --out DIR"
        )
    if now == "unfinished":
        raise UsageError(
            f"{run}: holds an interrupted run; continue it with `nnbp train --resume {run}`,"
            " or pass --overwrite to start again"
        )


def prepare(run: Path, *, overwrite: bool) -> None:
    """Make ``run`` ready for a new training run, refusing to replace a finished one.

    With ``overwrite`` everything nnbp wrote there before goes first (weights, metrics,
    checkpoint, config, plots), so the directory never mixes two runs' files.
    """
    was_run = status(run) != "new"
    check_target(run, overwrite=overwrite)
    try:
        run.mkdir(parents=True, exist_ok=True)
        for name in (WEIGHTS_FILE, METRICS_FILE, CHECKPOINT_FILE, CONFIG_FILE, RUN_FILE):
            (run / name).unlink(missing_ok=True)
        if was_run and (run / PLOTS_DIR).is_dir():
            shutil.rmtree(run / PLOTS_DIR)
    except OSError as e:
        raise RunError(f"{run}: cannot create the run directory ({e.strerror or e})") from None
    if not os.access(run, os.W_OK | os.X_OK):
        raise RunError(f"{run}: the run directory is not writable")


@contextlib.contextmanager
def locked(run: Path) -> Iterator[None]:
    """Hold ``run``'s lock (creating the directory) while a process trains in it.

    An OS file lock, which the kernel releases when the process ends however it ends, so
    a killed run stays resumable; a second process is refused with a RunError.
    """
    try:
        run.mkdir(parents=True, exist_ok=True)
        fd = os.open(run / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as e:
        raise RunError(f"{run}: cannot create the run directory ({e.strerror or e})") from None
    try:
        if not try_lock(fd):
            holder = os.read(fd, 32).decode(errors="replace").strip()
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise RunError(f"{run}: another process is training there{who}; wait for it to end")
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)  # closing releases the lock


def check_not_in_use(run: Path) -> None:
    """RunError if a process is training in ``run`` now."""
    if (run / LOCK_FILE).is_file():
        with locked(run):
            pass


def lock_is_free(path: Path) -> bool:
    """True unless a live process holds the lock file ``path`` (a missing file is free)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        return try_lock(fd)
    finally:
        os.close(fd)


def try_lock(fd: int) -> bool:
    """Take an exclusive lock on the open file ``fd`` without waiting; False if held."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def write_text(run: Path, name: str, text: str) -> None:
    """Write a file of the run atomically; an OS failure is a RunError naming it."""
    try:
        atomic_write_text(run / name, text)
    except OSError as e:
        raise RunError(f"{run / name}: cannot write ({e.strerror or e})") from None


class MetricsLog:
    """``metrics.jsonl``, one JSON object per line, each line on disk once written."""

    def __init__(self, run: Path, history: list[dict[str, Any]] | None = None) -> None:
        """Start metrics.jsonl afresh, or (resuming) as exactly the lines of ``history``.

        Resuming rewrites the file from the checkpoint's history, atomically: an epoch
        whose line was written but whose checkpoint was not (a kill in between) is
        dropped, since that epoch will be trained again.
        """
        self.path = run / METRICS_FILE
        try:
            if history:
                atomic_write_text(self.path, "".join(json.dumps(m) + "\n" for m in history))
            self._file: IO[str] = open(  # noqa: SIM115
                self.path, "a" if history else "w", encoding="utf-8"
            )
        except OSError as e:
            raise RunError(f"{self.path}: cannot write ({e.strerror or e})") from None

    def append(self, record: dict[str, Any]) -> None:
        try:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as e:
            raise RunError(f"{self.path}: cannot write ({e.strerror or e})") from None

    def close(self) -> None:
        self._file.close()


def update_latest(run: Path, root: Path = RUNS_ROOT, name: str = LATEST) -> None:
    """Point ``runs/latest`` (``root/name``) at ``run`` (atomically), when ``run`` lies
    under ``root``: a run elsewhere (``--out /tmp/x``) is not the latest run in runs/."""
    run_abs = run.resolve()
    try:
        target = str(run_abs.relative_to(root.resolve()))
    except ValueError:
        return
    latest = root / name
    tmp = root / f".{name}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        tmp.symlink_to(target, target_is_directory=True)
    except OSError:
        tmp.write_text(str(run_abs) + "\n", encoding="utf-8")
    os.replace(tmp, latest)


def find_latest(root: Path = RUNS_ROOT) -> Path:
    """The directory ``runs/latest`` points to."""
    latest = root / LATEST
    if latest.is_symlink():
        run = latest.resolve()
    elif latest.is_file():
        run = Path(latest.read_text(encoding="utf-8").strip())
    else:
        raise RunError(f"{latest}: no latest run; train one with `nnbp train CONFIG` first")
    if not run.is_dir():
        raise RunError(f"{latest}: points to {run}, which is not a directory")
    return run


def resolve_weights(target: Path | None, root: Path = RUNS_ROOT) -> tuple[Path, Path | None]:
    """A run directory, a weights file or nothing (the latest run) -> (weights, run dir).

    The run directory is None for a weights file that does not sit in one (no
    config.yaml beside it): then there is no config to name the test data.
    """
    if target is None:
        target = find_latest(root)
    if target.is_dir():
        weights = target / WEIGHTS_FILE
        if not weights.is_file():
            raise RunError(f"{target}: no {WEIGHTS_FILE}; has the run finished?")
        return weights, target
    if not target.exists():
        raise RunError(f"{target}: no such run directory or weights file")
    run = target.parent
    return target, run if (run / CONFIG_FILE).is_file() else None
