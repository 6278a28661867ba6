"""Read and write IDX files (the MNIST format), plain or gzip-compressed.

An IDX file is a 4-byte magic number -- two zero bytes, a dtype code and the number
of dimensions -- then one big-endian uint32 per dimension, then the values in C order,
big-endian. idx2numpy turns the bytes into an array; this module checks everything
around it first (magic, dtype, dimensions, that the header's sizes fit the bytes
actually present) so a bad or hostile file gives a one-line ``DataError`` naming the
path, never a MemoryError, a hang or a huge allocation.
"""

from __future__ import annotations

import gzip
import math
import os
import stat
import struct
import zlib
from collections.abc import Callable
from typing import BinaryIO

import idx2numpy
import numpy as np

from nnbp.atomic import atomic_write_bytes
from nnbp.errors import DataError

MAX_IDX_BYTES = 2**30
"""Largest data payload (bytes after the header) we accept, whatever a header claims."""

IMAGES_MAGIC = 0x00000803  # uint8, 3 dimensions: (n, rows, cols)
LABELS_MAGIC = 0x00000801  # uint8, 1 dimension: (n,)

# IDX dtype code -> numpy dtype of one stored value (IDX is always big-endian).
_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in _DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 24  # 16 MiB: read gzip payloads in pieces so allocation follows real data
# idx2numpy's encoder packs one Python object per element (~1 us and ~60 bytes each);
# above this many elements we encode the same bytes with numpy instead.
_IDX2NUMPY_MAX_ELEMENTS = 1_000_000


def _parse_header(path: str, read: Callable[[int], bytes]) -> tuple[bytes, tuple[int, ...], int]:
    """Parse the header through ``read(n) -> bytes``.

    Returns (header bytes, dims, payload size in bytes), after checking the magic and
    that the declared payload is at most MAX_IDX_BYTES.
    """
    magic = read(4)
    if not magic:
        raise DataError(f"{path}: file is empty, expected an IDX file")
    if len(magic) < 4:
        raise DataError(f"{path}: {len(magic)} bytes is too short for an IDX header")
    zero0, zero1, code, ndim = magic
    if zero0 or zero1:
        raise DataError(
            f"{path}: not an IDX file: magic starts with 0x{zero0:02X} 0x{zero1:02X}, "
            "expected 0x00 0x00"
        )
    if code not in _DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _DTYPES)
        raise DataError(f"{path}: unknown IDX dtype code 0x{code:02X}, expected one of {known}")
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares 0 dimensions, expected at least 1")
    dim_bytes = read(4 * ndim)
    if len(dim_bytes) < 4 * ndim:
        raise DataError(f"{path}: truncated IDX header: {ndim} dimensions need {4 * ndim} bytes")
    dims = struct.unpack(f">{ndim}I", dim_bytes)
    # Python ints: no overflow, however large the header's claims.
    payload = math.prod(dims) * _DTYPES[code].itemsize
    if payload > MAX_IDX_BYTES:
        raise DataError(
            f"{path}: header declares shape {'x'.join(map(str, dims))} ({payload} bytes of data), "
            f"more than the {MAX_IDX_BYTES}-byte limit"
        )
    return magic + dim_bytes, dims, payload


def _check_expected(path: str, header: bytes, expected: int | None) -> None:
    magic = int.from_bytes(header[:4], "big")
    if expected is not None and magic != expected:

        def describe(magic: int) -> str:  # 'magic 0x00000803: uint8, 3-D'
            dtype = _DTYPES[(magic >> 8) & 0xFF].newbyteorder("=")
            return f"magic 0x{magic:08X}: {dtype.name}, {magic & 0xFF}-D"

        kind = "images" if expected == IMAGES_MAGIC else "labels"
        raise DataError(
            f"{path}: expected an IDX {kind} file ({describe(expected)}) "
            f"but the header has {describe(magic)}"
        )


def _check_size(path: str, dims: tuple[int, ...], want: int, have: int, holds: str) -> None:
    """Raise unless ``have`` bytes (header included) is the ``want`` the header declares."""
    if have != want:
        problem, only = ("truncated", "only ") if have < want else ("trailing data", "")
        raise DataError(
            f"{path}: {problem}: header declares shape {'x'.join(map(str, dims))} ({want} "
            f"bytes with header) but {holds} {only}{have} bytes"
        )


def _read_plain(path: str, f: BinaryIO, size: int, expected: int | None) -> np.ndarray:
    header, dims, payload = _parse_header(path, f.read)
    _check_expected(path, header, expected)
    # Compare with the file size before reading, so a lying header never makes us read.
    _check_size(path, dims, len(header) + payload, size, "the file holds")
    f.seek(0)
    return idx2numpy.convert_from_file(f)


