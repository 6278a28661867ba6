"""Hyperparameter sweeps on Optuna: ``nnbp.sweep.run(spec)``, ``join``, ``report``.

A sweep is an Optuna study whose trials are ordinary nnbp runs. ``run`` creates the
study (or continues it: running the same spec again redoes nothing) and starts worker
processes on this machine; ``join`` adds this machine's workers to a study that lives
in a shared storage (PostgreSQL). Optuna is an optional extra (``nnbp[sweep]``); this
package imports it only when a study is opened.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nnbp import runs
from nnbp.errors import Interrupted, SweepError
from nnbp.sweep import report as report_mod
from nnbp.sweep import spec as spec_mod
from nnbp.sweep.spec import Spec
from nnbp.sweep.storage import ENV, masked, open_storage, url_from

__all__ = ["Spec", "join", "load_spec", "report", "run"]

SWEEPS_ROOT = Path("sweeps")
HOST_ENV = "NNBP_SWEEP_HOST"  # the name this machine's trials record (default: host name)
BEST = "best"
SPEC_FILE = "spec.json"
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

load_spec = spec_mod.load


def host_name() -> str:
    return os.environ.get(HOST_ENV) or socket.gethostname()


def default_out(name: str) -> Path:
    return SWEEPS_ROOT / name


def run(
    spec: str | os.PathLike | Spec,
    *,
    workers: int | None = None,
    storage: str | None = None,
    out: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Run (or continue) the sweep ``spec``; its report (``report``'s summary).

    ``workers`` processes on this machine (default: the spec's), each taking trials until
    none is left. ``storage``: a PostgreSQL URL (default ``$NNBP_SWEEP_STORAGE``, else a
    journal file in the sweep directory ``out``, default ``sweeps/<name>``).
    """
    if not isinstance(spec, Spec):
        spec = spec_mod.load(spec, overrides)
    workers = workers or spec.workers
    url = url_from(storage)
    out = Path(out) if out is not None else default_out(spec.name)
    store = open_storage(url, out, workers=workers, heartbeat=spec.heartbeat)
    from nnbp.sweep.study import open_study

    study = open_study(store, spec)
    out.mkdir(parents=True, exist_ok=True)
    runs.write_text(out, SPEC_FILE, _json(spec.to_dict()))
    launch(spec.name, out, url, workers, spec.threads_per_worker, own_streams=workers > 1)
    return finish(study, spec, out)


def join(
    study_name: str,
    *,
    storage: str | None = None,
    workers: int | None = None,
    out: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Add this machine's workers to the study ``study_name`` in ``storage``; its report."""
    from nnbp.sweep.study import join_study

    url = url_from(storage)
    if url is None:
        raise SweepError(f"give the study's storage URL (--storage, or ${ENV})")
    out = Path(out) if out is not None else default_out(study_name)
    store = open_storage(url, out, workers=1, heartbeat=(10, 30))
    study, spec = join_study(store, study_name, masked(url))
    launch(spec.name, out, url, workers or spec.workers, spec.threads_per_worker, own_streams=True)
    return finish(study, spec, out)


def report(
    spec: str | os.PathLike | None = None,
    *,
    storage: str | None = None,
    study: str | None = None,
    out: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """The trials of a sweep, best first: from its spec (and ``out``), or ``study`` in
    ``storage``."""
    from nnbp.sweep.study import join_study

    url = url_from(storage)
    if spec is not None:
        loaded = spec_mod.load(spec)
        study = loaded.name
        out = Path(out) if out is not None else default_out(loaded.name)
        if url is None and not (out / "study.journal").is_file():
            raise SweepError(f"{out}: no sweep there yet; run it with `nnbp sweep run {spec}`")
    if study is None:
        raise SweepError("give a spec file, or --storage URL and --study NAME")
    store = open_storage(url, Path(out or default_out(study)), workers=1, heartbeat=(10, 30))
    found, loaded = join_study(store, study, masked(url, Path(out or ".")))
    return report_mod.summary(found, loaded)


def launch(
    name: str, out: Path, url: str | None, workers: int, threads: int, own_streams: bool
) -> None:
    """Start ``workers`` worker processes and wait for them all; Ctrl-C or SIGTERM stops
    them cleanly (each queues its trial again) and raises Interrupted. ``own_streams``:
    each worker samples from its own stream (study.sampler)."""
    env = {**os.environ, **dict.fromkeys(THREAD_VARS, str(threads))}
    env.pop(ENV, None)
    if url is not None:
        env[ENV] = url  # the environment, not argv: ps shows the command lines
    command = [
        sys.executable,
        "-m",
        "nnbp.sweep.worker",
        "--out",
        str(out),
        "--study",
        name,
        "--host",
        host_name(),
    ]
    streams = [["--stream", f"{host_name()}/{i}"] if own_streams else [] for i in range(workers)]
    procs = [subprocess.Popen(command + stream, env=env) for stream in streams]

    def forward(signum: int, _frame: Any) -> None:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        codes = [_wait(p) for p in procs]
    finally:
        signal.signal(signal.SIGTERM, previous)
    if any(code in (130, -signal.SIGINT, -signal.SIGTERM) for code in codes):
        raise Interrupted(f"sweep {name} interrupted; run the same command again to continue it")
    failed = [c for c in codes if c != 0]
    if failed:
        raise SweepError(f"{len(failed)} of {workers} workers failed (exit {failed[0]}); see above")


def _wait(proc: subprocess.Popen) -> int:
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:  # the workers got Ctrl-C too: wait for them to stop
            continue


def finish(study: Any, spec: Spec, out: Path) -> dict[str, Any]:
    """The report; ``<out>/best`` points at the best trial's run when it is here."""
    summary = report_mod.summary(study, spec)
    best = summary["best"]
    if best is not None and "run_dir" in best and best.get("host") == host_name():
        runs.update_latest(Path(best["run_dir"]), out, BEST)
    return summary


def _json(data: Any) -> str:
    import json

    return json.dumps(data, indent=2) + "\n"
