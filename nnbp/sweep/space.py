"""A sweep's search space: one ``Dimension`` per config key, checked against the config.

Each key of a spec's ``space`` maps to a list of values (the choices, a grid's points) or
to a numeric range ``{low, high, log, step}``. Every value, and both ends of a range, is
checked as ``--set`` would check it, so a bad value fails before any trial runs. Optuna
stores a choice as a scalar: ``Dimension.encode`` and ``decode`` carry the lists and
mappings of configs (network.sizes, training.augment_options) as JSON text.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from nnbp.config import Config
from nnbp.errors import ConfigError, closest
from nnbp.sections import key_paths

RANGE_KEYS = ("low", "high", "log", "step")


@dataclass(frozen=True)
class Dimension:
    """One config key of the search space: a list of values, or a numeric range."""

    key: str
    values: tuple[Any, ...] = ()  # the choices (a grid's points), as config values
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    step: float | None = None
    integer: bool = False

    @property
    def is_range(self) -> bool:
        return not self.values

    def encode(self, value: Any) -> Any:
        """A config value as Optuna stores a choice: lists (network.sizes) and mappings
        (training.augment_options) as JSON text, since Optuna's choices are scalars."""
        if isinstance(value, list | tuple):
            return json.dumps(list(value))
        return json.dumps(value, sort_keys=True) if isinstance(value, dict) else value

    def decode(self, param: Any) -> Any:
        """The config value of an Optuna parameter."""
        structured = any(isinstance(v, list | tuple | dict) for v in self.values)
        # A study made before mappings were encoded holds them as they are.
        return json.loads(param) if structured and isinstance(param, str) else param

    def to_dict(self) -> Any:
        if self.values:
            return [list(v) if isinstance(v, tuple) else v for v in self.values]
        out: dict[str, Any] = {"low": self.low, "high": self.high, "log": self.log}
        return out if self.step is None else {**out, "step": self.step}


def parse_space(value: Any, base: Config) -> dict[str, Dimension]:
    """A spec's ``space``, checked against ``base`` (the config with ``set`` applied)."""
    if not isinstance(value, dict) or not value:
        raise ConfigError(
            "space: expected config keys with a list of values or a range, e.g."
            " {training.eta: [0.1, 1.0]}",
            "space",
        )
    return {str(key): _dimension(str(key), v, base) for key, v in value.items()}


def _dimension(key: str, value: Any, base: Config) -> Dimension:
    where = f"space.{key}"
    check_key(where, key)
    if isinstance(value, list):
        if not value:
            raise ConfigError(f"{where}: an empty list; give the values to try", where)
        for i, v in enumerate(value):
            check_value(base, f"{where}[{i}]", key, v)
        if len({json.dumps(v, sort_keys=True) for v in value}) < len(value):
            raise ConfigError(f"{where}: a value is listed twice", where)
        return Dimension(key, tuple(tuple(v) if isinstance(v, list) else v for v in value))
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a list of values or {{low, high, log}}", where)
    return _range(key, value, base)


def _range(key: str, value: dict[str, Any], base: Config) -> Dimension:
    where = f"space.{key}"
    for k in value:
        if k not in RANGE_KEYS:
            raise unknown_key(str(k), RANGE_KEYS, f"{where}.")
    low, high, log, step = (value.get(k) for k in RANGE_KEYS)
    numbers = [v for v in (low, high, step) if v is not None]
    if low is None or high is None or not all(_is_number(v) for v in numbers):
        raise ConfigError(f"{where}: a range needs numbers low and high (and maybe step)", where)
    if not low < high:
        raise ConfigError(f"{where}: low {low} must be below high {high}", where)
    if log not in (None, True, False) or (log and low <= 0):
        raise ConfigError(f"{where}: log must be true or false, and a log range above 0", where)
    if log and step is not None:
        raise ConfigError(f"{where}: a log range takes no step", where)
    integer = all(isinstance(v, int) for v in numbers)
    for end in (low, high):
        check_value(base, where, key, end)
    return Dimension(key, low=low, high=high, log=bool(log), step=step, integer=integer)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def check_value(base: Config, where: str, key: str, value: Any) -> None:
    """ConfigError naming ``where`` unless ``key: value`` is a valid config setting."""
    check_key(where, key)
    try:
        base.with_overrides({key: value})
    except ConfigError as e:
        message = str(e).removeprefix(f"override {key}: ")
        raise ConfigError(f"{where}: {message}", where) from None


def check_key(where: str, key: str) -> None:
    """ConfigError naming ``where`` unless ``key`` is a config key a sweep may set."""
    if key not in key_paths() or key == "name":
        guess = closest(key, [k for k in key_paths() if k != "name"])
        hint = f"; did you mean '{guess}'?" if guess else " (see `nnbp config keys`)"
        raise ConfigError(f"{where}: not a config key{hint}", where)


def unknown_key(key: str, valid: Any, prefix: str = "") -> ConfigError:
    guess = closest(key, valid)
    hint = f"; did you mean '{prefix}{guess}'?" if guess else ""
    return ConfigError(f"{prefix}{key}: unknown key{hint} (see `nnbp sweep keys`)", prefix + key)
