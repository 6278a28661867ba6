"""The weights file, ``weights.npz``: save and load a Network with its metadata.

Layout (a NumPy ``.npz`` archive, read with ``allow_pickle=False``, so nothing in it is
ever executed):

- ``sizes``: int64 (L+1,), layer sizes, input first;
- ``w0``, ``b0``, ``w1``, ``b1``, ...: each layer's weights (sizes[l+1], sizes[l]) and
  biases (sizes[l+1],), float32 or float64;
- ``metadata``: a 0-d string array holding a JSON object: ``format``, ``format_version``,
  ``nnbp_version``, ``activation`` (hidden layers), ``output_activation``, ``cost``,
  ``dtype``, ``input_shape``, ``input_scaling``, ``class_names``, ``config_sha256``,
  ``epoch`` (the training epoch the weights come from), ``preparation`` (how image files
  become inputs: "digit", "object" or "plain", see prepare.py; files without it are
  read as "digit").
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from nnbp import __version__
from nnbp.atomic import atomic_write_npz
from nnbp.costs import COSTS
from nnbp.errors import ModelFileError
from nnbp.inputs import SCALING
from nnbp.network import Network
from nnbp.prepare import STYLES

FORMAT = "nnbp-weights"
FORMAT_VERSION = 1
# Far above any network nnbp trains (a [784, 1000, 1000, 10] float64 net is 15 MB); the
# cap keeps a hostile file from making np.load allocate what its headers claim.
MAX_ARRAY_BYTES = 1 << 30
MAX_ENTRIES = 1000


def save(
    path: str | os.PathLike,
    net: Network,
    *,
    input_shape: tuple[int, int],
    class_names: list[str],
    config_sha256: str,
    epoch: int | None = None,
    preparation: str = "digit",
) -> None:
    """Write ``net`` and its metadata to ``path`` atomically; ``epoch``: which epoch it is,
    ``preparation``: how image files are made into its inputs (one of prepare.STYLES)."""
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "nnbp_version": __version__,
        "activation": "sigmoid",
        "output_activation": net.output,
        "cost": net.cost,
        "dtype": str(net.dtype),
        "input_shape": list(input_shape),
        "input_scaling": SCALING,
        "class_names": list(class_names),
        "config_sha256": config_sha256,
        "epoch": epoch,
        "preparation": preparation,
    }
    arrays: dict[str, np.ndarray] = {"sizes": np.array(net.sizes, dtype=np.int64)}
    for l, (w, b) in enumerate(zip(net.w, net.b, strict=True)):
        # Views into one (n_out, n_in + 1) array per layer; np.savez stores them plainly.
        arrays[f"w{l}"] = w
        arrays[f"b{l}"] = b
    arrays["metadata"] = np.array(json.dumps(metadata))
    try:
        atomic_write_npz(path, arrays)
    except OSError as e:
        raise ModelFileError(f"{path}: cannot write ({e.strerror or e})") from None


def load(path: str | os.PathLike) -> tuple[Network, dict[str, Any]]:
    """Read a weights file: (Network, metadata). Anything amiss is a ModelFileError."""
    path = Path(path)
    if not path.is_file():
        what = "is not a file" if path.exists() else "not found"
        raise ModelFileError(f"{path}: weights file {what}")
    try:
        with open(path, "rb") as f:
            is_zip = f.read(4) == b"PK\x03\x04"
    except OSError as e:
        raise ModelFileError(f"{path}: cannot read ({e.strerror or e})") from None
    if not is_zip:
        # np.load would try other formats on it (even pickle, which it then refuses).
        raise ModelFileError(f"{path}: not a readable weights file (not an .npz archive)")
    _check_entries(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not hasattr(npz, "files"):
                raise ModelFileError(f"{path}: not a readable weights file (not an .npz archive)")
            arrays = {key: npz[key] for key in npz.files}
    except ValueError as e:
        # np.load says "Object arrays cannot be loaded when allow_pickle=False" for pickles.
        raise ModelFileError(f"{path}: not an nnbp weights file ({e})") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise ModelFileError(f"{path}: not a readable weights file ({e})") from None
    if "metadata" not in arrays or "sizes" not in arrays:
        raise ModelFileError(f"{path}: not an nnbp weights file (no 'metadata' or 'sizes' entry)")
    metadata = _metadata(path, arrays["metadata"])
    return _network(path, arrays, metadata), metadata


def _check_entries(path: Path) -> None:
    """Read only the archive's directory and each array's header, before np.load.

    np.load allocates an array as large as its header says before reading the data, so
    a small file declaring a huge array, or an object (pickle) array, is refused here.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ENTRIES:
                raise ModelFileError(f"{path}: {len(entries)} entries, not an nnbp weights file")
            for info in entries:
                with archive.open(info) as f:
                    major, _ = np.lib.format.read_magic(f)
                    read_header = {
                        1: np.lib.format.read_array_header_1_0,
                        2: np.lib.format.read_array_header_2_0,
                    }.get(major)
                    if read_header is None:
                        raise ValueError(f"npy format version {major}")
                    shape, _, dtype = read_header(f)
                if dtype.hasobject:
                    raise ModelFileError(
                        f"{path}: entry {info.filename} holds Python objects (pickle); refused"
                    )
                need = math.prod(shape) * dtype.itemsize
                if need > MAX_ARRAY_BYTES or need > info.file_size:
                    raise ModelFileError(
                        f"{path}: entry {info.filename} declares {need} bytes of data but"
                        f" holds {info.file_size}"
                    )
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, RuntimeError) as e:
        # RuntimeError: zipfile's "encrypted, password required" and similar.
        raise ModelFileError(f"{path}: not a readable weights file ({e})") from None


