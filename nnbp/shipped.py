"""The configs and sweep specs that ship with nnbp, by name (``nnbp config list``).

They live in the package (``nnbp/configs/``, the checkout's ``configs/``), so a ``pip
install`` has them too: ``nnbp train mnist`` trains configs/mnist.yaml where no file
``mnist`` exists, and ``nnbp config copy mnist`` writes one out to edit.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from nnbp.errors import ConfigError, UsageError

SWEEPS = "sweeps"


def directory() -> Path:
    """Where the shipped configs are: in the package, or the checkout beside it (a
    checkout whose file system keeps no symbolic links)."""
    inside = Path(__file__).resolve().parent / "configs"
    return inside if inside.is_dir() else Path(__file__).resolve().parent.parent / "configs"


def names(kind: str = "config") -> list[str]:
    """The shipped configs' names (``kind`` "sweep": the sweep specs'), sorted."""
    where = directory() / SWEEPS if kind == "sweep" else directory()
    return sorted(p.stem for p in where.glob("*.yaml"))


def purpose(path: Path) -> str:
    """A config's one-line purpose: its first comment line."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").rstrip()
    return ""


def is_name(text: str | os.PathLike) -> bool:
    """Whether ``text`` may be a shipped name: no directory part, no .yaml suffix."""
    text = str(text)
    return bool(text) and "/" not in text and os.sep not in text and not text.endswith(".yaml")


def find(name: str, kind: str = "config") -> Path:
    """The file of the shipped config (or sweep spec) ``name``; ConfigError listing the
    names otherwise."""
    path = directory() / (SWEEPS if kind == "sweep" else "") / f"{name}.yaml"
    if is_name(name) and path.is_file():
        return path
    raise ConfigError(
        f"{name}: no such {kind} file, nor a shipped {kind}; shipped: {', '.join(names(kind))}"
    )


def resolve(path: str | os.PathLike, kind: str = "config") -> Path:
    """``path`` itself when it exists or names a file, else the shipped one it names."""
    if Path(path).exists() or not is_name(path):
        return Path(path)
    return find(str(path), kind)


def copy(name: str, dest: str | os.PathLike | None = None, kind: str = "config") -> Path:
    """Write the shipped config ``name`` to ``dest`` (default ``./NAME.yaml``), never over
    an existing file; the path written."""
    source = find(name, kind)
    target = Path(dest) if dest is not None else Path(f"{name}.yaml")
    if target.is_dir():
        target = target / source.name
    if target.exists():
        raise UsageError(f"{target}: exists; give another destination")
    try:
        shutil.copyfile(source, target)
    except OSError as e:
        raise UsageError(f"{target}: cannot write ({e.strerror or e})") from None
    return target