def _read_gzip(path: str, f: BinaryIO, expected: int | None) -> np.ndarray:
    with gzip.GzipFile(fileobj=f, mode="rb") as gz:
        header, dims, payload = _parse_header(path, gz.read)
        _check_expected(path, header, expected)
        # Read at most payload + 1 bytes, in chunks, so memory grows only with the data
        # really there (a gzip bomb or lying header cannot make us allocate more); the
        # extra byte tells us whether anything trails the payload.
        chunks = [header]
        got = 0
        while got <= payload:
            chunk = gz.read(min(payload + 1 - got, _CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
    # Past the payload we stopped after one byte, so then ``got`` is only a lower bound.
    holds = "decompressed it holds" + (" at least" if got > payload else "")
    _check_size(path, dims, len(header) + payload, len(header) + got, holds)
    data = b"".join(chunks)
    chunks.clear()  # one copy of the content at a time: the pieces can go now
    return idx2numpy.convert_from_string(data)


def _read_idx(path: str | os.PathLike, expected: int | None) -> np.ndarray:
    where = os.fspath(path)
    try:
        info = os.stat(where)
        if stat.S_ISDIR(info.st_mode):
            raise DataError(f"{where}: is a directory, expected an IDX file")
        if not stat.S_ISREG(info.st_mode):
            # FIFOs and devices could block or never end.
            raise DataError(f"{where}: not a regular file, expected an IDX file")
        with open(where, "rb") as f:
            if f.read(2) == _GZIP_MAGIC:  # IDX starts with 0x00, so this cannot clash
                f.seek(0)
                raw = _read_gzip(where, f, expected)
            else:
                f.seek(0)
                raw = _read_plain(where, f, info.st_size, expected)
    except FileNotFoundError:
        raise DataError(f"{where}: file not found") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise DataError(f"{where}: corrupt or truncated gzip data ({e})") from None
    except idx2numpy.FormatError as e:
        raise DataError(f"{where}: malformed IDX data ({e})") from None
    except OSError as e:
        raise DataError(f"{where}: cannot read: {e.strerror or e}") from None
    # idx2numpy's arrays are read-only views of bytes and big-endian for wide types:
    # one copy makes a normal, writeable, native-order array.
    return np.array(raw, dtype=raw.dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (plain or gzip, detected by its magic bytes) into an array.

    Returns a writeable, native-byte-order array of the file's shape, with dtype
    uint8, int8, int16, int32, float32 or float64 as its dtype code says.
    Raises DataError naming ``path`` for anything missing, malformed or inconsistent.
    """
    return _read_idx(path, None)


def read_images(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX images file (magic 0x00000803): uint8 array of shape (n, rows, cols)."""
    return _read_idx(path, IMAGES_MAGIC)


def read_labels(path: str | os.PathLike, num_classes: int | None = None) -> np.ndarray:
    """Read an IDX labels file (magic 0x00000801): uint8 array of shape (n,).

    With ``num_classes``, every label must be in 0..num_classes-1.
    """
    if num_classes is not None and num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    labels = _read_idx(path, LABELS_MAGIC)
    if num_classes is not None:
        bad = np.flatnonzero(labels >= num_classes)
        if bad.size:
            i = int(bad[0])
            raise DataError(
                f"{os.fspath(path)}: label {labels[i]} at index {i} is out of range, "
                f"expected 0..{num_classes - 1} ({bad.size} such labels)"
            )
    return labels


def read_pair(
    images_path: str | os.PathLike,
    labels_path: str | os.PathLike,
    num_classes: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Read matching images (uint8, (n, rows, cols)) and labels (uint8, (n,)) files."""
    images = read_images(images_path)
    labels = read_labels(labels_path, num_classes)
    if len(images) != len(labels):
        raise DataError(
            f"{os.fspath(images_path)} holds {len(images)} images but "
            f"{os.fspath(labels_path)} holds {len(labels)} labels; expected equal counts"
        )
    return images, labels


def _encode(path: str, array: np.ndarray) -> bytes:
    """IDX bytes for ``array`` (any supported dtype, either byte order)."""
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=") if array.dtype.byteorder != "|" else array.dtype
    if native not in _CODES:
        raise DataError(
            f"{path}: cannot write dtype {array.dtype} as IDX, expected one of "
            + ", ".join(d.newbyteorder("=").name for d in _DTYPES.values())
        )
    if array.ndim == 0 or array.size == 0 or array.ndim > 255 or max(array.shape) >= 2**32:
        raise DataError(
            f"{path}: cannot write shape {array.shape} as IDX, expected 1 to 255 dimensions "
            "each of 1 to 2**32-1"
        )
    # idx2numpy's encoder only knows native-order dtype names.
    array = np.ascontiguousarray(array, dtype=native)
    if array.size <= _IDX2NUMPY_MAX_ELEMENTS:
        return idx2numpy.convert_to_string(array)
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, _CODES[native], array.ndim, *array.shape)
    return header + array.astype(native.newbyteorder(">"), copy=False).tobytes()


def write_idx(path: str | os.PathLike, array: np.ndarray, *, compresslevel: int = 9) -> None:
    """Write ``array`` as an IDX file, gzip-compressed when ``path`` ends in ``.gz`` (at
    gzip's ``compresslevel``, 1-9: 9 is the most compact, and on images far slower than 6).

    ``array`` must be non-empty with 1..255 dimensions and dtype uint8, int8, int16,
    int32, float32 or float64 (either byte order). The write is atomic: a temporary
    file in the same directory is fsynced then renamed over ``path``.
    """
    where = os.fspath(path)
    data = _encode(where, array)
    if where.endswith(".gz"):
        # mtime=0: the same array gives the same bytes.
        data = gzip.compress(data, compresslevel, mtime=0)
    try:
        atomic_write_bytes(where, data)
    except OSError as e:
        raise DataError(f"{where}: cannot write IDX file: {e.strerror or e}") from None