def _metadata(path: Path, entry: np.ndarray) -> dict[str, Any]:
    try:
        metadata = json.loads(str(entry[()]))
    except (ValueError, TypeError, IndexError):
        raise ModelFileError(f"{path}: the metadata entry is not JSON") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not an nnbp weights file (format is not '{FORMAT}')")
    version = metadata.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: format version {version} is newer than this nnbp reads ({FORMAT_VERSION});"
            " upgrade nnbp"
        )
    if metadata.get("activation") != "sigmoid" or metadata.get("cost") not in COSTS:
        raise ModelFileError(
            f"{path}: unsupported activation/cost {metadata.get('activation')!r}/"
            f"{metadata.get('cost')!r}"
        )
    if metadata.get("preparation", "digit") not in STYLES:
        raise ModelFileError(
            f"{path}: unknown preparation {metadata['preparation']!r}, expected one of"
            f" {', '.join(STYLES)}"
        )
    return metadata


def _network(path: Path, arrays: dict[str, np.ndarray], metadata: dict[str, Any]) -> Network:
    sizes = arrays["sizes"]
    if sizes.ndim != 1 or len(sizes) < 2 or sizes.dtype.kind not in "iu" or (sizes < 1).any():
        raise ModelFileError(f"{path}: 'sizes' must list at least 2 positive integers")
    sizes = [int(n) for n in sizes]
    expected = {"sizes", "metadata"} | {f"{p}{l}" for l in range(len(sizes) - 1) for p in "wb"}
    if set(arrays) != expected:
        raise ModelFileError(
            f"{path}: entries {sorted(set(arrays) ^ expected)} disagree with sizes {sizes}"
        )
    w, b = [], []
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        wl, bl = arrays[f"w{l}"], arrays[f"b{l}"]
        if wl.shape != (n_out, n_in) or bl.shape != (n_out,):
            raise ModelFileError(
                f"{path}: layer {l} has weights {wl.shape} and biases {bl.shape}, expected"
                f" ({n_out}, {n_in}) and ({n_out},) from sizes {sizes}"
            )
        if wl.dtype not in (np.float32, np.float64) or bl.dtype != wl.dtype:
            raise ModelFileError(f"{path}: layer {l} is {wl.dtype}/{bl.dtype}, expected float32/64")
        w.append(wl)
        b.append(bl)
    if len({wl.dtype for wl in w}) != 1:
        raise ModelFileError(f"{path}: layers of mixed dtypes")
    return Network(w, b, metadata["cost"])
