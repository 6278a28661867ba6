"""A sweep's spec: the config every trial starts from, what varies, how trials are judged.

A spec is a small YAML file (``nnbp sweep keys`` lists its keys)::

    name: ch3-eta-lmbda
    base: ../nielsen-ch3.yaml            # an ordinary config, relative to the spec
    set: {training.epochs: 10}           # fixed for every trial
    space:
      training.eta: [0.025, 0.25, 2.5]   # a list of values
      training.lmbda: {low: 0.1, high: 10, log: true}   # a range
    sampler: {type: tpe, seed: 0}
    metric: validation_accuracy

Every value in ``space`` is checked against the config as ``--set`` would check it, so
a bad value fails before any trial runs. This module needs no Optuna: the spec is plain
data, stored as JSON in the study itself so that other machines can join it.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnbp.config import Config
from nnbp.errors import ConfigError, closest
from nnbp.fit import METRIC_KEYS
from nnbp.sweep.space import Dimension, check_value, parse_space, unknown_key
from nnbp.yamlfile import read_yaml

SAMPLERS = ("grid", "random", "tpe")
PRUNERS = {  # each pruner's parameters and their defaults
    "none": {},
    "median": {"warmup_epochs": 1, "startup_trials": 5},
    "asha": {"min_epochs": 1, "reduction_factor": 3},
    "hyperband": {"min_epochs": 1, "reduction_factor": 3},
}

# (key, default, meaning): `nnbp sweep keys`, and the spec's defaults.
KEYS: list[tuple[str, Any, str]] = [
    ("name", "the spec file's name", "the study's name; its directory is sweeps/<name>/"),
    ("base", "(no default)", "an ordinary config file, relative to the spec file"),
    ("set", {}, "config keys fixed for every trial, as --set would set them"),
    ("space", "(no default)", "config key -> a list of values, or {low, high, log, step}"),
    ("sampler.type", "tpe", "grid (every point once), random or tpe"),
    ("sampler.seed", 0, "seeds the sampler: the same spec proposes the same trials"),
    ("trials", 20, "how many trials random and tpe run; a grid runs each point once"),
    ("metric", "validation_accuracy", "metrics.jsonl key judged at its best epoch"),
    ("pruner.type", "none", "none, median, asha (successive halving) or hyperband"),
    ("pruner.warmup_epochs", 1, "median: epochs a trial runs before it can be pruned"),
    ("pruner.startup_trials", 5, "median: trials that finish before any is pruned"),
    ("pruner.min_epochs", 1, "asha, hyperband: epochs every trial gets"),
    ("pruner.reduction_factor", 3, "asha, hyperband: 1 in this many trials goes on"),
    ("workers", 2, "worker processes on this machine (--workers overrides)"),
    ("threads_per_worker", 1, "BLAS threads in each worker"),
    ("heartbeat.interval", 10, "PostgreSQL: seconds between a running trial's heartbeats"),
    ("heartbeat.grace", 30, "PostgreSQL: seconds without one before the trial is retried"),
]
_TOP = (
    "name",
    "base",
    "set",
    "space",
    "sampler",
    "trials",
    "metric",
    "pruner",
    "workers",
    "threads_per_worker",
    "heartbeat",
)


def maximised(metric: str) -> bool:
    """Accuracies are maximised; costs, eta and seconds minimised."""
    return metric.endswith("accuracy")


@dataclass(frozen=True)
class Spec:
    """A checked sweep spec."""

    name: str
    base: Config  # the base config, ``set`` not applied
    set: dict[str, Any]
    space: dict[str, Dimension]
    sampler: str = "tpe"
    seed: int = 0
    trials: int = 20
    metric: str = "validation_accuracy"
    pruner: str = "none"
    pruner_options: dict[str, int] = field(default_factory=dict)
    workers: int = 2
    threads_per_worker: int = 1
    heartbeat: tuple[int, int] = (10, 30)  # (interval, grace) in seconds

    @property
    def maximise(self) -> bool:
        return maximised(self.metric)

    def grid(self) -> list[dict[str, Any]]:
        """Every point of a grid, as Optuna parameters (encoded values)."""
        dims = list(self.space.values())
        choices = [[d.encode(v) for v in d.values] for d in dims]
        points = itertools.product(*choices)
        return [{d.key: v for d, v in zip(dims, p, strict=True)} for p in points]

    def params_to_overrides(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Optuna parameters -> config overrides."""
        return {key: self.space[key].decode(value) for key, value in params.items()}

    def trial_config(self, params: Mapping[str, Any], name: str) -> Config:
        """The config of the trial with Optuna parameters ``params``."""
        overrides = {**self.set, **self.params_to_overrides(params), "name": name}
        return self.base.with_overrides(overrides)

    def to_dict(self) -> dict[str, Any]:
        """Plain data that ``parse`` reads back: what the study stores for ``join``."""
        return {
            "name": self.name,
            "base": self.base.to_dict(),
            "set": self.set,
            "space": {k: d.to_dict() for k, d in self.space.items()},
            "sampler": {"type": self.sampler, "seed": self.seed},
            "trials": self.trials,
            "metric": self.metric,
            "pruner": {"type": self.pruner, **self.pruner_options},
            "workers": self.workers,
            "threads_per_worker": self.threads_per_worker,
            "heartbeat": {"interval": self.heartbeat[0], "grace": self.heartbeat[1]},
        }

    def describe(self, workers: int) -> list[str]:
        """What a run of this spec would do, for ``--dry-run``."""
        goal = "maximised" if self.maximise else "minimised"
        options = "".join(f", {k} {v}" for k, v in self.pruner_options.items())
        lines = [
            f"sweep {self.name}: {self.metric} {goal}; sampler {self.sampler} (seed"
            f" {self.seed}); pruner {self.pruner}{options}; {workers} workers x"
            f" {self.threads_per_worker} BLAS threads",
            f"base: {self.base.name}; set: {json.dumps(self.set) if self.set else 'nothing'}",
        ]
        if self.sampler == "grid":
            points = self.grid()
            lines.append(f"{len(points)} grid points:")
            lines += ["  " + " ".join(f"{k}={v}" for k, v in p.items()) for p in points]
            return lines
        lines.append(f"{self.trials} trials over:")
        for key, d in self.space.items():
            scale = " (log)" if d.log else ""
            what = json.dumps(d.to_dict()) if d.values else f"{d.low} .. {d.high}{scale}"
            lines.append(f"  {key}: {what}")
        return lines

    def identity(self) -> dict[str, Any]:
        """What makes two runs of a spec the same study (how many trials or workers may
        change between runs; what is searched may not)."""
        keep = ("base", "set", "space", "sampler", "metric", "pruner")
        return {k: v for k, v in self.to_dict().items() if k in keep}


