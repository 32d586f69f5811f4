"""Parameter grids: ``NAME=v1,v2,...`` or ``NAME=start:stop:step`` and their cartesian product.

>>> parse_param("ma_period=24,48")
('ma_period', [24, 48])
>>> parse_param("atr_multiplier_start=1:2:0.5")      # the stop is included when the steps reach it
('atr_multiplier_start', [1.0, 1.5, 2.0])
>>> parse_param("sides=long,both")
('sides', ['long', 'both'])
>>> expand_grid({"a": [1, 2], "b": ["x"]})
[{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'x'}]
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["MAX_COMBINATIONS", "expand_grid", "parse_param", "parse_values"]

#: The most parameter combinations one optimisation may ask for.
MAX_COMBINATIONS = 100_000


def _scalar(text: str) -> Any:
    t = text.strip()
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        return int(t)
    except ValueError:
        pass
    try:
        x = float(t)
    except ValueError:
        return t
    if not math.isfinite(x):
        raise ValueError(f"{text!r} is not a finite number")
    return x


def parse_values(text: str, name: str = "parameter") -> list[Any]:
    """``"1,2,3"`` -> ``[1, 2, 3]``; ``"1:3:1"`` -> ``[1, 2, 3]`` (start:stop:step, stop included)."""
    text = str(text).strip()
    if not text:
        raise ValueError(f"{name}: no values")
    if ":" in text and "," not in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise ValueError(f"{name}: a range is start:stop:step, got {text!r}")
        start, stop, step = (_scalar(p) for p in parts)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (start, stop, step)):
            raise ValueError(f"{name}: start:stop:step must be numbers, got {text!r}")
        if step <= 0:
            raise ValueError(f"{name}: the step must be > 0, got {step}")
        if stop < start:
            raise ValueError(f"{name}: stop {stop} is below start {start}")
        n = int(math.floor((stop - start) / step + 1e-9)) + 1
        if n > MAX_COMBINATIONS:
            raise ValueError(f"{name}: {n} values, at most {MAX_COMBINATIONS}")
        if all(isinstance(v, int) for v in (start, stop, step)):
            return [start + i * step for i in range(n)]
        return [round(float(start) + i * float(step), 10) for i in range(n)]
    values = [_scalar(v) for v in text.split(",") if v.strip()]
    if not values:
        raise ValueError(f"{name}: no values")
    return values


def parse_param(text: str) -> tuple[str, list[Any]]:
    """``"NAME=v1,v2"`` or ``"NAME=start:stop:step"`` -> ``(NAME, values)``."""
    name, sep, values = str(text).partition("=")
    name = name.strip()
    if not sep or not name:
        raise ValueError(f"--param takes NAME=v1,v2,... or NAME=start:stop:step, got {text!r}")
    return name, parse_values(values, name)


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values (``itertools.product`` over the names as given: the first
    parameter varies slowest); duplicate values of a parameter are dropped."""
    if not grid:
        raise ValueError("the parameter grid is empty: give at least one parameter to optimise")
    names = list(grid)
    columns = []
    for name in names:
        values = grid[name]
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            values = [values]
        seen: list[Any] = []
        for v in values:
            if v not in seen:
                seen.append(v)
        if not seen:
            raise ValueError(f"parameter {name!r} has no values")
        columns.append(seen)
    total = math.prod(len(c) for c in columns)
    if total > MAX_COMBINATIONS:
        raise ValueError(f"the grid has {total} combinations, at most {MAX_COMBINATIONS}")
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*columns)]
