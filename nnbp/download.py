"""Downloading one file: streamed into a temporary file beside its destination,
verified by the SHA-256 of its decompressed content, then renamed into place.

A partial or wrong download never sits under the final name. datasets.py decides which
files and sources; this module moves the bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import secrets
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from nnbp.errors import BadSource
from nnbp.idx import MAX_IDX_BYTES

TIMEOUT = 30  # seconds without an answer before a URL counts as unreachable
_CHUNK = 1 << 20  # stream in 1 MiB pieces so memory stays small
_MAX_BYTES = MAX_IDX_BYTES + 2**20  # no real file (compressed or not) comes near this


def gz_sha256(path: str | os.PathLike) -> str:
    """Streamed SHA-256 of a gzip file's content; ValueError if not valid gzip, OSError."""
    digest = hashlib.sha256()
    size = 0
    try:
        with gzip.open(path, "rb") as gz:
            while chunk := gz.read(_CHUNK):
                size += len(chunk)
                if size > _MAX_BYTES:  # a gzip bomb: stop rather than hash forever
                    raise ValueError(f"decompresses to more than {_MAX_BYTES} bytes")
                digest.update(chunk)
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise ValueError(f"not a valid gzip file ({e})") from None
    return digest.hexdigest()


def verify_file(path: str | os.PathLike, sha256: str) -> bool:
    """True if ``path`` is a gzip file whose decompressed content has this SHA-256.

    A missing, unreadable, non-gzip or corrupt file gives False, never an exception.
    """
    try:
        return gz_sha256(path) == sha256.lower()
    except (OSError, ValueError):
        return False


def reason(error: BaseException) -> str:
    """A short human reason for a failed source."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        if not isinstance(error.reason, OSError):
            return str(error.reason)
        error = error.reason  # e.g. file not found behind a file:// URL, DNS failure
    if isinstance(error, FileNotFoundError):
        return "not found"
    if isinstance(error, TimeoutError):
        return f"no answer within {TIMEOUT} s"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 10**5 else f"{size / 1e3:.1f} kB"


def _copy(src: BinaryIO, out: BinaryIO, total: int | None, report: Callable[[str], None]) -> int:
    """Stream ``src`` into ``out``; return the byte count. Reports every 25% of big files."""
    size, next_percent = 0, 25
    while chunk := src.read(_CHUNK):
        size += len(chunk)
        if size > _MAX_BYTES:
            raise BadSource(f"more than {_MAX_BYTES} bytes, larger than any real dataset file")
        out.write(chunk)
        if total and total >= 4 * _CHUNK and next_percent <= size * 100 // total < 100:
            percent = size * 100 // total
            report(f"{percent}% of {_megabytes(total)}")
            next_percent = percent // 25 * 25 + 25
    return size


def fetch_one(source: str, dest: Path, sha256: str, say: Callable[[str], None]) -> str:
    """Fetch ``source`` (URL or path) to ``dest`` through a verified temporary file.

    Returns what was done; raises OSError, http.client.HTTPException or BadSource. The
    temporary file is removed on every path and ``dest`` is only ever replaced whole.
    """
    label = f"{dest.parent.name}/{dest.name}"
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(6)}.part")
    total, verb = None, "copied"
    try:
        if "://" in source:
            request = urllib.request.Request(source, headers={"User-Agent": "nnbp"})
            src = urllib.request.urlopen(request, timeout=TIMEOUT)
            if not source.startswith("file:"):
                length, verb = src.headers.get("Content-Length", ""), "downloaded"
                total = int(length) if length.isdigit() else None
        else:
            src = open(source, "rb")  # noqa: SIM115 (closed by the with below)
        with src, open(tmp, "xb") as out:  # "x": never write into someone else's file
            size = _copy(src, out, total, lambda message: say(f"{label}: {message}"))
            out.flush()
            os.fsync(out.fileno())
        try:
            got = gz_sha256(tmp)
        except ValueError as e:
            raise BadSource(str(e)) from None
        if got != sha256.lower():
            raise BadSource(f"sha256 of the decompressed content is {got}, expected {sha256}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)  # after os.replace there is nothing left to remove
    return f"{label}: {verb} from {source} ({_megabytes(size)}), sha256 ok"
