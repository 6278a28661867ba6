"""Two "machines" share one study through a real PostgreSQL server; one of them dies.

The server is Debian's postgresql package, started here on a free loopback port in a
temporary directory (initdb and pg_ctl run as the postgres user when the tests run as
root, since initdb refuses root) and stopped at the end. CI installs the package.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from test_sweep import point, sweep_dir  # noqa: F401 - the fixture

pytest.importorskip("optuna")
pytest.importorskip("psycopg")

EPOCHS = 40


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    """postgresql://postgres@127.0.0.1:PORT/postgres of a server of its own."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        if os.environ.get("CI"):
            pytest.fail(
                "PostgreSQL's binaries are missing (.ci/run installs the postgresql package)"
            )
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    bin_dir = Path(bins[-1]).parent
    home = Path(tempfile.mkdtemp(prefix="nnbp-pg-"))
    if os.geteuid() == 0:
        shutil.chown(home, "postgres", "postgres")
    data, port = home / "data", _free_port()

    def run(*command: str) -> None:
        full = _as_postgres([str(bin_dir / command[0]), *command[1:]])
        subprocess.run(full, check=True, capture_output=True, text=True)

    run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {home}"
    run("pg_ctl", "-D", str(data), "-o", options, "-l", str(home / "log"), "-w", "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(home, ignore_errors=True)


def _machine(cwd: Path, host: str, url: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "NNBP_SWEEP_HOST": host, "NNBP_SWEEP_STORAGE": url}
    return subprocess.Popen(
        [sys.executable, "-m", "nnbp", "sweep", *args, "--out", host],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _rows(trial_dir: Path) -> int:
    metrics = trial_dir / "metrics.jsonl"
    return len(metrics.read_text().splitlines()) if metrics.is_file() else 0


def _wait_until(condition, what: str, *procs: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for p in procs:
            if p.poll() is not None:
                pytest.fail(f"a machine ended early ({p.returncode}): {p.communicate()[1]}")
        time.sleep(0.05)
    pytest.fail(f"timed out waiting until {what}")


def test_two_machines_share_a_study_and_one_takes_over_the_others_trial(sweep_dir, postgres_url):  # noqa: F811
    spec = yaml.safe_load((sweep_dir / "grid.yaml").read_text())
    spec.update(
        pruner={"type": "none"},
        heartbeat={"interval": 1, "grace": 3},
        workers=1,
        # enough points that alpha cannot finish them all before beta has started two
        space={"training.eta": [0.1, 0.3, 1.0, 3.0], "network.sizes": [[64, 6, 3], [64, 12, 3]]},
        set={"training.epochs": EPOCHS},
    )
    (sweep_dir / "grid.yaml").write_text(yaml.safe_dump(spec))
    alpha = _machine(sweep_dir, "alpha", postgres_url, "run", "grid.yaml", "--json")
    _wait_until(
        lambda: any((sweep_dir / "alpha/trials").glob("*/metrics.jsonl")), "alpha trains", alpha
    )
    beta = _machine(sweep_dir, "beta", postgres_url, "join", "--study", "grid")
    trials = sweep_dir / "beta/trials"
    # beta finishes one trial, then dies half-way through its next one.
    _wait_until(
        lambda: (
            any(_rows(d) == EPOCHS for d in trials.glob("*"))
            and any(2 <= _rows(d) < EPOCHS - 5 for d in trials.glob("*"))
        ),
        "beta is mid-trial",
        alpha,
        beta,
    )
    os.killpg(beta.pid, signal.SIGKILL)
    beta.communicate()
    out, err = alpha.communicate(timeout=300)
    assert alpha.returncode == 0, err
    summary = json.loads(out)
    ended = [t for t in summary["trials"] if t["state"] == "COMPLETE"]
    assert sorted(map(point, ended)) == sorted(
        (e, tuple(s)) for e in spec["space"]["training.eta"] for s in spec["space"]["network.sizes"]
    )
    assert {t["host"] for t in ended} == {"alpha", "beta"}
    dead = [t for t in summary["trials"] if t["state"] == "FAIL"]
    assert len(dead) == 1 and dead[0]["host"] == "beta"
    retry = next(t for t in ended if t.get("retry_of") == dead[0]["number"])
    assert retry["host"] == "alpha" and retry["run_dir"].startswith(str(sweep_dir / "alpha"))
    assert _rows(Path(retry["run_dir"])) == EPOCHS
    reports = []
    for host in ("alpha", "beta"):
        done = subprocess.run(
            [sys.executable, "-m", "nnbp", "sweep", "report", "--study", "grid", "--json"],
            cwd=sweep_dir,
            env={**os.environ, "NNBP_SWEEP_STORAGE": postgres_url, "NNBP_SWEEP_HOST": host},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        reports.append(json.loads(done.stdout))
    assert reports[0] == reports[1] and reports[0]["trials"] == summary["trials"]
    per_host = {h: sum(t["host"] == h for t in ended) for h in ("alpha", "beta")}
    print(
        f"\ntrials per host: {per_host};"
        f" trial {dead[0]['number']} (beta, killed) retried as trial {retry['number']} on alpha"
    )
