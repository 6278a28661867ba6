"""Run configuration: YAML -> frozen dataclasses, every key with a documented default.

A config file has up to four top-level keys: ``name`` and the sections ``data``,
``network`` and ``training``. Each key below carries its default, its meaning and what
values it accepts; an unknown key, a wrong type or an impossible value is a
``ConfigError`` naming the key path (``training.eta``) and, for a typo, the closest
valid key. ``--set key.path=value`` overrides are applied to the raw YAML before the
same checks, so they cannot slip anything past them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import reprlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from nnbp import checks, datasets
from nnbp.augment import AUGMENTATIONS
from nnbp.augment import augment as _augment
from nnbp.datasets import DATA_DIR_ENV, ROLES
from nnbp.errors import ConfigError, closest
from nnbp.sections import SECTIONS, DataConfig, NetworkConfig, TrainingConfig, key_paths
from nnbp.sections import describe_keys as describe_keys  # part of config's API
from nnbp.sections import key as _key
from nnbp.yamlfile import dumps, loads, read_yaml

# Error messages show values through this: a YAML alias bomb's repr would be exponential.
_short = reprlib.Repr()
_short.maxlevel, _short.maxlist, _short.maxdict, _short.maxstring = 2, 6, 4, 40

# Overrides: ["training.eta=0.5", ...] (the command line's --set) or {"training.eta": 0.5}.
Overrides = Sequence[str] | Mapping[str, Any]


@dataclass(frozen=True)
class Config:
    name: str = _key("run", checks.name, "run name: the run directory is runs/<name>/")
    data: DataConfig = field(default_factory=DataConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain YAML/JSON-able data (tuples become lists)."""

        def plain(v: Any) -> Any:
            return list(v) if isinstance(v, tuple) else v

        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if dataclasses.is_dataclass(v):
                out[f.name] = {g.name: plain(getattr(v, g.name)) for g in dataclasses.fields(v)}
            else:
                out[f.name] = plain(v)
        return out

    def to_yaml(self) -> str:
        """The resolved config as YAML: block sections, lists on one line."""
        return dumps(self.to_dict())

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: Overrides = ()) -> Config:
        """Read a YAML config file, apply overrides, validate (see ``load``)."""
        return load(path, overrides)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], overrides: Overrides = (), *, name: str = "run"):
        """Validate a dict of config keys (as in a YAML file), overrides applied.

        ``name`` is the run name when the dict has none.
        """
        return build(raw, overrides, default_name=name)

    def with_overrides(self, overrides: Overrides) -> Config:
        """A new Config with ``overrides`` (``["training.eta=0.5"]`` or
        ``{"training.eta": 0.5}``) applied and checked like the rest."""
        return build(self.to_dict(), overrides, default_name=self.name)

    def flat(self) -> dict[str, Any]:
        """Every key by its path: {"name": ..., "training.eta": 3.0, ...} (lists, not tuples)."""
        out: dict[str, Any] = {}
        for key, value in self.to_dict().items():
            if isinstance(value, dict):
                out.update({f"{key}.{k}": v for k, v in value.items()})
            else:
                out[key] = value
        return out

    def with_absolute_paths(self) -> Config:
        """This config with its data paths (``data.dir``, explicit IDX files) absolute,
        so that a run's config.yaml finds its data from any working directory."""
        paths = {f"data.{k}": getattr(self.data, k) for k in ("dir", *ROLES)}
        changes = {k: os.path.abspath(v) for k, v in paths.items() if v and not os.path.isabs(v)}
        return self.with_overrides(changes) if changes else self

    def digest(self) -> str:
        """SHA-256 of the resolved config (canonical JSON): says which config made a file.

        Keys added since nnbp 0.1 (ADDED_KEYS) are left out while at their defaults, so
        that runs made before them keep their digest (and can be resumed and reused).
        """
        raw = self.to_dict()
        for path, default in ADDED_KEYS.items():
            section, name = path.split(".")
            if raw[section][name] == default:
                del raw[section][name]
        canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


# Keys added after runs already existed, with the default that behaves as before they did.
ADDED_KEYS = {"training.dropout": 0.0}

_SECTION_CLASSES = SECTIONS


def _unknown(path: str) -> ConfigError:
    """An unknown key, with the closest valid key at the same depth as a suggestion."""
    # A right key in the wrong section (training.sizes) is a common slip: say where it is.
    leaf = path.rsplit(".", 1)[-1]
    same_leaf = [p for p in key_paths() if "." in path and p.endswith("." + leaf)]
    valid = key_paths() if "." in path else ["name", *_SECTION_CLASSES]
    guess = same_leaf[0] if same_leaf else closest(path, valid)
    hint = f"; did you mean '{guess}'?" if guess else ""
    return ConfigError(f"{path}: unknown key{hint}", path)


def _check(path: str, check: Any, value: Any) -> Any:
    try:
        return check(value)
    except ValueError as e:
        raise ConfigError(f"{path}: expected {e}, got {_short.repr(value)}", path) from None


