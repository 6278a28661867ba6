"""nnbp's exception classes.

The library raises these with a message that names the file, key or value at fault
and what was expected; only ``cli.py`` turns them into ``Error: ...`` lines and exit
codes. Anything else that escapes is a bug and keeps its traceback.
"""


class NnbpError(Exception):
    """Base class of every error nnbp reports to the user."""

    exit_code = 1


class UsageError(NnbpError):
    """The command was asked for something it cannot do as asked (exit code 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """A configuration key is unknown, of the wrong type or out of range."""


class DataError(NnbpError):
    """A data file is missing, malformed, or does not match what was expected."""


class ModelFileError(NnbpError):
    """A weights file is missing, malformed, or not one nnbp wrote."""


class RunError(NnbpError):
    """A run directory cannot be created, read or written."""
