"""A sweep's Optuna study: created once with its spec, reopened, joined from elsewhere.

The study carries what another machine needs to join it: the spec (with the base
config itself, not its path), the nnbp version and the data files' SHA-256. The process
that creates a grid study enqueues every grid point once; workers then take queued
trials and never sample new ones, so no point runs twice however many workers ask.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import Any

from nnbp import __version__, data, provenance
from nnbp.config import Config
from nnbp.errors import SweepError, UsageError
from nnbp.sweep import spec as spec_mod
from nnbp.sweep.spec import Spec
from nnbp.sweep.storage import import_optuna

SPEC_ATTR = "nnbp_spec"
VERSION_ATTR = "nnbp_version"
DATA_ATTR = "nnbp_data_sha256"
GRID_ATTR = "nnbp_grid_enqueued"


def data_checksums(cfg: Config) -> dict[str, str]:
    """SHA-256 of each data file the config trains and tests on, by role."""
    out = {}
    for role, path in sorted(data.data_paths(cfg).items()):
        try:
            out[role] = provenance.sha256(path)
        except OSError as e:
            raise SweepError(f"{path}: cannot read the data file ({e.strerror or e})") from None
    return out


def sampler(spec: Spec, stream: str | None = None) -> Any:
    """The spec's sampler. Workers that ask at the same time would propose the same
    trial from the same seed, so each worker of several draws from its own ``stream``
    (its host and number) mixed into the seed; one worker alone uses the seed as it is."""
    optuna = import_optuna()
    seed = spec.seed
    if stream is not None:
        digest = hashlib.sha256(f"{spec.seed}/{stream}".encode()).digest()
        seed = int.from_bytes(digest[:4], "big")
    if spec.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)  # a grid's points are all queued


def pruner(spec: Spec) -> Any:
    optuna, o = import_optuna(), spec.pruner_options
    if spec.pruner == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=o["startup_trials"], n_warmup_steps=o["warmup_epochs"]
        )
    if spec.pruner == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=o["min_epochs"], reduction_factor=o["reduction_factor"]
        )
    if spec.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=o["min_epochs"],
            max_resource=spec.trial_config({}, "x").training.epochs,
            reduction_factor=o["reduction_factor"],
        )
    return optuna.pruners.NopPruner()


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


def open_study(storage: Any, spec: Spec) -> Any:
    """The spec's study in ``storage``: created (grid enqueued) or, when it exists, checked
    to be the same search on the same data with the same nnbp."""
    optuna = import_optuna()
    checksums = data_checksums(spec.base.with_overrides(spec.set))
    study = None
    if spec.name not in study_names(storage):  # asked first: a journal logs every attempt
        # DuplicatedStudyError: another machine created it a moment ago
        with contextlib.suppress(optuna.exceptions.DuplicatedStudyError):
            study = optuna.create_study(
                storage=storage, study_name=spec.name, sampler=sampler(spec),
                pruner=pruner(spec), direction="maximize" if spec.maximise else "minimize",
            )  # fmt: skip
    if study is None:
        study = optuna.load_study(
            study_name=spec.name, storage=storage, sampler=sampler(spec), pruner=pruner(spec)
        )
    stored = study.user_attrs.get(SPEC_ATTR)
    if stored is None:  # new, or its creator died before describing it
        study.set_user_attr(SPEC_ATTR, _plain(spec.to_dict()))
        study.set_user_attr(VERSION_ATTR, __version__)
        study.set_user_attr(DATA_ATTR, checksums)
    elif _plain(_identity(stored)) != _plain(spec.identity()):
        raise UsageError(
            f"sweep {spec.name!r} already exists with a different search (base, set,"
            " space, sampler, metric or pruner); give it another name or --out"
        )
    else:
        check_compatible(study, checksums)
    if spec.sampler == "grid" and not study.user_attrs.get(GRID_ATTR):
        for params in spec.grid():  # a crash half-way is mended by the next run
            study.enqueue_trial(params, skip_if_exists=True)
        study.set_user_attr(GRID_ATTR, True)
    return study


def _identity(stored: dict[str, Any]) -> dict[str, Any]:
    return spec_mod.parse(stored, "the study", Path(".")).identity()


def study_names(storage: Any) -> list[str]:
    return sorted(import_optuna().get_all_study_names(storage))


def join_study(storage: Any, name: str, shown: str, stream: str | None = None) -> tuple[Any, Spec]:
    """The study ``name`` and its spec, for a machine that joins it; UsageError when there
    is no such study, SweepError when it was made by another nnbp or with other data."""
    optuna = import_optuna()
    names = study_names(storage)
    if name not in names:
        known = f"; studies there: {', '.join(names)}" if names else "; it holds none"
        raise UsageError(f"{shown}: no study named {name!r}{known}")
    summary = optuna.load_study(study_name=name, storage=storage)
    stored = summary.user_attrs.get(SPEC_ATTR)
    if stored is None:
        raise UsageError(f"{shown}: study {name!r} was not made by nnbp sweep run")
    spec = spec_mod.parse(stored, f"study {name!r}", Path("."))
    study = optuna.load_study(
        study_name=name, storage=storage, sampler=sampler(spec, stream), pruner=pruner(spec)
    )
    check_compatible(study, data_checksums(spec.base.with_overrides(spec.set)))
    return study, spec


def check_compatible(study: Any, checksums: dict[str, str]) -> None:
    """SweepError unless this machine runs the study's nnbp version on the same data."""
    version = study.user_attrs.get(VERSION_ATTR)
    if version != __version__:
        raise SweepError(
            f"study {study.study_name!r} runs nnbp {version}, this machine has nnbp"
            f" {__version__}; install the same version to join it"
        )
    theirs = study.user_attrs.get(DATA_ATTR, {})
    for role, digest in checksums.items():
        if theirs.get(role) != digest:
            raise SweepError(
                f"study {study.study_name!r}: this machine's {role} file differs from the"
                f" one the study trains on (SHA-256 {digest[:12]}... against"
                f" {str(theirs.get(role))[:12]}...)"
            )
