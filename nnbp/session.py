"""One training run, from a resolved config to a finished run directory.

Loads the data, builds the network and the optimiser from the one seeded Generator,
trains, and after every epoch writes, in this order and each atomically: the checkpoint
(the truth a resume starts from), weights.npz (the weights kept so far) and a line of
metrics.jsonl. Ctrl-C or SIGTERM stops at the end of the current mini-batch; the run
then holds its last complete epoch and continues with ``--resume``, ending exactly as
an uninterrupted run would. The caller (the CLI) passes callbacks for what to show.
"""

from __future__ import annotations

import math
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnbp import checkpoint, data, model_file, runs
from nnbp.config import Config
from nnbp.data import Splits
from nnbp.errors import NnbpError, RunError
from nnbp.network import Network
from nnbp.sgd import SGD
from nnbp.train import StopFlag, TrainState, fit


class Interrupted(NnbpError):
    """Training was stopped by Ctrl-C or SIGTERM; the run can be resumed (exit code 130)."""

    exit_code = 130


class Diverged(NnbpError):
    """The cost became NaN or infinite."""


@dataclass
class Outcome:
    """What a finished run reports: the kept weights' epoch and accuracies."""

    run: Path
    epochs: int  # epochs trained
    epoch: int  # the epoch whose weights weights.npz holds
    test_accuracy: float
    validation_accuracy: float | None
    stopped: str


def augmenter(cfg: Config, splits: Splits) -> Callable[[np.ndarray, Any], np.ndarray] | None:
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


def _kept(cfg: Config, state: TrainState) -> int:
    """The epoch whose weights the run keeps: the best validation epoch, or the last."""
    if cfg.training.keep == "best" and state.best_params is not None:
        return state.best_epoch
    return state.epoch


def train_run(
    cfg: Config,
    run: Path,
    *,
    overwrite: bool = False,
    resume: bool = False,
    on_start: Callable[[Splits, int], None] | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    on_batches: Callable[[int, int, int], None] | None = None,
) -> Outcome:
    """Train the network ``cfg`` describes into the run directory ``run`` (or resume it)."""
    ckpt = _resumable(cfg, run) if resume else None
    if ckpt is None:
        runs.check_target(run, overwrite=overwrite)
    splits = data.load_splits(cfg)
    if ckpt is None:
        runs.prepare(run, overwrite=overwrite)
        runs.write_text(run, runs.CONFIG_FILE, cfg.to_yaml())

    rng = np.random.default_rng(cfg.training.seed)
    net = Network.create(
        cfg.network.sizes, rng, init=cfg.network.init, cost=cfg.network.cost,
        dtype=cfg.training.dtype,
    )  # fmt: skip
    t = cfg.training
    optimizer = SGD(
        net, eta=t.eta, n_train=len(splits.train), lmbda=t.lmbda,
        regularization=t.regularization, momentum=t.momentum,
    )  # fmt: skip
    state = TrainState(eta=t.eta)
    if ckpt is not None:
        state = _restore(run, ckpt, net, optimizer, rng)

    def save_checkpoint(finished: bool = False) -> None:
        checkpoint.save(
            run / runs.CHECKPOINT_FILE,
            checkpoint.Checkpoint(
                [p.copy() for p in net.params],
                [v.copy() for v in optimizer.velocity] if optimizer.velocity else None,
                state, rng.bit_generator.state, cfg.digest(), finished,
            ),
        )  # fmt: skip

    def save_weights() -> None:
        kept = _kept(cfg, state)
        params = net.params if kept == state.epoch else state.best_params
        kept_net = Network([p[:, :-1] for p in params], [p[:, -1] for p in params], net.cost)
        model_file.save(
            run / runs.WEIGHTS_FILE, kept_net, input_shape=splits.image_shape,
            class_names=splits.class_names, config_sha256=cfg.digest(), epoch=kept,
        )  # fmt: skip

    if ckpt is None:
        save_checkpoint()  # epoch 0: an interruption during the first epoch can resume too
    if on_start is not None:
        on_start(splits, state.epoch)
    log = runs.MetricsLog(run, state.history if ckpt is not None else None)

    def epoch_done(m: dict[str, Any]) -> None:
        if not math.isfinite(m["train_cost"]):
            raise Diverged(
                f"epoch {m['epoch']}: the training cost is {m['train_cost']}; training diverged"
                f" (try a smaller training.eta than {m['eta']:g}); {run} keeps epoch"
                f" {m['epoch'] - 1}"
            )
        save_checkpoint()
        save_weights()
        log.append(m)
        if on_epoch is not None:
            on_epoch(m)

    flag = StopFlag()
    try:
        with stop_on_signals(flag):
            fit(
                net, splits, t, rng, on_epoch=epoch_done, on_batches=on_batches,
                augment=augmenter(cfg, splits), state=state, optimizer=optimizer, stop=flag,
            )  # fmt: skip
    finally:
        log.close()
    if flag.requested:
        raise Interrupted(
            f"{flag.requested}: stopped during epoch {state.epoch + 1}; {run} holds epoch"
            f" {state.epoch}. Continue with: nnbp train --resume {run}"
        )
    save_checkpoint(finished=True)
    runs.update_latest(run)
    kept = _kept(cfg, state)
    m = state.history[kept - 1]
    return Outcome(
        run, state.epoch, kept, m["test_accuracy"], m["validation_accuracy"], state.stopped
    )


def _resumable(cfg: Config, run: Path) -> checkpoint.Checkpoint:
    """The checkpoint of an interrupted run made with this very config."""
    ckpt = checkpoint.load(run / runs.CHECKPOINT_FILE)
    if ckpt.finished:
        raise RunError(f"{run}: the run has finished; there is nothing to resume")
    if ckpt.config_sha256 != cfg.digest():
        raise RunError(
            f"{run}: the run was made with another config (its config.yaml); resume it with"
            f" `nnbp train --resume {run}` and no --set"
        )
    return ckpt


def _restore(
    run: Path, ckpt: checkpoint.Checkpoint, net: Network, opt: SGD, rng: np.random.Generator
) -> TrainState:
    """Put the checkpoint's parameters, velocities and generator state back in place."""
    if [p.shape for p in ckpt.params] != [p.shape for p in net.params] or any(
        p.dtype != net.dtype for p in ckpt.params
    ):
        raise RunError(f"{run}: the checkpoint's arrays do not fit the config's network")
    for p, saved in zip(net.params, ckpt.params, strict=True):
        p[...] = saved
    if opt.velocity is not None and ckpt.velocity is not None:
        for v, saved in zip(opt.velocity, ckpt.velocity, strict=True):
            v[...] = saved
    rng.bit_generator.state = ckpt.rng_state
    return ckpt.state