def load(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Spec:
    """Read and check a spec file; ``overrides`` are config keys added to its ``set``."""
    from nnbp import shipped

    path = shipped.resolve(path, "sweep")
    raw = read_yaml(path, "sweep spec")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sweep keys, see `nnbp sweep keys`")
    raw = {"name": path.stem, **raw}
    return parse(raw, str(path), path.parent, overrides)


def parse(
    raw: dict[str, Any], source: str, base_dir: Path, overrides: Mapping[str, Any] | None = None
) -> Spec:
    """A checked Spec from spec data; errors name ``source`` and the key at fault."""
    try:
        return _parse(raw, base_dir, dict(overrides or {}))
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}", e.key) from None


def _parse(raw: dict[str, Any], base_dir: Path, overrides: dict[str, Any]) -> Spec:
    for key in raw:
        if key not in _TOP:
            raise unknown_key(str(key), _TOP)
    name = _name(raw.get("name"))
    base = _base(raw.get("base"), base_dir)
    fixed = {**_mapping(raw.get("set") or {}, "set"), **overrides}
    for key, value in fixed.items():
        check_value(base, f"set.{key}", key, value)
    base_set = base.with_overrides(fixed)
    space = parse_space(raw.get("space"), base_set)
    sampler = _options(raw.get("sampler") or {}, "sampler", {"type": "tpe", "seed": 0})
    if sampler["type"] not in SAMPLERS:
        raise ConfigError(f"sampler.type: {sampler['type']!r}, expected one of {SAMPLERS}")
    if sampler["type"] == "grid":
        ranges = [k for k, d in space.items() if d.is_range]
        if ranges:
            raise ConfigError(
                f"space.{ranges[0]}: a range has no grid points; give a list of values, or"
                " use sampler random or tpe",
                f"space.{ranges[0]}",
            )
    pruner_raw = raw.get("pruner") or {}
    kind = pruner_raw.get("type", "none") if isinstance(pruner_raw, dict) else pruner_raw
    if kind not in PRUNERS:
        raise ConfigError(f"pruner.type: {kind!r}, expected one of {tuple(PRUNERS)}")
    pruner = _options(pruner_raw, "pruner", {"type": kind, **PRUNERS[kind]})
    heartbeat = _options(raw.get("heartbeat") or {}, "heartbeat", {"interval": 10, "grace": 30})
    spec = Spec(
        name=name,
        base=base,
        set=fixed,
        space=space,
        sampler=sampler["type"],
        seed=_int(sampler["seed"], "sampler.seed", 0),
        trials=_int(raw.get("trials", 20), "trials", 1),
        metric=_metric(raw.get("metric", "validation_accuracy"), base_set),
        pruner=kind,
        pruner_options={k: _int(v, f"pruner.{k}", 1) for k, v in pruner.items() if k != "type"},
        workers=_int(raw.get("workers", 2), "workers", 1),
        threads_per_worker=_int(raw.get("threads_per_worker", 1), "threads_per_worker", 1),
        heartbeat=(
            _int(heartbeat["interval"], "heartbeat.interval", 1),
            _int(heartbeat["grace"], "heartbeat.grace", 1),
        ),
    )
    return spec


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value or "/" in value or value.startswith("."):
        raise ConfigError(f"name: {value!r}, expected a name without '/' (the study's)", "name")
    return value


