"""The runs under a directory, one summary each, and how two runs differ (``nnbp runs``).

A run directory is any directory holding a config.yaml beside a metrics.jsonl, a
checkpoint or weights, found recursively (so a sweep's trials are runs too). A run whose
files cannot be read is listed as broken, with the reason, and the listing goes on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nnbp import provenance, runs
from nnbp.config import Config
from nnbp.errors import NnbpError, RunError

MARKERS = (runs.METRICS_FILE, runs.CHECKPOINT_FILE, runs.WEIGHTS_FILE)
SORT_KEYS = ("name", "status", "epochs", "kept_epoch", "validation_accuracy",
             "test_accuracy", "seconds", "started")  # fmt: skip
_HIGHER_FIRST = {"epochs", "kept_epoch", "validation_accuracy", "test_accuracy", "started"}


def find(root: Path) -> list[Path]:
    """Every run directory under ``root`` (``root`` itself included), sorted."""
    if not root.is_dir():
        raise RunError(f"{root}: no such directory")
    found = []
    for config in root.rglob(runs.CONFIG_FILE):
        run = config.parent
        if not run.is_symlink() and any((run / m).is_file() for m in MARKERS):
            found.append(run)
    return sorted(found)


# Where a run was made, not how: a run's data.dir is its absolute data directory.
_NOT_SETTINGS = ("name", "data.dir")


def changed_keys(cfg: Config) -> dict[str, Any]:
    """The config keys whose value differs from nnbp's default (name and data.dir aside)."""
    defaults, mine = Config().flat(), cfg.flat()
    return {k: v for k, v in mine.items() if k not in _NOT_SETTINGS and v != defaults.get(k)}


def summary(run: Path, root: Path | None = None) -> dict[str, Any]:
    """One run: name, status, epochs, kept epoch, accuracies, seconds, changed keys."""
    from nnbp import metrics

    name = str(run.relative_to(root)) if root is not None and run != root else str(run)
    row: dict[str, Any] = {"name": name, "path": str(run), "status": "broken"}
    try:
        cfg = Config.from_yaml(run / runs.CONFIG_FILE)
        rows = (
            metrics.read_log(run / runs.METRICS_FILE) if (run / runs.METRICS_FILE).is_file() else []
        )
        made = provenance.read(run) or {}
        kept = _kept_epoch(run, rows)
    except NnbpError as e:
        return {**row, "reason": str(e)}
    last = rows[kept - 1] if kept else {}
    row.update(
        status=_status(run, made), epochs=len(rows), kept_epoch=kept or None,
        validation_accuracy=last.get("validation_accuracy"),
        test_accuracy=last.get("test_accuracy"),
        seconds=round(sum(r.get("seconds") or 0.0 for r in rows), 3),
        started=made.get("started"), changed=changed_keys(cfg),
    )  # fmt: skip
    return row


def _kept_epoch(run: Path, rows: list[dict[str, Any]]) -> int:
    """The epoch weights.npz holds (0: none yet)."""
    from nnbp import model_file

    if not (run / runs.WEIGHTS_FILE).is_file():
        return 0
    _, meta = model_file.load(run / runs.WEIGHTS_FILE)
    epoch = meta.get("epoch")
    if not isinstance(epoch, int) or not 1 <= epoch <= len(rows):
        raise RunError(f"{run}: weights.npz's epoch {epoch} is not in metrics.jsonl")
    return epoch


def _status(run: Path, made: dict[str, Any]) -> str:
    """finished, running (its lock is held), interrupted, diverged or new."""
    if not runs.lock_is_free(run / runs.LOCK_FILE):
        return "running"
    now = runs.status(run)
    if now == "unfinished":
        return "diverged" if made.get("outcome") == "diverged" else "interrupted"
    return now


def listing(root: Path, sort: str = "name") -> list[dict[str, Any]]:
    """Summaries of every run under ``root``, sorted by ``sort`` (broken runs last)."""
    rows = [summary(run, root) for run in find(root)]
    ok = [r for r in rows if r["status"] != "broken"]
    missing = [r for r in ok if r.get(sort) is None]
    ranked = sorted((r for r in ok if r.get(sort) is not None), key=lambda r: r[sort],
                    reverse=sort in _HIGHER_FIRST)  # fmt: skip
    return ranked + missing + [r for r in rows if r["status"] == "broken"]


def diff(a: Path, b: Path) -> dict[str, Any]:
    """The config keys where runs ``a`` and ``b`` differ, and their results side by side."""
    for run in (a, b):
        if not (run / runs.CONFIG_FILE).is_file():
            raise RunError(f"{run}: not a run directory (no {runs.CONFIG_FILE})")
    sa, sb = summary(a), summary(b)
    for s in (sa, sb):
        if s["status"] == "broken":
            raise RunError(s["reason"])
    ca = Config.from_yaml(a / runs.CONFIG_FILE).flat()
    cb = Config.from_yaml(b / runs.CONFIG_FILE).flat()
    keys = [k for k in ca if k not in _NOT_SETTINGS and ca[k] != cb.get(k)]
    results = ("status", "epochs", "kept_epoch", "validation_accuracy", "test_accuracy", "seconds")
    return {
        "a": str(a), "b": str(b),
        "config": {k: [ca[k], cb.get(k)] for k in keys},
        "results": {k: [sa.get(k), sb.get(k)] for k in results},
    }  # fmt: skip