def from_dict(raw: Any, *, default_name: str = "run") -> Config:
    """Validate raw YAML data and build a Config; errors name the key path."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"expected a mapping of keys at the top level, got {type(raw).__name__}")
    for key in raw:
        if key != "name" and key not in _SECTION_CLASSES:
            raise _unknown(str(key))
    sections = {}
    for section, cls in _SECTION_CLASSES.items():
        values = raw.get(section)
        values = {} if values is None else values
        if not isinstance(values, dict):
            raise ConfigError(
                f"{section}: expected a mapping of keys, got {_short.repr(values)}", section
            )
        if section == "data" and "dir" not in values and os.environ.get(DATA_DIR_ENV):
            values = {**values, "dir": os.environ[DATA_DIR_ENV]}  # the data directory's default
        fields = {f.name: f for f in dataclasses.fields(cls)}
        clean = {}
        for key, value in values.items():
            if key not in fields:
                raise _unknown(f"{section}.{key}")
            clean[key] = _check(f"{section}.{key}", fields[key].metadata["check"], value)
        sections[section] = cls(**clean)
    name = _check("name", checks.name, raw.get("name", default_name))
    cfg = Config(name=name, **sections)
    _check_together(cfg)
    return cfg


def _check_together(cfg: Config) -> None:
    """Checks that involve more than one key (data files are checked when they are read)."""
    d, t = cfg.data, cfg.training
    if t.augment_options:
        try:  # the augmentation module checks its own parameters, on a 2x2 dummy image
            _augment(np.zeros((1, 4)), (2, 2), np.random.default_rng(0), AUGMENTATIONS,
                     **t.augment_options)  # fmt: skip
        except ConfigError as e:
            raise ConfigError(
                f"training.augment_options: {e}", "training.augment_options"
            ) from None
    if d.validation_size == 0:
        for key in ("halve_eta_after", "early_stopping"):
            if getattr(t, key):
                raise ConfigError(
                    f"training.{key}: needs a validation set, but data.validation_size is 0",
                    f"training.{key}",
                )
    explicit = {role: getattr(d, role) for role in ROLES}
    if any(explicit.values()) and not all(explicit.values()):
        missing = next(role for role, path in explicit.items() if not path)
        raise ConfigError(
            f"data.{missing}: expected a path, since other data.* files are given (give all four)",
            f"data.{missing}",
        )
    if not any(explicit.values()):
        problem = datasets.unknown(d.dataset, d.dir)
        if problem:
            raise ConfigError(f"data.dataset: {problem}", "data.dataset")
        ds = datasets.get_dataset(d.dataset, d.dir)  # a damaged packed dataset: DataError
        n_in = ds.image_shape[0] * ds.image_shape[1]
        sizes = cfg.network.sizes
        if sizes[0] != n_in or sizes[-1] != ds.num_classes:
            raise ConfigError(
                f"network.sizes: expected [{n_in}, ..., {ds.num_classes}] for dataset {d.dataset}"
                f" ({ds.image_shape[0]}x{ds.image_shape[1]} images, {ds.num_classes} classes),"
                f" got {list(sizes)}",
                "network.sizes",
            )


def parse_override(text: str) -> tuple[list[str], Any]:
    """``key.path=value`` -> (["key", "path"], value parsed as a YAML scalar or list)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text}: expected key.path=value, e.g. training.eta=0.5")
    try:
        parsed = loads(value) if value.strip() else None
    except yaml.YAMLError:
        raise ConfigError(f"--set {text}: the value is not valid YAML") from None
    return key.strip().split("."), parsed


def _pairs(overrides: Overrides) -> list[tuple[str, list[str], Any]]:
    """(how the user wrote it, key path, value) for each override."""
    if isinstance(overrides, Mapping):
        return [(f"override {k}", str(k).split("."), v) for k, v in overrides.items()]
    return [(f"--set {text}", *parse_override(text)) for text in overrides]


def apply_overrides(raw: Any, overrides: Overrides) -> dict[str, Any]:
    """A copy of raw YAML data with each override set: ``key.path=value`` strings (the
    value parsed as YAML), or a mapping of key paths to values. A section takes a mapping
    of its keys."""
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(f"expected a mapping of keys at the top level, got {type(raw).__name__}")
    out = dict(raw or {})
    for label, path, value in _pairs(overrides):
        dotted = ".".join(path)
        if dotted in _SECTION_CLASSES:
            if not isinstance(value, dict):
                raise ConfigError(
                    f"{label}: {dotted} is a section, expected a mapping of its keys (e.g."
                    f" {dotted}.{dataclasses.fields(_SECTION_CLASSES[dotted])[0].name}=...)",
                    dotted,
                )
            out[dotted] = {**(out.get(dotted) or {}), **value}
        elif dotted not in key_paths():
            raise ConfigError(f"{label}: {_unknown(dotted)}", dotted)
        elif len(path) == 1:
            out[path[0]] = value
        else:
            section = out.get(path[0])
            out[path[0]] = {**(section if isinstance(section, dict) else {}), path[1]: value}
    return out


def build(
    raw: Any, overrides: Overrides = (), *, default_name: str = "run", source: str = ""
) -> Config:
    """A checked Config from raw YAML data and overrides; an error names the override at
    fault, else ``source`` (the config file)."""
    labels = {".".join(path): label for label, path, _ in _pairs(overrides)}
    try:
        return from_dict(apply_overrides(raw, overrides), default_name=default_name)
    except ConfigError as e:
        key = e.key or ""
        where = labels.get(key) or labels.get(key.split(".")[0]) or source
        if where and not str(e).startswith(where):
            raise ConfigError(f"{where}: {e}", e.key) from None
        raise


def load(path: str | Path, overrides: Overrides = ()) -> Config:
    """Read a YAML config file, apply ``--set`` overrides, validate.

    The run name defaults to the file's stem (configs/mnist.yaml -> mnist). A name such
    as ``mnist`` where no such file exists is the shipped config (``nnbp config list``).
    Errors are ConfigError with the file name, or the override at fault, in front of
    the key path.
    """
    from nnbp import shipped

    path = shipped.resolve(path)
    raw = read_yaml(path, "config")
    return build(raw, overrides, default_name=Path(path).stem, source=str(path))
