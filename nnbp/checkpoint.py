"""``checkpoint.npz``: everything needed to continue a run exactly where it stood, and
which runs may be continued with which config.

Written atomically at the start of training and after every epoch, so a Ctrl-C, a
SIGTERM or a SIGKILL at any moment leaves the last complete epoch on disk. Layout (an
``.npz`` read with ``allow_pickle=False``):

- ``p0``, ``p1``, ...: each layer's parameters (n_out, n_in + 1), bias last;
- ``v0``, ...: the momentum velocities, when momentum is on;
- ``best0``, ...: the best validation epoch's parameters, once there is one;
- ``state``: a 0-d string array holding JSON: format, format_version, config_sha256,
  finished, the TrainState fields (epoch, eta, halvings, best_accuracy, best_epoch,
  since_improvement, stop_reason, history) and the Generator's bit-generator state.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from nnbp import runs
from nnbp.atomic import atomic_write_npz
from nnbp.config import Config
from nnbp.errors import RunError
from nnbp.network import Network
from nnbp.schedule import TrainState, restart_rules
from nnbp.sgd import SGD

FORMAT = "nnbp-checkpoint"
FORMAT_VERSION = 1
_STATE_FIELDS = [f.name for f in fields(TrainState) if f.name not in ("best_params", "last")]


@dataclass
class Checkpoint:
    """A run's resumable state; arrays are copies, safe to keep while training goes on."""

    params: list[np.ndarray]
    velocity: list[np.ndarray] | None
    state: TrainState
    rng_state: dict[str, Any]
    config_sha256: str
    finished: bool = False


def save(path: Path, ckpt: Checkpoint) -> None:
    """Write ``ckpt`` to ``path`` atomically; an OS failure is a RunError naming the file."""
    arrays: dict[str, np.ndarray] = {f"p{l}": p for l, p in enumerate(ckpt.params)}
    for l, v in enumerate(ckpt.velocity or []):
        arrays[f"v{l}"] = v
    for l, p in enumerate(ckpt.state.best_params or []):
        arrays[f"best{l}"] = p
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config_sha256": ckpt.config_sha256,
        "finished": ckpt.finished,
        "rng": ckpt.rng_state,
        **{name: getattr(ckpt.state, name) for name in _STATE_FIELDS},
    }
    arrays["state"] = np.array(json.dumps(meta))
    try:
        atomic_write_npz(path, arrays)
    except OSError as e:
        raise RunError(f"{path}: cannot write the checkpoint ({e.strerror or e})") from None


def load(path: Path) -> Checkpoint:
    """Read a checkpoint; anything missing or inconsistent is a RunError naming the file."""
    if not path.is_file():
        raise RunError(f"{path}: no checkpoint to resume from")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        meta = json.loads(str(arrays.pop("state")[()]))
    except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as e:
        raise RunError(f"{path}: not a readable checkpoint ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise RunError(f"{path}: not an nnbp checkpoint")
    if meta.get("format_version") != FORMAT_VERSION:
        raise RunError(f"{path}: checkpoint format {meta.get('format_version')!r} is not readable")
    try:
        n = sum(1 for key in arrays if key.startswith("p"))
        params = [arrays[f"p{l}"] for l in range(n)]
        velocity = [arrays[f"v{l}"] for l in range(n)] if "v0" in arrays else None
        best = [arrays[f"best{l}"] for l in range(n)] if "best0" in arrays else None
        if "stopped" in meta:  # the field's name in checkpoints of nnbp 0.1
            meta.setdefault("stop_reason", meta.pop("stopped"))
        state = TrainState(best_params=best, **{name: meta[name] for name in _STATE_FIELDS})
        ckpt = Checkpoint(
            params, velocity, state, meta["rng"], meta["config_sha256"], meta["finished"]
        )
    except (KeyError, TypeError) as e:
        raise RunError(f"{path}: incomplete checkpoint (missing {e})") from None
    for group in (velocity, best):
        if group is not None and [a.shape for a in group] != [p.shape for p in params]:
            raise RunError(f"{path}: checkpoint arrays disagree in shape")
    return ckpt


# Keys a run's config may change when it is resumed: how long it trains and when it stops.
RESUMABLE_KEYS = (
    "training.epochs", "training.early_stopping", "training.halve_eta_after",
    "training.max_halvings",
)  # fmt: skip


def resumable(cfg: Config, run: Path) -> Checkpoint:
    """The checkpoint of ``run``, made with ``cfg`` or with a config that differs from it
    only in RESUMABLE_KEYS (a finished run then trains on to the new end)."""
    ckpt = load(run / runs.CHECKPOINT_FILE)
    if ckpt.config_sha256 != cfg.digest():
        _check_changes(Config.from_yaml(run / runs.CONFIG_FILE), cfg, run, ckpt)
        restart_rules(ckpt.state, cfg.training)
    elif ckpt.finished:
        raise RunError(
            f"{run}: the run has finished; there is nothing to resume (to train it for"
            f" longer: nnbp train --resume {run} --set training.epochs=N)"
        )
    if ckpt.state.epoch > cfg.training.epochs:
        raise RunError(
            f"{run}: the run has trained {ckpt.state.epoch} epochs, more than"
            f" training.epochs={cfg.training.epochs}"
        )
    return ckpt


def _check_changes(old: Config, new: Config, run: Path, ckpt: Checkpoint) -> None:
    """RunError unless ``new`` differs from the run's own config only in RESUMABLE_KEYS."""
    if old.digest() != ckpt.config_sha256:
        raise RunError(f"{run}: config.yaml is not the config the checkpoint was made with")
    # Runs from before data paths were stored absolute: the same files, spelled relatively.
    before, after = old.with_absolute_paths().flat(), new.flat()
    for key in after:
        if after[key] != before.get(key) and key not in RESUMABLE_KEYS:
            raise RunError(
                f"{run}: {key} cannot change when a run is resumed (it was"
                f" {before.get(key)!r}); only {', '.join(RESUMABLE_KEYS)} can"
            )


def restore(
    run: Path, ckpt: Checkpoint, net: Network, opt: SGD, rng: np.random.Generator
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
