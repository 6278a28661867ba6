"""One training run, from a resolved config to a finished run directory.

Loads the data, builds the network and the optimiser from the one seeded Generator,
trains, and writes config.yaml, metrics.jsonl (a line per epoch, as it ends) and
weights.npz. The caller (the CLI) passes callbacks for what to show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnbp import data, model_file, runs
from nnbp.config import Config
from nnbp.data import Splits
from nnbp.network import Network
from nnbp.train import TrainState, fit


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

    shape = splits.image_shape
    return lambda x, rng: augment.augment(x, shape, rng, kinds)


def train_run(
    cfg: Config,
    run: Path,
    *,
    overwrite: bool = False,
    on_start: Callable[[Splits], None] | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    on_batches: Callable[[int, int, int], None] | None = None,
) -> Outcome:
    """Train the network ``cfg`` describes into the run directory ``run``."""
    runs.check_target(run, overwrite=overwrite)
    splits = data.load_splits(cfg)
    runs.prepare(run, overwrite=overwrite)
    runs.write_text(run, runs.CONFIG_FILE, cfg.to_yaml())
    if on_start is not None:
        on_start(splits)

    rng = np.random.default_rng(cfg.training.seed)
    net = Network.create(
        cfg.network.sizes,
        rng,
        init=cfg.network.init,
        cost=cfg.network.cost,
        dtype=cfg.training.dtype,
    )
    log = runs.MetricsLog(run)

    def epoch_done(m: dict[str, Any]) -> None:
        log.append(m)
        if on_epoch is not None:
            on_epoch(m)

    try:
        state = fit(
            net,
            splits,
            cfg.training,
            rng,
            on_epoch=epoch_done,
            on_batches=on_batches,
            augment=augmenter(cfg, splits),
        )
    finally:
        log.close()
    kept = _kept_epoch(cfg, state)
    if kept != state.epoch:
        for p, best in zip(net.params, state.best_params or [], strict=True):
            p[...] = best
    model_file.save(
        run / runs.WEIGHTS_FILE,
        net,
        input_shape=splits.image_shape,
        class_names=splits.class_names,
        config_sha256=cfg.digest(),
        epoch=kept,
    )
    runs.update_latest(run)
    m = state.history[kept - 1]
    return Outcome(
        run, state.epoch, kept, m["test_accuracy"], m["validation_accuracy"], state.stopped
    )


def _kept_epoch(cfg: Config, state: TrainState) -> int:
    """The epoch whose weights the run keeps: the best validation epoch, or the last."""
    if cfg.training.keep == "best" and state.best_params is not None:
        return state.best_epoch
    return state.epoch
