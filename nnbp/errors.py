"""nnbp's exception classes and exit codes.

The library raises these with a message that names the file, key or value at fault and
what was expected; only the command line turns them into ``Error: ...`` lines and exit
codes. Anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable


class ExitCode(enum.IntEnum):
    """The exit codes of every ``nnbp`` command."""

    OK = 0  # success
    ERROR = 1  # bad data or files; predict: some image could not be read; gradcheck: failed
    USAGE = 2  # a usage or config mistake
    INTERRUPTED = 130  # Ctrl-C, 128 + SIGINT (a training run can be resumed)
    PIPE_CLOSED = 141  # the reader of stdout went away (| head): as cat and grep report it
    TERMINATED = 143  # SIGTERM, 128 + 15 (a training run can be resumed)


class NnbpError(Exception):
    """Base class of every error nnbp reports to the user."""

    exit_code = ExitCode.ERROR


class UsageError(NnbpError):
    """The command line or the call asks for something nnbp cannot do that way."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """A configuration key is unknown, of the wrong type or out of range."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key  # the key path at fault (training.eta), when there is one


class DataError(NnbpError):
    """A data file is missing, malformed, or does not match what was expected."""


class ImageError(DataError):
    """An image file is missing, not an image, unreadable or too large."""


class ModelFileError(NnbpError):
    """A weights file is missing, malformed, or not one nnbp wrote."""


class RunError(NnbpError):
    """A run directory cannot be created, read or written."""


class Interrupted(NnbpError):
    """Training was stopped by Ctrl-C or SIGTERM; the run can be resumed. The exit code
    is the shell's convention, 128 + the signal's number."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, message: str, signal_name: str = "SIGINT") -> None:
        super().__init__(message)
        if signal_name == "SIGTERM":
            self.exit_code = ExitCode.TERMINATED


class Diverged(NnbpError):
    """The cost became NaN or infinite."""


class MissingExtra(NnbpError):
    """An optional dependency (such as matplotlib for ``nnbp plot``) is not installed."""


class RequestError(UsageError):
    """A request to ``nnbp serve`` is malformed, too large or names no run; ``status`` is
    the HTTP status it is answered with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class SweepError(NnbpError):
    """A sweep's study cannot be reached, or does not fit this machine (another nnbp
    version, other data)."""


def closest(word: str, valid: Iterable[str]) -> str | None:
    """The valid word closest to a misspelt ``word``, if one is close: a message's
    "did you mean ...?"."""
    guess = difflib.get_close_matches(word, list(valid), n=1, cutoff=0.6)
    return guess[0] if guess else None


class BadSource(Exception):
    """A download source answered, but not with the expected file (wrong content, too
    big); ``datasets.fetch`` then tries the next source."""
