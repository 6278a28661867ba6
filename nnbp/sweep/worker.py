"""A sweep worker: one process that takes the study's trials one by one and trains them.

Each trial is an ordinary run directory (``<out>/trials/NNNN``) trained by ``nnbp.train``;
its epoch hook reports the metric to Optuna and stops the run when the pruner says so.
A worker that dies mid-trial leaves the trial RUNNING: another worker, or the next run
of the same command, fails it and queues a retry with the same parameters, which
resumes the dead trial's run directory (on this machine: the worker's lock file is
free; elsewhere: PostgreSQL's heartbeat has stopped).

Run as ``python -m nnbp.sweep.worker --out DIR --study NAME --host HOST``, with the
storage URL, if any, in ``$NNBP_SWEEP_STORAGE``; BLAS threads are set in the environment
by whoever starts it, before NumPy loads.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nnbp import checkpoint, runs
from nnbp.errors import ExitCode, Interrupted, NnbpError
from nnbp.schedule import ON_EPOCH
from nnbp.sweep.spec import Spec
from nnbp.sweep.storage import import_optuna

POLL_SECONDS = 1.0  # how often an idle worker looks for work while others still run
TRIALS_DIR = "trials"
WORKERS_DIR = "workers"


class Worker:
    """Takes trials from ``study`` until none is left, training each under ``out``."""

    def __init__(self, storage: Any, study: Any, spec: Spec, out: Path, host: str) -> None:
        self.optuna = import_optuna()
        self.storage, self.study, self.spec = storage, study, spec
        self.out, self.host = out.resolve(), host
        self.study_id = storage.get_study_id_from_name(spec.name)
        self.lock = self.out / WORKERS_DIR / f"{host}-{os.getpid()}-{secrets.token_hex(4)}.lock"

    def run(self) -> int:
        """Train trials until the study has none left for this worker; how many it ran."""
        done = 0
        with self._alive():
            while True:
                fail_dead_trials(self.study, self.storage, self.host)
                claimed = self._claim() or self._new()
                if claimed is not None:
                    self._run_trial(*claimed)
                    done += 1
                elif self._states(self.optuna.trial.TrialState.RUNNING):
                    time.sleep(POLL_SECONDS)  # a trial elsewhere may die and come back
                else:
                    return done

    @contextlib.contextmanager
    def _alive(self) -> Iterator[None]:
        """Hold this worker's lock file while it lives: its trials are alive while held."""
        self.lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            runs.try_lock(fd)
            yield
        finally:
            os.close(fd)
            self.lock.unlink(missing_ok=True)

    def _states(self, *states: Any) -> list[Any]:
        return self.study.get_trials(deepcopy=False, states=states)

    def _trial_id(self, number: int) -> int:
        return self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number)

    def _claim(self) -> tuple[Any, int] | None:
        """A queued trial (a grid point, a retry), now RUNNING here; None if none is left."""
        for frozen in self._states(self.optuna.trial.TrialState.WAITING):
            trial_id = self._trial_id(frozen.number)
            try:
                if self.storage.set_trial_state_values(
                    trial_id, state=self.optuna.trial.TrialState.RUNNING
                ):
                    trial = self.optuna.trial.Trial(self.study, trial_id)
                    self._mark(trial)
                    return trial, trial_id
            except self.optuna.exceptions.UpdateFinishedTrialError:
                continue  # another worker took and finished it meanwhile
        return None

    def _new(self) -> tuple[Any, int] | None:
        """A new trial from the sampler while the budget lasts (never for a grid)."""
        if self.spec.sampler == "grid":
            return None
        state = self.optuna.trial.TrialState
        if len(self._states(state.COMPLETE, state.PRUNED, state.RUNNING, state.WAITING)) >= (
            self.spec.trials
        ):
            return None
        trial = self.study.ask()
        self._mark(trial)
        return trial, self._trial_id(trial.number)

    def _mark(self, trial: Any) -> None:
        """Say which worker runs ``trial``, at once, so its death can be noticed."""
        trial.set_user_attr("worker", str(self.lock))
        trial.set_user_attr("worker_host", self.host)

    def _run_trial(self, trial: Any, trial_id: int) -> None:
        params = suggest(trial, self.spec)
        run_dir = self._run_dir(trial)
        trial.set_user_attr("host", self.host)
        trial.set_user_attr("run_dir", str(run_dir))
        say(f"[{self.host}] trial {trial.number} started: {_params(params)} -> {run_dir}")
        try:
            with heartbeat(self.storage, trial_id):
                cfg = self.spec.trial_config(params, f"{self.spec.name}-{trial.number}")
                hook = self._on_epoch(trial, cfg.training.epochs)
                rows, stop_reason, kept = train(cfg, run_dir, hook)
        except Interrupted:
            retry(self.study, self.storage, trial_id)  # the next run continues it
            raise
        except NnbpError as e:
            trial.set_user_attr("error", str(e))
            self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)
            say(f"[{self.host}] trial {trial.number} FAIL: {e}")
            return
        self._tell(trial, rows, stop_reason, kept)

    def _run_dir(self, trial: Any) -> Path:
        """The dead trial's run directory when this is its retry on the same machine."""
        attrs = trial.user_attrs
        previous = attrs.get("run_dir")
        if previous and attrs.get("host") == self.host and Path(previous).is_dir():
            return Path(previous)
        return self.out / TRIALS_DIR / f"{trial.number:04d}"

    def _on_epoch(self, trial: Any, epochs: int) -> Any:
        def hook(row: dict[str, Any]) -> bool:
            value = row.get(self.spec.metric)
            if value is None:
                return False
            trial.report(value, row["epoch"])
            return row["epoch"] < epochs and trial.should_prune()  # the last epoch completes

        return hook

    def _tell(self, trial: Any, rows: list[dict], stop_reason: str, kept: int) -> None:
        values = [
            (r[self.spec.metric], r["epoch"]) for r in rows if r.get(self.spec.metric) is not None
        ]
        sign = 1 if self.spec.maximise else -1  # the best value, at its earliest epoch
        best, epoch = max(values, key=lambda v: (sign * v[0], -v[1])) if values else (None, None)
        trial.set_user_attr("best_epoch", epoch)
        trial.set_user_attr("epochs", len(rows))
        trial.set_user_attr("kept_epoch", kept)
        trial.set_user_attr("test_accuracy", rows[kept - 1]["test_accuracy"] if rows else None)
        trial.set_user_attr("seconds", round(sum(r["seconds"] for r in rows), 3))
        state = self.optuna.trial.TrialState
        if stop_reason == ON_EPOCH or best is None:  # the hook stops a run only to prune it
            self.study.tell(trial, state=state.PRUNED)
            outcome = f"PRUNED after {len(rows)} epochs"
        else:
            self.study.tell(trial, best)
            outcome = f"COMPLETE {self.spec.metric} {best:.4f} (epoch {epoch})"
        say(f"[{self.host}] trial {trial.number} {outcome}")


