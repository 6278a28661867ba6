"""Starting bench workers: each measurement runs in a fresh interpreter that prints one
JSON object as its last line of stdout, so each starts with clean imports and its own
thread settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORKER_TIMEOUT = 600  # seconds; a hung worker becomes an "error" cell, not a hung bench


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_worker(
    script: str,
    args: list[str],
    pythonpath: Path | None = None,
    env: dict[str, str] | None = None,
) -> dict:
    """Run bench/<script> in a fresh interpreter; its JSON, or {"status": "error", ...}.

    ``pythonpath``: a directory put first on the worker's import path (a past revision's
    nnbp package, extracted by bench/engine.py), ahead of the checkout's editable install.
    ``env``: variables added to (or replacing in) this process's environment for the
    worker, such as the BLAS kernel's (settings.KERNELS); the rest is inherited unchanged.
    """
    env = {**os.environ, **(env or {})}
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    cmd = [sys.executable, str(BENCH / script), *args]
    try:
        proc = subprocess.run(
            cmd,
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"status": "error", "error": f"timed out after {WORKER_TIMEOUT} s"}
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"]
        return {"status": "error", "error": lines[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])
