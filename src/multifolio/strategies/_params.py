"""Parameter checks shared by the built-in strategies (errors name the parameter)."""

from __future__ import annotations

from typing import Any

from multifolio.engine.strategy import SCHEDULES


def positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def schedule(value: Any) -> str | int:
    if isinstance(value, str) and value in SCHEDULES:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise ValueError(f"schedule must be one of {SCHEDULES} or an int N >= 1 (every N bars), got {value!r}")
