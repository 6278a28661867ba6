"""Small YAML files, read safely and written readably: configs and sweep specs.

Reading takes plain data only, numbers as YAML 1.2 reads them, from a regular file of
at most ``MAX_BYTES``; anything else is a ``ConfigError`` naming the file. Writing puts
lists on one line (``[784, 30, 10]``) and mappings in blocks.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from nnbp.errors import ConfigError

# A config is a few dozen lines; anything near this size is not one, and the cap bounds
# the parser's work on a hostile file (a 64 KiB list parses in about 0.25 s).
MAX_BYTES = 64 * 1024


class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's safe loader when PyYAML has it (plain data only; it refuses absurd
    nesting at once where the pure-Python one recurses for seconds), reading numbers as
    YAML 1.2 does: PyYAML's YAML 1.1 rules take 1e-3, 1E5 and .5e-2 for strings."""


_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")
_FLOAT_RESOLVER = ("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+.0123456789"))
Loader.add_implicit_resolver(*_FLOAT_RESOLVER)


class Dumper(yaml.SafeDumper):
    """SafeDumper writing lists in flow style ([784, 30, 10]) and mappings as blocks."""


Dumper.add_representer(
    list, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)
# The string "1e5" (a run name) is quoted, so that Loader does not read it back as 100000.0.
Dumper.add_implicit_resolver(*_FLOAT_RESOLVER)


def loads(text: str) -> Any:
    """The data of a YAML document, read with ``Loader``; yaml.YAMLError if it is not one."""
    return yaml.load(text, Loader=Loader)  # noqa: S506 - a safe loader, see Loader


def dumps(data: Any) -> str:
    """``data`` as YAML: block mappings in their own order, lists on one line."""
    return yaml.dump(data, Dumper=Dumper, sort_keys=False)


def yaml_scalar(value: Any) -> str:
    """A default as it would be written in a config file: null, false, [784, 30, 10]."""
    if isinstance(value, str) and " " in value:
        return value  # a description such as "the config file's name"
    value = list(value) if isinstance(value, tuple) else value
    return yaml.dump(value, Dumper=Dumper, default_flow_style=True).removesuffix("\n...\n").strip()


def read_yaml(path: str | Path, what: str) -> Any:
    """The data of a small YAML file (a ``what``: config, sweep spec), read safely;
    ConfigError naming the file otherwise."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: {what} file not found")
    if not path.is_file():
        # A directory, FIFO or device (/dev/zero) would fail, block or never end.
        raise ConfigError(f"{path}: not a regular file, expected a YAML {what} file")
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the {what} file ({e})") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_BYTES} bytes, not a {what} file")
    try:
        return loads(text)
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}: not valid YAML{line}: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid YAML: nested too deeply") from None
