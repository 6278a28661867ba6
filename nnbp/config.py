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
import difflib
import hashlib
import json
import reprlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from nnbp import checks
from nnbp.augment import AUGMENTATIONS
from nnbp.augment import augment as _augment
from nnbp.costs import COSTS
from nnbp.datasets import DATASETS, ROLES
from nnbp.errors import ConfigError
from nnbp.network import DTYPES, INITS

# A config is a few dozen lines; anything near this size is not one, and the cap bounds
# the parser's work on a hostile file (a 64 KiB list parses in about 0.25 s).
MAX_CONFIG_BYTES = 64 * 1024
# libyaml's loader when PyYAML has it: safe like SafeLoader (plain data only), faster, and
# it refuses absurd nesting at once where the pure-Python one recurses for seconds.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Error messages show values through this: a YAML alias bomb's repr would be exponential.
_short = reprlib.Repr()
_short.maxlevel, _short.maxlist, _short.maxdict, _short.maxstring = 2, 6, 4, 40

# Overrides: ["training.eta=0.5", ...] (the command line's --set) or {"training.eta": 0.5}.
Overrides = Sequence[str] | Mapping[str, Any]

REGULARIZATIONS = ("l2", "l1")
KEEP = ("best", "last")


def _key(default: Any, check: Any, doc: str) -> Any:
    return field(default=default, metadata={"check": check, "doc": doc})


class _Dumper(yaml.SafeDumper):
    """SafeDumper writing lists in flow style ([784, 30, 10]) and mappings as blocks."""


_Dumper.add_representer(
    list, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)


# --- the schema ------------------------------------------------------------------------


@dataclass(frozen=True)
class DataConfig:
    dataset: str = _key(
        "mnist",
        checks.choice(DATASETS),
        "a known dataset, fetched with `nnbp data fetch`: mnist or fashion-mnist",
    )
    dir: str = _key(
        "data", checks.path, "where datasets live: <dir>/<dataset>/ (relative to the cwd)"
    )
    train_images: str | None = _key(
        None, checks.optional_path, "explicit IDX file of training images, instead of the dataset's"
    )
    train_labels: str | None = _key(
        None, checks.optional_path, "explicit IDX file of training labels"
    )
    test_images: str | None = _key(None, checks.optional_path, "explicit IDX file of test images")
    test_labels: str | None = _key(None, checks.optional_path, "explicit IDX file of test labels")
    validation_size: int = _key(
        10000, checks.integer(0), "the last N training images are held out for validation; 0: none"
    )


@dataclass(frozen=True)
class NetworkConfig:
    sizes: tuple[int, ...] = _key(
        (784, 30, 10), checks.sizes, "neurons per layer, input first; ends must fit the data"
    )
    cost: str = _key(
        "quadratic",
        checks.choice(COSTS),
        "quadratic, cross-entropy (sigmoid outputs) or log-likelihood (softmax outputs)",
    )
    init: str = _key(
        "large",
        checks.choice(INITS),
        "large: w, b ~ N(0, 1); scaled: w ~ N(0, 1/n_in), b ~ N(0, 1)",
    )


