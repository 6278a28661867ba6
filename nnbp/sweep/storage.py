"""Where a study lives: Optuna's journal file on one machine, PostgreSQL across machines.

The URL may come from ``$NNBP_SWEEP_STORAGE`` so that a password stays out of shell
history; nnbp shows URLs only with the password masked and hands the URL to its worker
processes through the environment, never on their command line.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from nnbp.errors import MissingExtra, SweepError, UsageError

ENV = "NNBP_SWEEP_STORAGE"
JOURNAL_FILE = "study.journal"
INSTALL_HINT = "nnbp sweep needs Optuna: pip install 'nnbp[sweep]'"
CONNECT_TIMEOUT = 10  # seconds before an unreachable PostgreSQL host is reported


def import_optuna() -> Any:
    """The optuna module, quiet; MissingExtra naming the extra when it is not installed."""
    try:
        import optuna
    except ImportError:
        raise MissingExtra(INSTALL_HINT) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # Heartbeats and retries outside Study.optimize are what nnbp's workers use on purpose.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
    return optuna


def url_from(url: str | None) -> str | None:
    """The storage URL given, else ``$NNBP_SWEEP_STORAGE``, else None (a journal file)."""
    return url or os.environ.get(ENV) or None


def masked(url: str | None, out: Path | None = None) -> str:
    """The storage as it may be shown: the password of a URL replaced by ***."""
    if url is None:
        return str((out or Path(".")) / JOURNAL_FILE)
    if "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, at, place = rest.rpartition("@")
    if at and ":" in credentials:
        credentials = credentials.split(":", 1)[0] + ":***"
    return f"{scheme}://{credentials}{at}{place}"


def open_storage(url: str | None, out: Path, *, workers: int, heartbeat: tuple[int, int]) -> Any:
    """An Optuna storage for ``url`` (None: the journal file in ``out``).

    SQLite with several workers is refused: it lets one writer in at a time and its
    file locks do not hold on network file systems, where sweeps often run.
    """
    optuna = import_optuna()
    if url is None or "://" not in url:
        path = out / JOURNAL_FILE if url is None else Path(url)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise SweepError(f"{path.parent}: cannot create the sweep directory ({e})") from None
        backend = optuna.storages.journal.JournalFileBackend(str(path), lock_obj=_lock(path))
        return optuna.storages.JournalStorage(backend)
    scheme = url.split("://", 1)[0]
    if scheme.startswith("sqlite"):
        if workers > 1:
            raise UsageError(
                f"{masked(url)}: SQLite lets one process write at a time; with {workers}"
                " workers use the default journal file or PostgreSQL (or --workers 1)"
            )
        return _rdb(optuna, url, heartbeat, {})
    if scheme in ("postgresql", "postgres"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    elif not scheme.startswith("postgresql+"):
        raise UsageError(
            f"{masked(url)}: unknown storage; expected postgresql://user@host:port/db,"
            " sqlite:///FILE or the path of a journal file"
        )
    # One connection kept per process (Optuna's set-up and the heartbeat thread briefly
    # open a second), checked before use: a worker holds it for hours, and a server
    # restart in between must not fail the trial that next writes.
    engine = {
        "pool_size": 1,
        "max_overflow": 2,
        "pool_pre_ping": True,
        "connect_args": {"connect_timeout": CONNECT_TIMEOUT},
    }
    return _rdb(optuna, url, heartbeat, engine)


class _FileLock:
    """The journal's write lock as an OS lock (flock): the kernel frees it when its holder
    dies, so a killed worker never leaves the study locked. Optuna's own lock files are
    freed only after a grace period, which a worker killed mid-write would make everyone
    wait out."""

    def __init__(self, path: Path) -> None:
        self.path, self.fd = path, -1

    def acquire(self) -> bool:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self.fd = fd
        return True

    def release(self) -> None:
        fd, self.fd = self.fd, -1
        os.close(fd)  # closing releases the lock


def _lock(journal: Path) -> Any:
    try:
        import fcntl  # noqa: F401
    except ImportError:  # Windows: Optuna's own lock file
        import optuna

        return optuna.storages.journal.JournalFileOpenLock(str(journal))
    return _FileLock(journal.with_name(journal.name + ".flock"))


def _rdb(optuna: Any, url: str, heartbeat: tuple[int, int], engine: dict[str, Any]) -> Any:
    """An RDBStorage whose stale trials (a worker died) are retried with their history."""
    import sqlalchemy.exc

    retry = optuna.storages.RetryHeartbeatStaleTrialCallback(
        max_retry=3, inherit_intermediate_values=True
    )
    try:
        return optuna.storages.RDBStorage(
            url,
            engine_kwargs=engine,
            heartbeat_interval=heartbeat[0],
            grace_period=heartbeat[1],
            heartbeat_stale_trial_callback=retry,
        )
    except ModuleNotFoundError as e:
        raise MissingExtra(f"{INSTALL_HINT} (no database driver: {e.name})") from None
    except sqlalchemy.exc.NoSuchModuleError:
        raise UsageError(f"{masked(url)}: no driver for this database URL") from None
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as e:
        raise SweepError(f"cannot reach the study storage {_place(url)}: {_reason(e)}") from None


def _place(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"(SQLite file {parsed.database})"
    return f"at {parsed.host or 'localhost'}:{parsed.port or 5432}"


def _reason(e: Exception) -> str:
    """The driver's reason in one line, without its hints and SQL."""
    text = str(getattr(e, "orig", None) or e)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reason = lines[0] if lines else type(e).__name__
    return reason.split("failed: ")[-1]