def suggest(trial: Any, spec: Spec) -> dict[str, Any]:
    """The trial's parameters: fixed ones (queued, retried) as they are, else sampled."""
    params = {}
    for key, dim in spec.space.items():
        if dim.values:
            choices = [dim.encode(v) for v in dim.values]
            params[key] = trial.suggest_categorical(key, choices)
        elif dim.integer:
            params[key] = trial.suggest_int(key, dim.low, dim.high, step=dim.step or 1, log=dim.log)
        else:
            params[key] = trial.suggest_float(key, dim.low, dim.high, step=dim.step, log=dim.log)
    return params


def train(cfg: Any, run_dir: Path, on_epoch: Any) -> tuple[list[dict], str, int]:
    """Train (or resume, or just read) the trial's run: its metric rows, why it stopped
    early (schedule.STOP_REASONS key, or "") and the epoch its weights.npz holds."""
    import nnbp

    status = runs.status(run_dir)
    if status == "unfinished":
        nnbp.train(run_dir, resume=True, on_epoch=on_epoch)
    elif status == "new":
        nnbp.train(cfg, out=run_dir, on_epoch=on_epoch)
    # "finished": the worker died between the run's end and telling the study
    state = checkpoint.load(run_dir / runs.CHECKPOINT_FILE).state
    return state.history, state.stop_reason, nnbp.load(run_dir).epoch or state.epoch


def fail_dead_trials(study: Any, storage: Any, host: str) -> None:
    """Fail and queue again the RUNNING trials whose worker has died: on this machine its
    lock file is free; elsewhere the storage's heartbeat (PostgreSQL) has stopped."""
    optuna = import_optuna()
    optuna.storages.fail_stale_trials(study)
    study_id = storage.get_study_id_from_name(study.study_name)
    for frozen in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        lock = frozen.user_attrs.get("worker")
        if frozen.user_attrs.get("worker_host") != host or not lock:
            continue
        if runs.lock_is_free(Path(lock)):
            retry(
                study,
                storage,
                storage.get_trial_id_from_study_id_trial_number(study_id, frozen.number),
            )


def retry(study: Any, storage: Any, trial_id: int) -> None:
    """FAIL the trial and queue a copy (same parameters, run directory and history)."""
    optuna = import_optuna()
    try:
        if not storage.set_trial_state_values(trial_id, state=optuna.trial.TrialState.FAIL):
            return
    except optuna.exceptions.UpdateFinishedTrialError:
        return  # someone else did
    frozen = storage.get_trial(trial_id)
    again = optuna.storages.RetryHeartbeatStaleTrialCallback(
        max_retry=3, inherit_intermediate_values=True
    )
    again(study, frozen)
    run_dir = frozen.user_attrs.get("run_dir")
    say(f"trial {frozen.number} was interrupted; queued again to continue {run_dir}")


@contextlib.contextmanager
def heartbeat(storage: Any, trial_id: int) -> Iterator[None]:
    """Record the trial's heartbeat every interval while it trains (PostgreSQL, SQLite)."""
    interval = storage.get_heartbeat_interval() if hasattr(storage, "record_heartbeat") else None
    if not interval:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while True:
            storage.record_heartbeat(trial_id)
            if stop.wait(interval):
                return

    thread = threading.Thread(target=beat, name="nnbp-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _params(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items())


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    from nnbp.sweep.storage import open_storage, url_from
    from nnbp.sweep.study import join_study

    parser = argparse.ArgumentParser(prog="python -m nnbp.sweep.worker")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--study", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--stream", help="this worker's own sampler stream (study.sampler)")
    args = parser.parse_args(argv)
    url = url_from(None)
    try:
        storage = open_storage(url, args.out, workers=1, heartbeat=(10, 30))
        study, spec = join_study(storage, args.study, url or str(args.out), args.stream)
        if hasattr(storage, "heartbeat_interval"):
            storage.heartbeat_interval, storage.grace_period = spec.heartbeat
        Worker(storage, study, spec, args.out, args.host).run()
    except (Interrupted, KeyboardInterrupt):  # its trial is queued again for the next run
        return ExitCode.INTERRUPTED
    except NnbpError as e:
        say(f"Error: {e}")
        return e.exit_code
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
