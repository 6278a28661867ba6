"""``nnbp.train``: one training run, from a config to a finished run directory.

Loads the data, builds the network and the optimiser from the one seeded Generator,
trains (fit.py), and after every epoch writes, in this order and each atomically: the
checkpoint (the truth a resume starts from), weights.npz (the weights kept so far) and a
line of metrics.jsonl. Ctrl-C or SIGTERM stops at the next check between groups of
mini-batches; the run then holds its last complete epoch and continues with ``resume``,
ending exactly as an uninterrupted run would.
"""

from __future__ import annotations

import json
import math
import os
import signal
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnbp import checkpoint, data, model_file, provenance, runs
from nnbp.config import Config
from nnbp.data import Splits
from nnbp.epoch import Augment, StopFlag
from nnbp.errors import Diverged, Interrupted, UsageError
from nnbp.fit import fit
from nnbp.model import Model
from nnbp.network import Network
from nnbp.schedule import TrainState
from nnbp.sgd import SGD

ConfigLike = Config | Mapping[str, Any] | str | os.PathLike
Overrides = Sequence[str] | Mapping[str, Any] | None


@dataclass(frozen=True)
class Run:
    """A finished training run: its directory and the kept weights' epoch and accuracies."""

    directory: Path
    config: Config
    epochs_trained: int
    kept_epoch: int  # the epoch whose weights weights.npz holds
    test_accuracy: float
    validation_accuracy: float | None
    stop_reason: str  # why training ended before its last epoch (schedule.STOP_REASONS), or ""

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """The rows of metrics.jsonl, one per epoch."""
        path = self.directory / runs.METRICS_FILE
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    @property
    def model(self) -> Model:
        """The kept weights as a Model."""
        return Model.load(self.directory)


def resolve_config(config: ConfigLike, overrides: Overrides = None) -> Config:
    """A Config from a Config, a dict of config keys or a YAML file, overrides applied."""
    if isinstance(config, Config):
        return config.with_overrides(overrides or ())
    if isinstance(config, Mapping):
        return Config.from_dict(config, overrides or ())
    return Config.from_yaml(config, overrides or ())


def train(
    config: ConfigLike,
    *,
    overrides: Overrides = None,
    out: str | os.PathLike | None = None,
    on_epoch: Callable[[dict[str, Any]], Any] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    on_start: Callable[[Splits, int], None] | None = None,
    on_batches: Callable[[int, int, int], None] | None = None,
) -> Run:
    """Train the network ``config`` describes into a run directory; the finished Run.

    config: a path to a YAML file, a dict of config keys or a Config; ``overrides``:
    ``["training.eta=0.5"]`` or ``{"training.eta": 0.5}``. The run goes to ``out``
    (default ``runs/<name>``). ``on_epoch(row)`` sees each metrics row as it is written;
    returning True ends training after that epoch. ``resume`` continues an interrupted
    run (config may then be its directory); ``overwrite`` replaces one.
    ``on_start(splits, epochs_done)`` and ``on_batches(epoch, done, total)`` report
    progress. Raises Interrupted on Ctrl-C or SIGTERM, after the last complete epoch
    is safely on disk.
    """
    if resume and overwrite:
        raise UsageError("resume and overwrite exclude each other")
    cfg, run = _target(config, overrides, out, resume, overwrite)
    runs.check_not_in_use(run)
    _check_run_dir(cfg, run, resume, overwrite)
    flag = StopFlag()
    with stop_on_signals(flag):  # from here on a signal is a clean stop, never a kill
        splits = data.load_splits(cfg)
        if flag.requested:
            raise Interrupted(
                f"{flag.requested}: stopped before training started; {run} unchanged",
                flag.requested,
            )
        with runs.locked(run):
            ckpt = _check_run_dir(cfg, run, resume, overwrite)  # again, now the run is ours
            if ckpt is None:
                runs.prepare(run, overwrite=overwrite)
            runs.write_text(run, runs.CONFIG_FILE, cfg.to_yaml())
            with provenance.session(run, data.data_paths(cfg), resumed=ckpt is not None) as made:
                writer = _RunWriter(cfg, run, splits, ckpt)
                made["update"] = "in BP4" if writer.optimizer.folds_update else "after BP4"
                if on_start is not None:
                    on_start(splits, writer.state.epoch)
                state = writer.fit(on_epoch, on_batches, flag)
                writer.save_checkpoint(finished=True)
    runs.update_latest(run)
    kept = writer.kept_epoch()
    row = state.history[kept - 1]
    return Run(
        run, cfg, state.epoch, kept, row["test_accuracy"], row["validation_accuracy"],
        state.stop_reason,
    )  # fmt: skip


def _target(
    config: ConfigLike, overrides: Overrides, out: str | os.PathLike | None, resume: bool,
    overwrite: bool,
) -> tuple[Config, Path]:  # fmt: skip
    """The resolved config and the run directory it trains into: ``out``, else
    ``runs/<name>`` or, when that holds a finished run, ``runs/<name>-2``, ..."""
    if isinstance(config, str | os.PathLike) and Path(config).is_dir():
        if not resume:
            raise UsageError(f"{config}: is a directory; give a config file, or resume the run")
        out = Path(config) if out is None else out
        config = Path(config) / runs.CONFIG_FILE
    cfg = resolve_config(config, overrides).with_absolute_paths()
    if out is not None:
        return cfg, Path(out)
    run = runs.default_dir(cfg.name)
    return cfg, run if resume or overwrite else runs.next_free(run)