def _base(value: Any, base_dir: Path) -> Config:
    if isinstance(value, dict):  # a spec read back from a study holds the config itself
        return Config.from_dict(value)
    if not isinstance(value, str) or not value:
        raise ConfigError("base: expected the path of a config file (relative to the spec)", "base")
    from nnbp import shipped

    path = base_dir / value
    if not path.exists() and shipped.is_name(value):
        path = shipped.find(value)  # a shipped config's name
    try:
        return Config.from_yaml(path)
    except ConfigError as e:
        raise ConfigError(f"base: {e}", "base") from None


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping of config keys to values", where)
    return {str(k): v for k, v in value.items()}


def _options(value: Any, where: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """A mapping of a few known keys, the defaults filled in."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping such as {defaults}", where)
    for key in value:
        if key not in defaults:
            raise unknown_key(str(key), defaults, f"{where}.")
    return {**defaults, **value}


def _int(value: Any, where: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{where}: {value!r}, expected an integer >= {low}", where)
    return value


def _metric(value: Any, base: Config) -> str:
    if not isinstance(value, str) or value not in METRIC_KEYS:
        guess = closest(str(value), METRIC_KEYS)
        hint = f"did you mean '{guess}'?" if guess else f"one of {', '.join(METRIC_KEYS)}"
        raise ConfigError(f"metric: {value!r} is not a metrics.jsonl key; {hint}", "metric")
    if value.startswith("test_"):
        raise ConfigError(
            f"metric: {value}: trials are chosen on validation data; the test set only"
            " scores the chosen trial (use validation_accuracy)",
            "metric",
        )
    if value.startswith("validation_") and not base.data.validation_size:
        raise ConfigError(
            f"metric: {value} needs a validation set; set data.validation_size", "metric"
        )
    return value
