"""Value checkers for config keys: a raw YAML value -> the clean value, or ValueError.

The ValueError's text says what was expected (``an integer >= 1``); config.py puts the
key path and the value in front of it.
"""

from __future__ import annotations

from typing import Any


def integer(min_value: int) -> Any:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < min_value:
            raise ValueError(f"an integer >= {min_value}")
        return v

    return check


def positive_float(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not (0 < v < float("inf")):
        raise ValueError("a number > 0")
    return float(v)


def float_at_least(low: float) -> Any:
    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float) or not (low <= v < float("inf")):
            raise ValueError(f"a number >= {low:g}")
        return float(v)

    return check


def fraction(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not (0 <= v < 1):
        raise ValueError("a number in [0, 1)")
    return float(v)


def names(options: Any) -> Any:
    def check(v: Any) -> tuple[str, ...]:
        if v is None:
            return ()
        if not isinstance(v, list | tuple) or any(
            not isinstance(x, str) or x not in options for x in v
        ):
            raise ValueError("a list of names among " + ", ".join(sorted(options)))
        return tuple(v)

    return check


def boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError("true or false")
    return v


def options(v: Any) -> dict[str, dict[str, float]] | None:
    if v is None:
        return None
    if not isinstance(v, dict) or any(not isinstance(o, dict) for o in v.values()):
        raise ValueError("a mapping of augmentation kinds to mappings of parameters")
    return v


def choice(options: Any) -> Any:
    def check(v: Any) -> str:
        if not isinstance(v, str) or v not in options:
            raise ValueError("one of " + ", ".join(sorted(options)))
        return v

    return check


def name(v: Any) -> str:
    # The name becomes a directory under runs/: no separators, nothing hidden.
    if not isinstance(v, str) or not v or v.startswith(".") or "/" in v or "\\" in v:
        raise ValueError("a non-empty name without '/' that does not start with '.'")
    if v == "latest":
        raise ValueError("a name other than 'latest', which runs/latest uses")
    return v


def dataset(v: Any) -> str:
    # A directory under data.dir: no separators, nothing hidden.
    if not isinstance(v, str) or not v or v.startswith(".") or "/" in v or "\\" in v:
        raise ValueError("a dataset's name (mnist, fashion-mnist or a packed dataset's)")
    return v


def optional_path(v: Any) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str) or not v:
        raise ValueError("a file path (a string) or null")
    return v


def path(v: Any) -> str:
    if not isinstance(v, str) or not v:
        raise ValueError("a directory path (a string)")
    return v


def sizes(v: Any) -> tuple[int, ...]:
    if (
        not isinstance(v, list | tuple)
        or len(v) < 2
        or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in v)
    ):
        raise ValueError("a list of at least 2 positive integers, input first, e.g. [784, 30, 10]")
    return tuple(v)
