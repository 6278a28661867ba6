"""A packed dataset on disk: MNIST's four gzipped IDX files and ``dataset.json``.

``write_dataset`` (for ``nnbp data pack``) makes the folder whole or not at all: all is
written into a temporary folder beside it, then renamed. ``datasets.get_dataset`` reads
``dataset.json``, so that a packed dataset is used by name exactly as MNIST is. It holds:

- ``format`` ("nnbp-packed-dataset"), ``format_version``, ``nnbp_version``;
- ``name``, ``class_names`` (label k is ``class_names[k]``), ``image_shape`` [rows, cols],
  ``preparation`` (how the image files were made into the IDX images, one of
  prepare.STYLES; networks trained on it prepare new images the same way);
- ``files``: role -> {``name``, ``sha256``} (of the decompressed content, as datasets.py
  checks MNIST's);
- ``counts``: {``train``, ``test``} -> images per class; ``skipped``: files not packed;
  ``seed`` and ``test_fraction`` (null with a separate test folder) of the split.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from nnbp import idx
from nnbp.download import gz_sha256
from nnbp.errors import DataError, UsageError

META_FILE = "dataset.json"
FORMAT = "nnbp-packed-dataset"
FORMAT_VERSION = 1
MAX_META_BYTES = 1 << 20  # a description of a few classes; far more is not one


def read(directory: str | os.PathLike) -> dict[str, Any]:
    """The checked ``dataset.json`` of the packed dataset in ``directory``.

    DataError naming the file when it is missing, unreadable or not one nnbp wrote.
    """
    from nnbp.datasets import ROLES
    from nnbp.prepare import STYLES

    path = Path(directory, META_FILE)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_META_BYTES + 1)
        meta = json.loads(raw.decode("utf-8")) if len(raw) <= MAX_META_BYTES else None
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise DataError(f"{path}: cannot read a packed dataset's description ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DataError(f"{path}: not a packed dataset's description (format is not '{FORMAT}')")
    if not isinstance(meta.get("format_version"), int) or meta["format_version"] > FORMAT_VERSION:
        raise DataError(f"{path}: format_version {meta.get('format_version')!r} is not one"
                        f" this nnbp reads ({FORMAT_VERSION}); upgrade nnbp")  # fmt: skip
    names, shape = meta.get("class_names"), meta.get("image_shape")
    if not isinstance(names, list) or len(names) < 2 or not all(isinstance(n, str) for n in names):
        raise DataError(f"{path}: 'class_names' must list at least 2 names")
    if (
        not isinstance(shape, list)
        or len(shape) != 2
        or not all(type(n) is int and n > 0 for n in shape)
    ):
        raise DataError(f"{path}: 'image_shape' must be [rows, cols], got {shape!r}")
    if meta.get("preparation") not in STYLES:
        raise DataError(f"{path}: 'preparation' must be one of {', '.join(STYLES)}")
    files = meta.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(files.get(role), dict)
        and _plain_name(files[role].get("name"))
        and isinstance(files[role].get("sha256"), str)
        for role in ROLES
    ):
        raise DataError(f"{path}: 'files' must give a file name and sha256 for each of {ROLES}")
    return meta


def _plain_name(name: Any) -> bool:
    """A file name inside the dataset's directory (a hostile one must not point elsewhere)."""
    if not isinstance(name, str) or name in ("", ".", ".."):
        return False
    return "/" not in name and "\\" not in name


def write(directory: str | os.PathLike, meta: dict[str, Any]) -> None:
    """Write ``meta`` (format keys added) as ``directory/dataset.json``, atomically."""
    from nnbp import __version__
    from nnbp.atomic import atomic_write_text

    full = {"format": FORMAT, "format_version": FORMAT_VERSION, "nnbp_version": __version__}
    text = json.dumps({**full, **meta}, indent=2, ensure_ascii=False) + "\n"
    path = Path(directory, META_FILE)
    try:
        atomic_write_text(path, text)
    except OSError as e:
        raise DataError(f"{path}: cannot write ({e.strerror or e})") from None


def check_target(target: Path, overwrite: bool) -> None:
    """Refuse, before any work, to replace anything but a packed dataset (and that only
    with ``overwrite``)."""
    if not target.exists() and not target.is_symlink():
        return
    if not overwrite:
        raise UsageError(
            f"{target}: exists; pass --overwrite to replace it, or choose another name"
        )
    if not (target / META_FILE).is_file() or target.is_symlink():
        raise DataError(f"{target}: exists and is not a packed dataset; not replacing it")


def write_dataset(target: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """The four IDX files and dataset.json into a temporary folder beside ``target``, then
    renamed to ``target`` (a packed dataset already there is replaced only at the end)."""
    from nnbp.datasets import FILE_NAMES, ROLES

    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
    except OSError as e:
        raise DataError(f"{tmp}: cannot create a folder ({e.strerror or e})") from None
    old = None
    try:
        files = {}
        for role, file in zip(ROLES, FILE_NAMES, strict=True):
            idx.write_idx(tmp / file, arrays[role], compresslevel=6)
            files[role] = {"name": file, "sha256": gz_sha256(tmp / file)}
        write(tmp, {**meta, "files": files})
        if target.exists():
            old = target.with_name(f".{target.name}.{os.getpid()}.old")
            os.rename(target, old)
        os.rename(tmp, target)
    except BaseException as e:
        if old is not None and not target.exists():
            os.rename(old, target)  # put the previous dataset back
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise DataError(f"{target}: cannot write the dataset ({e.strerror or e})") from None
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
