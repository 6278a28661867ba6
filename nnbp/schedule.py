"""Where training stands after each epoch, and the rules that read it: the best
validation epoch, the eta schedule (halve eta after epochs without a better validation
accuracy) and early stopping (Nielsen, ch. 3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from nnbp.sections import TrainingConfig

if TYPE_CHECKING:
    from nnbp.fit import EpochEnd
    from nnbp.network import Network

# Why training ended before its last epoch (TrainState.stop_reason).
EARLY_STOPPING = "early_stopping"  # no better validation accuracy for N epochs
ETA_FLOOR = "eta"  # eta was halved max_halvings times
ON_EPOCH = "on_epoch"  # the on_epoch callback asked to stop
STOP_REASONS = {
    EARLY_STOPPING: "no better validation accuracy",
    ETA_FLOOR: "eta fell to its floor",
    ON_EPOCH: "the on_epoch callback asked to stop",
}


@dataclass
class TrainState:
    """Where training stands after an epoch: what a checkpoint must hold to resume."""

    epoch: int = 0
    eta: float = 0.0
    halvings: int = 0
    best_accuracy: float = -1.0
    best_epoch: int = 0
    since_improvement: int = 0
    best_params: list[np.ndarray] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str = ""  # a key of STOP_REASONS when training ended early, else ""
    # The last finished epoch's weights, momentum and generator state (None until one
    # finishes in this process): what its checkpoint holds while the next one trains.
    last: EpochEnd | None = field(default=None, repr=False, compare=False)


def track_best(state: TrainState, s: TrainingConfig, net: Network, accuracy: float) -> None:
    """Best-epoch bookkeeping, the eta schedule and early stopping, after one epoch."""
    if accuracy > state.best_accuracy:
        state.best_accuracy = accuracy
        state.best_epoch = state.epoch
        state.since_improvement = 0
        state.best_params = [p.copy() for p in net.params]
        return
    state.since_improvement += 1
    if s.early_stopping and state.since_improvement >= s.early_stopping:
        state.stop_reason = EARLY_STOPPING
    elif s.halve_eta_after and state.since_improvement >= s.halve_eta_after:
        state.halvings += 1
        state.eta /= 2
        state.since_improvement = 0
        if state.halvings >= s.max_halvings:
            state.stop_reason = ETA_FLOOR


def restart_rules(state: TrainState, s: TrainingConfig) -> None:
    """Re-decide whether training has ended, for a run resumed under changed stopping
    rules (``training.epochs`` itself is looked at by ``fit``)."""
    state.stop_reason = ""
    if s.early_stopping and state.since_improvement >= s.early_stopping:
        state.stop_reason = EARLY_STOPPING
    elif s.halve_eta_after and state.halvings >= s.max_halvings:
        state.stop_reason = ETA_FLOOR
