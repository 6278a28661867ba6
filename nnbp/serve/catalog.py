"""The runs ``nnbp serve`` shows: the run directories beside the one it serves (runs/),
found by name without leaving that directory, each model loaded once, and what the page
shows of a run.

A run name from a URL is one directory entry: ``..``, a path, or a symlink that leads
out of the runs directory names no run (404), and so does a file of a run that is a
symlink out of it. Models and test reports are cached per weights file and reloaded
when training rewrites it. Every method is safe to call from several threads at once.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from nnbp import metrics, runs
from nnbp.errors import NnbpError, RequestError, UsageError
from nnbp.model import Model
from nnbp.yamlfile import read_yaml

MAX_ERRORS = 8  # the most confidently wrong test images a run's page shows


class Catalog:
    """The runs of one directory (``root``, such as runs/), and the one of them, the
    default, that predictions use when a request names none."""

    def __init__(self, default_run: Path | None) -> None:
        """``default_run``: a run directory (None: runs/latest); its directory is ``root``."""
        _, run = runs.resolve_weights(default_run)
        if default_run is not None and not default_run.is_dir():
            raise UsageError(f"{default_run}: expected a run directory (holding weights.npz)")
        real = run.resolve()
        self.root = real.parent
        self.default = real.name
        self._model_lock = threading.Lock()
        self._test_lock = threading.Lock()  # apart: a report's second must not stall predictions
        self._models: dict[Path, tuple[tuple[int, int], Model]] = {}
        self._tests: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}
        self.model(None)  # a default run that cannot be loaded stops the server at once

    def names(self) -> list[str]:
        """The runs of the runs directory, by name: directories (or symlinks to one inside
        the runs directory) holding weights.npz; runs/latest is not a run of its own."""
        try:
            entries = sorted(os.listdir(self.root))
        except OSError:
            return []
        return [e for e in entries if e != runs.LATEST and self._run_dir(e) is not None]

    def find(self, name: str | None) -> Path:
        """The real path of the run called ``name`` (None: the default run); a 404
        RequestError for anything that is not a run of the runs directory."""
        run = self._run_dir(self.default if name is None else name)
        if run is None:
            raise RequestError(f"no run called {name!r} under {self.root}", status=404)
        return run

    def _run_dir(self, name: str) -> Path | None:
        """The run directory ``name`` names, if it is one entry of the runs directory
        leading to a run inside it."""
        if name in ("", ".", "..") or any(c in name for c in "/\\\0") or name.startswith("."):
            return None
        try:
            real = (self.root / name).resolve()
        except (OSError, RuntimeError):  # RuntimeError: a symlink loop
            return None
        if real.parent != self.root or not real.is_dir():
            return None
        return real if _inside(real, runs.WEIGHTS_FILE) is not None else None

    def model(self, name: str | None) -> Model:
        """The model of run ``name`` (None: the default run), loaded once per weights file."""
        run = self.find(name)
        stamp = _stamp(run / runs.WEIGHTS_FILE)
        with self._model_lock:
            cached = self._models.get(run)
            if cached is None or cached[0] != stamp:
                cached = (stamp, Model.load(run))
                self._models[run] = cached
        return cached[1]

    def listing(self) -> dict[str, Any]:
        """``GET /api/runs``: each run's name, epochs trained and the test accuracy of its
        kept epoch, and the default run's name."""
        rows = []
        for name in self.names():
            try:
                records, _ = _metrics(self.find(name))
                epoch = self.model(name).epoch
            except NnbpError:  # gone since it was listed, or weights nnbp cannot read
                continue
            accuracy = _accuracy_at(records, epoch)
            rows.append(
                {"name": name, "epochs": len(records), "epoch": epoch, "test_accuracy": accuracy}
            )
        return {"runs": rows, "default": self.default}

    def details(self, name: str) -> dict[str, Any]:
        """``GET /api/runs/<name>``: the network, config, metrics rows, the kept epoch's
        test accuracy, and the test set's confusion matrix and most confident errors.

        A file the run lacks is reported in the answer (``metrics_error``, ``test.error``)
        rather than failing it, so the page shows what there is.
        """
        run = self.find(name)
        model = self.model(name)
        records, metrics_error = _metrics(run)
        return {
            "name": name,
            "sizes": model.sizes,
            "cost": model.cost,
            "class_names": model.class_names,
            "input_shape": list(model.input_shape),
            "preparation": model.preparation,
            "epoch": model.epoch,
            "test_accuracy": _accuracy_at(records, model.epoch),
            "config": _config(run),
            "metrics": records,
            "metrics_error": metrics_error,
            "test": self._test_report(run, model),
        }

    def _test_report(self, run: Path, model: Model) -> dict[str, Any]:
        """The test set's accuracy, confusion matrix and most confident errors (with their
        pixels), computed once per weights file."""
        stamp = _stamp(run / runs.WEIGHTS_FILE)
        with self._test_lock:  # one computation, however many pages ask at once
            cached = self._tests.get(run)
            if cached is None or cached[0] != stamp:
                cached = (stamp, _evaluate(model))
                self._tests[run] = cached
        return cached[1]


def _evaluate(model: Model) -> dict[str, Any]:
    """Model.evaluate and Model.confident_errors on the run's test set; an error message
    instead when the test data cannot be read."""
    try:
        images, labels, source = model.test_data()
        report = model.evaluate(images, labels)
        errors = model.confident_errors(images, labels, MAX_ERRORS)
    except NnbpError as e:
        return {"error": str(e)}
    for error in errors:
        error["image"] = np.asarray(images[error["index"]]).tolist()
    return {"source": source.name, "accuracy": report.accuracy, "cost": report.cost,
            "n": report.n, "confusion": report.confusion.tolist(), "errors": errors}  # fmt: skip


def _inside(run: Path, name: str) -> Path | None:
    """``run/name`` if it is a regular file that does not lead out of the runs directory."""
    try:
        real = (run / name).resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop
        return None
    return real if real.parent == run and real.is_file() else None


def _stamp(path: Path) -> tuple[int, int]:
    """(modification time, size) of a file: it changes when training rewrites it."""
    try:
        info = path.stat()
    except OSError:
        return (0, 0)
    return (info.st_mtime_ns, info.st_size)


def _metrics(run: Path) -> tuple[list[dict[str, Any]], str | None]:
    """(rows of metrics.jsonl, None), or ([], why they cannot be read)."""
    path = _inside(run, runs.METRICS_FILE)
    if path is None:
        return [], f"{run / runs.METRICS_FILE}: not found"
    try:
        records = metrics.read_log(path)
    except NnbpError as e:
        return [], str(e)
    # A diverged epoch may have logged NaN, which JSON cannot carry: null, as a gap.
    for r in records:
        for key in metrics.LOG_NUMBERS:
            if isinstance(r.get(key), float) and not np.isfinite(r[key]):
                r[key] = None
    return records, None


def _config(run: Path) -> dict[str, Any] | None:
    """The run's resolved config.yaml as a dict; None when it is missing or unreadable."""
    path = _inside(run, runs.CONFIG_FILE)
    try:  # nnbp's own reading: size-capped, YAML 1.2 numbers, one error class
        raw = read_yaml(path, "config") if path else None
    except NnbpError:
        return None
    return raw if isinstance(raw, dict) else None


def _accuracy_at(records: list[dict[str, Any]], epoch: int | None) -> float | None:
    """The test accuracy metrics.jsonl records for ``epoch``, if any."""
    row = next((r for r in records if r.get("epoch") == epoch), None)
    value = None if row is None else row.get("test_accuracy")
    return value if isinstance(value, int | float) else None
