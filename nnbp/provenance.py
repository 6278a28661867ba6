"""run.json: how a run was made, so that a result can be traced and repeated.

The command line, when it started and ended (UTC) and how long it took, the machine,
the versions of Python, NumPy and nnbp, the BLAS library and its threads, the data files
with their SHA-256, and the outcome. Written when training starts (outcome ``running``)
and again when it ends, however it ends; a resumed run keeps its earlier sessions under
``sessions``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import shlex
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nnbp import __version__
from nnbp.errors import Diverged, Interrupted

RUN_FILE = "run.json"  # runs.RUN_FILE; this module loads no NumPy until a run starts
OUTCOMES = ("running", "finished", "interrupted", "diverged", "failed")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# The ``nnbp`` command being run, set by the command line (which may be called in-process,
# as tests and notebooks do); None: this process's own command line.
invocation: list[str] | None = None


def command_line() -> str:
    """The command line as a shell would take it (``nnbp train ...``)."""
    argv = list(invocation or sys.argv or ["python"])
    argv[0] = Path(argv[0]).name or argv[0]
    return shlex.join(argv)


def sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def blas() -> list[dict[str, Any]]:
    """The BLAS libraries NumPy uses: name, version, threads, kernel (threadpoolctl)."""
    from threadpoolctl import threadpool_info

    keep = ("internal_api", "version", "num_threads", "architecture")
    return [
        {k: info.get(k) for k in keep} for info in threadpool_info() if info["user_api"] == "blas"
    ]


def record(data_files: dict[str, Path]) -> dict[str, Any]:
    """The description of a session that starts now."""
    import numpy as np

    return {
        "command": command_line(), "started": _now(), "ended": None, "seconds": None,
        "host": socket.gethostname(),
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "nnbp": __version__},
        "blas": blas(),
        "data": {role: {"path": str(Path(p).resolve()), "sha256": sha256(Path(p))}
                 for role, p in data_files.items()},
        "outcome": "running",
    }  # fmt: skip


def read(run: Path) -> dict[str, Any] | None:
    """The run's run.json, or None when it has none or it cannot be read."""
    try:
        return json.loads((run / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@contextmanager
def session(run: Path, data_files: dict[str, Path], resumed: bool) -> Iterator[dict[str, Any]]:
    """Write run.json now and again when the block ends, with how it ended."""
    from nnbp import runs

    now = record(data_files)
    earlier = read(run) if resumed else None
    if earlier is not None:
        now["sessions"] = [*earlier.pop("sessions", []), earlier]
    t0 = time.monotonic()
    runs.write_text(run, RUN_FILE, json.dumps(now, indent=2) + "\n")
    try:
        yield now
        now["outcome"] = "finished"
    except Interrupted:
        now["outcome"] = "interrupted"
        raise
    except Diverged:
        now["outcome"] = "diverged"
        raise
    except BaseException:
        now["outcome"] = "failed"
        raise
    finally:
        now["ended"], now["seconds"] = _now(), round(time.monotonic() - t0, 3)
        runs.write_text(run, RUN_FILE, json.dumps(now, indent=2) + "\n")