def _check_run_dir(
    cfg: Config, run: Path, resume: bool, overwrite: bool
) -> checkpoint.Checkpoint | None:
    """The checkpoint to resume from, or None after checking that a new run may start."""
    if resume:
        return checkpoint.resumable(cfg, run)
    runs.check_target(run, overwrite=overwrite)
    return None


class _RunWriter:
    """The network, optimiser and generator of one run, and the files they are saved to."""

    def __init__(
        self, cfg: Config, run: Path, splits: Splits, ckpt: checkpoint.Checkpoint | None
    ) -> None:
        self.cfg, self.run, self.splits = cfg, run, splits
        t = cfg.training
        self.rng = np.random.default_rng(t.seed)
        self.net = Network.create(
            cfg.network.sizes, self.rng, init=cfg.network.init, cost=cfg.network.cost,
            dtype=t.dtype,
        )  # fmt: skip
        self.optimizer = SGD(
            self.net, eta=t.eta, n_train=len(splits.train), lmbda=t.lmbda,
            regularization=t.regularization, momentum=t.momentum, dropout=t.dropout,
        )  # fmt: skip
        self.state = TrainState(eta=t.eta)
        if ckpt is not None:
            self.state = checkpoint.restore(run, ckpt, self.net, self.optimizer, self.rng)
        else:
            self.save_checkpoint()  # epoch 0: an interruption in the first epoch can resume
        self.log = runs.MetricsLog(run, self.state.history if ckpt is not None else None)

    def fit(
        self, on_epoch: Callable[[dict[str, Any]], Any] | None,
        on_batches: Callable[[int, int, int], None] | None, flag: StopFlag,
    ) -> TrainState:  # fmt: skip
        """Train to the end (or to ``flag``'s request: Interrupted), saving every epoch."""

        def epoch_done(row: dict[str, Any]) -> Any:
            if not math.isfinite(row["train_cost"]):
                raise Diverged(
                    f"epoch {row['epoch']}: the training cost is {row['train_cost']}; training"
                    f" diverged (try a smaller training.eta than {row['eta']:g}); {self.run}"
                    f" keeps epoch {row['epoch'] - 1}"
                )
            self.save_checkpoint()
            self.save_weights()
            self.log.append(row)
            return on_epoch(row) if on_epoch is not None else None

        try:
            fit(
                self.net, self.splits, self.cfg.training, self.rng, on_epoch=epoch_done,
                on_batches=on_batches, augment=augmenter(self.cfg, self.splits),
                state=self.state, optimizer=self.optimizer, stop=flag,
            )  # fmt: skip
        finally:
            self.log.close()
        if flag.requested:
            raise Interrupted(
                f"{flag.requested}: stopped during epoch {self.state.epoch + 1}; {self.run} holds"
                f" epoch {self.state.epoch}. Continue with: nnbp train --resume {self.run}",
                flag.requested,
            )
        return self.state

    def kept_epoch(self) -> int:
        """The epoch whose weights the run keeps: the best validation epoch, or the last."""
        if self.cfg.training.keep == "best" and self.state.best_params is not None:
            return self.state.best_epoch
        return self.state.epoch

    def save_checkpoint(self, finished: bool = False) -> None:
        """The checkpoint of the last finished epoch (its copies, when fit keeps them while
        the next epoch trains; else the network, momentum and generator themselves)."""
        last = self.state.last
        if last is not None:
            params, velocity, rng_state = last.net.params, last.velocity, last.rng_state
        else:
            params, velocity = self.net.params, self.optimizer.velocity
            rng_state = self.rng.bit_generator.state
        checkpoint.save(
            self.run / runs.CHECKPOINT_FILE,
            checkpoint.Checkpoint(
                [p.copy() for p in params], [v.copy() for v in velocity or []] or None,
                self.state, rng_state, self.cfg.digest(), finished,
            ),
        )  # fmt: skip

    def save_weights(self) -> None:
        kept = self.kept_epoch()
        if kept != self.state.epoch:
            params = self.state.best_params
        else:
            params = self.state.last.net.params if self.state.last else self.net.params
        kept_net = Network([p[:, :-1] for p in params], [p[:, -1] for p in params], self.net.cost)
        model_file.save(
            self.run / runs.WEIGHTS_FILE, kept_net, input_shape=self.splits.image_shape,
            class_names=self.splits.class_names, config_sha256=self.cfg.digest(), epoch=kept,
            preparation=self.splits.preparation,
        )  # fmt: skip


def augmenter(cfg: Config, splits: Splits) -> Augment | None:
    """The epoch's augmentation as a function of (rows of images, rng), or None."""
    kinds = cfg.training.augment
    if not kinds:
        return None
    from nnbp import augment

    shape, options = splits.image_shape, cfg.training.augment_options or {}
    return lambda x, rng: augment.augment(x, shape, rng, kinds, **options)


@contextmanager
def stop_on_signals(flag: StopFlag) -> Iterator[None]:
    """SIGINT and SIGTERM set ``flag`` (training stops at a safe point); a second one
    falls through to the default behaviour, so a stuck run can still be killed."""

    def handler(signum: int, frame: Any) -> None:
        flag.requested = signal.Signals(signum).name
        for sig, old in previous.items():
            signal.signal(sig, old)

    previous = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
