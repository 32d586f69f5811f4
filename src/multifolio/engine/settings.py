"""Account and cost settings: validation and per-asset resolution.

Every cost or exchange rule takes a float (all assets) or a ``{symbol: value}`` dict (per-asset overrides;
symbols not in the dict get the argument's default). Resolution happens once, into N-vectors the kernels
index by asset.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

EXECUTION_MODES = ("next_open", "close")

# name -> (default, lower bound, bound inclusive?) of each per-asset setting
PER_ASSET = {
    "fees": (0.0, 0.0, True),
    "fixed_fees": (0.0, 0.0, True),
    "slippage": (0.0, 0.0, True),
    "leverage": (1.0, 0.0, False),
    "min_notional": (0.0, 0.0, True),
    "qty_step": (0.0, 0.0, True),
}

# rates that are fractions of a fill's notional: a fee or slippage of 100% or more is a typo for bps
FRACTIONS = ("fees", "slippage")


def _check_value(name: str, value: Any, symbol: str | None) -> float:
    where = f" for {symbol!r}" if symbol is not None else ""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}{where} must be a number, got {value!r}") from None
    _, low, inclusive = PER_ASSET[name]
    if not math.isfinite(x) or (x < low if inclusive else x <= low):
        bound = f">= {low:g}" if inclusive else f"> {low:g}"
        raise ValueError(f"{name}{where} must be finite and {bound}, got {value!r}")
    if name in FRACTIONS and x >= 1.0:
        raise ValueError(f"{name}{where} is a fraction (0.001 = 10 bps) and must be < 1, got {value!r}")
    return x


def resolve_per_asset(name: str, value: float | Mapping[str, float], symbols: list[str]) -> np.ndarray:
    """A float or ``{symbol: value}`` dict -> float64 vector aligned to ``symbols``.

    >>> resolve_per_asset("fees", {"B": 0.002}, ["A", "B"]).tolist()
    [0.0, 0.002]
    """
    default = PER_ASSET[name][0]
    if isinstance(value, Mapping):
        unknown = [s for s in value if s not in symbols]
        if unknown:
            raise ValueError(f"{name} has unknown symbol(s) {unknown}; known: {symbols}")
        out = np.full(len(symbols), default, dtype=np.float64)
        for s, v in value.items():
            out[symbols.index(s)] = _check_value(name, v, s)
        return out
    return np.full(len(symbols), _check_value(name, value, None), dtype=np.float64)


@dataclass(frozen=True)
class AccountSettings:
    """Validated settings of one run; per-asset values are N-vectors."""

    cash: float
    fees: np.ndarray
    fixed_fees: np.ndarray
    slippage: np.ndarray
    leverage: np.ndarray
    min_notional: np.ndarray
    qty_step: np.ndarray
    execution: str
    allow_short: bool
    maintenance_margin: float
    close_at_end: bool
    raw: dict[str, Any]

    @property
    def margin_account(self) -> bool:
        """A margin account when any leverage differs from 1 or shorting is allowed."""
        return self.allow_short or bool(np.any(self.leverage != 1.0))

    @property
    def execute_at_open(self) -> bool:
        return self.execution == "next_open"


def make_settings(symbols: list[str], *, cash: float = 1_000_000.0, fees: Any = 0.0, fixed_fees: Any = 0.0,
                  slippage: Any = 0.0, execution: str = "next_open", leverage: Any = 1.0,
                  allow_short: bool = False, maintenance_margin: float = 0.5, min_notional: Any = 0.0,
                  qty_step: Any = 0.0, close_at_end: bool = True) -> AccountSettings:
    """Validate every setting; a bad value raises ``ValueError`` naming the argument (and symbol)."""
    try:
        if isinstance(cash, (bool, np.bool_)):  # True is not 1.0 of cash
            raise TypeError
        cash_f = float(cash)
    except (TypeError, ValueError):
        raise ValueError(f"cash must be a number, got {cash!r}") from None
    if not math.isfinite(cash_f) or cash_f <= 0:
        raise ValueError(f"cash must be a positive finite number, got {cash!r}")
    if execution not in EXECUTION_MODES:
        raise ValueError(f"execution must be one of {EXECUTION_MODES}, got {execution!r}")
    for name, flag in (("allow_short", allow_short), ("close_at_end", close_at_end)):
        if not isinstance(flag, (bool, np.bool_)):  # "no" and 0 are not booleans
            raise ValueError(f"{name} must be True or False, got {flag!r}")
    mm = float(maintenance_margin)
    if not (0.0 <= mm < 1.0) or not math.isfinite(mm):
        raise ValueError(f"maintenance_margin must be in [0, 1), got {maintenance_margin!r}")
    raw = dict(cash=cash_f, fees=fees, fixed_fees=fixed_fees, slippage=slippage, execution=execution,
               leverage=leverage, allow_short=bool(allow_short), maintenance_margin=mm,
               min_notional=min_notional, qty_step=qty_step, close_at_end=bool(close_at_end))
    return AccountSettings(
        cash=cash_f,
        fees=resolve_per_asset("fees", fees, symbols),
        fixed_fees=resolve_per_asset("fixed_fees", fixed_fees, symbols),
        slippage=resolve_per_asset("slippage", slippage, symbols),
        leverage=resolve_per_asset("leverage", leverage, symbols),
        min_notional=resolve_per_asset("min_notional", min_notional, symbols),
        qty_step=resolve_per_asset("qty_step", qty_step, symbols),
        execution=execution,
        allow_short=bool(allow_short),
        maintenance_margin=mm,
        close_at_end=bool(close_at_end),
        raw=raw,
    )
