"""Parameter checks shared by the built-in strategies (errors name the parameter)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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


def per_asset_overrides(given: Any, allowed: Iterable[str], what: str = "per_asset"
                        ) -> dict[str, dict[str, Any]]:
    """``{symbol: {param: value}}`` checked for shape and parameter names (values are the strategy's to
    check); None is no overrides.

    >>> per_asset_overrides({"A": {"k": 2}}, ["k"])
    {'A': {'k': 2}}
    """
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        raise ValueError(f"{what} must be a {{symbol: {{param: value}}}} mapping, got {type(given).__name__}")
    known = list(allowed)
    out = {}
    for sym, over in given.items():
        if not isinstance(over, Mapping):
            raise ValueError(f"{what}[{sym!r}] must be a {{param: value}} mapping, got {type(over).__name__}")
        unknown = sorted(set(over) - set(known))
        if unknown:
            raise ValueError(f"{what}[{sym!r}] has unknown parameter(s) {unknown}; allowed: {known}")
        out[str(sym)] = dict(over)
    return out