@dataclass(frozen=True)
class TrainingConfig:
    epochs: int = _key(
        30, checks.integer(1), "passes over the training data (at most, with stopping rules)"
    )
    mini_batch_size: int = _key(10, checks.integer(1), "examples per gradient step (m)")
    eta: float = _key(3.0, checks.positive_float, "learning rate (eta), > 0")
    lmbda: float = _key(
        0.0,
        checks.float_at_least(0.0),
        "regularisation strength lambda (n = training-set size); 0: none",
    )
    regularization: str = _key(
        "l2", checks.choice(REGULARIZATIONS), "l2 or l1, applied when lmbda > 0"
    )
    momentum: float = _key(
        0.0, checks.fraction, "momentum coefficient mu, 0 <= mu < 1; 0: plain SGD"
    )
    halve_eta_after: int = _key(
        0,
        checks.integer(0),
        "halve eta after N epochs without a better validation accuracy; 0: never",
    )
    max_halvings: int = _key(
        7,
        checks.integer(1),
        "with halve_eta_after: stop after this many halvings (7: eta/128, the book's)",
    )
    early_stopping: int = _key(
        0, checks.integer(0), "stop after N epochs without a better validation accuracy; 0: never"
    )
    keep: str = _key(
        "best",
        checks.choice(KEEP),
        "weights.npz holds the best validation epoch (best) or the last",
    )
    augment: tuple[str, ...] = _key(
        (),
        checks.names(AUGMENTATIONS),
        "distortions of the training images, drawn afresh each epoch: shift, flip, affine, elastic",
    )
    augment_options: dict[str, dict[str, float]] = _key(
        None,
        checks.options,
        "per kind, e.g. {elastic: {alpha: 34, sigma: 4}, affine: {rotate: 10, shift: 2,"
        " scale: 0.1}, shift: {max_shift: 1}, flip: {p: 0.5}}; unset: those defaults",
    )
    trace: bool = _key(
        False,
        checks.boolean,
        "record per-layer learning statistics (nnbp inspect's) in metrics.jsonl",
    )
    blas_threads: int = _key(
        0,
        checks.integer(0),
        "BLAS threads for the SGD steps; 0: chosen from the shapes (1 for small ones)",
    )
    seed: int = _key(
        0, checks.integer(0), "seed of the one random generator (initialisation, shuffling)"
    )
    dtype: str = _key("float32", checks.choice(DTYPES), "floating point type: float32 or float64")


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
        return yaml.dump(self.to_dict(), Dumper=_Dumper, sort_keys=False)

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: Overrides = ()) -> Config:
        """Read a YAML config file, apply overrides, validate (see ``load``)."""
        return load(path, overrides)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], overrides: Overrides = (), *, name: str = "run"):
        """Validate a dict of config keys (as in a YAML file), overrides applied.

        ``name`` is the run name when the dict has none.
        """
        return from_dict(apply_overrides(raw, overrides), default_name=name)

    def with_overrides(self, overrides: Overrides) -> Config:
        """A new Config with ``overrides`` (``["training.eta=0.5"]`` or
        ``{"training.eta": 0.5}``) applied and checked like the rest."""
        return from_dict(apply_overrides(self.to_dict(), overrides), default_name=self.name)

    def digest(self) -> str:
        """SHA-256 of the resolved config (canonical JSON): says which config made a file."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


_SECTION_CLASSES = {"data": DataConfig, "network": NetworkConfig, "training": TrainingConfig}


def key_paths() -> list[str]:
    """Every valid key path: ``name``, ``data.dataset``, ..."""
    paths = ["name"]
    for section, cls in _SECTION_CLASSES.items():
        paths += [f"{section}.{f.name}" for f in dataclasses.fields(cls)]
    return paths


def describe_keys() -> list[tuple[str, Any, str]]:
    """(key path, default, meaning) for every key, for help texts and docs."""
    rows = [("name", "the config file's name", "run name: the run directory is runs/<name>/")]
    for section, cls in _SECTION_CLASSES.items():
        for f in dataclasses.fields(cls):
            rows.append((f"{section}.{f.name}", f.default, f.metadata["doc"]))
    return rows


def _unknown(path: str) -> ConfigError:
    """An unknown key, with the closest valid key at the same depth as a suggestion."""
    # A right key in the wrong section (training.sizes) is a common slip: say where it is.
    leaf = path.rsplit(".", 1)[-1]
    guess = [p for p in key_paths() if "." in path and p.endswith("." + leaf)][:1]
    valid = key_paths() if "." in path else ["name", *_SECTION_CLASSES]
    guess = guess or difflib.get_close_matches(path, valid, n=1, cutoff=0.6)
    hint = f"; did you mean '{guess[0]}'?" if guess else ""
    return ConfigError(f"{path}: unknown key{hint}")


def _check(path: str, check: Any, value: Any) -> Any:
    try:
        return check(value)
    except ValueError as e:
        raise ConfigError(f"{path}: expected {e}, got {_short.repr(value)}") from None


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
            raise ConfigError(f"{section}: expected a mapping of keys, got {_short.repr(values)}")
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
            raise ConfigError(f"training.augment_options: {e}") from None
    if d.validation_size == 0:
        for key in ("halve_eta_after", "early_stopping"):
            if getattr(t, key):
                raise ConfigError(
                    f"training.{key}: needs a validation set, but data.validation_size is 0"
                )
    explicit = {role: getattr(d, role) for role in ROLES}
    if any(explicit.values()) and not all(explicit.values()):
        missing = next(role for role, path in explicit.items() if not path)
        raise ConfigError(
            f"data.{missing}: expected a path, since other data.* files are given (give all four)"
        )
    if not any(explicit.values()):
        ds = DATASETS[d.dataset]
        n_in = ds.image_shape[0] * ds.image_shape[1]
        sizes = cfg.network.sizes
        if sizes[0] != n_in or sizes[-1] != ds.num_classes:
            raise ConfigError(
                f"network.sizes: expected [{n_in}, ..., {ds.num_classes}] for dataset {d.dataset}"
                f" ({ds.image_shape[0]}x{ds.image_shape[1]} images, {ds.num_classes} classes),"
                f" got {list(sizes)}"
            )


def parse_override(text: str) -> tuple[list[str], Any]:
    """``key.path=value`` -> (["key", "path"], value parsed as a YAML scalar or list)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text}: expected key.path=value, e.g. training.eta=0.5")
    try:
        parsed = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError:
        raise ConfigError(f"--set {text}: the value is not valid YAML") from None
    return key.strip().split("."), parsed


def apply_overrides(raw: Any, overrides: Overrides) -> dict[str, Any]:
    """A copy of raw YAML data with each override set: ``key.path=value`` strings (the
    value parsed as YAML), or a mapping of key paths to values."""
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(f"expected a mapping of keys at the top level, got {type(raw).__name__}")
    out = dict(raw or {})
    if isinstance(overrides, Mapping):
        pairs = [(str(key).split("."), value) for key, value in overrides.items()]
    else:
        pairs = [parse_override(text) for text in overrides]
    for path, value in pairs:
        dotted = ".".join(path)
        if dotted not in key_paths():
            raise _unknown(dotted)
        if len(path) == 1:
            out[path[0]] = value
        else:
            section = out.get(path[0])
            section = dict(section) if isinstance(section, dict) else {}
            section[path[1]] = value
            out[path[0]] = section
    return out


def load(path: str | Path, overrides: Overrides = ()) -> Config:
    """Read a YAML config file, apply ``--set`` overrides, validate.

    The run name defaults to the file's stem (configs/mnist.yaml -> mnist). Errors are
    ConfigError with the file name in front of the key path.
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    if not path.is_file():
        # A directory, FIFO or device (/dev/zero) would fail, block or never end.
        raise ConfigError(f"{path}: not a regular file, expected a YAML config file")
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the config file ({e})") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes, not a config file")
    try:
        raw = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader, see _LOADER
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}: not valid YAML{line}: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid YAML: nested too deeply") from None
    try:
        return from_dict(apply_overrides(raw, overrides), default_name=path.stem)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
