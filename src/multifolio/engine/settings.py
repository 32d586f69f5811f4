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

from multifolio.engine.instruments import Instrument, make_instruments

EXECUTION_MODES = ("next_open", "close")

# name -> (default, lower bound, bound inclusive?) of each per-asset setting
PER_ASSET = {
    "fees": (0.0, 0.0, True),
    "fixed_fees": (0.0, 0.0, True),
    "slippage": (0.0, 0.0, True),
    "leverage": (1.0, 0.0, False),
    "min_notional": (0.0, 0.0, True),
    "qty_step": (0.0, 0.0, True),
    # annual financing rates, fractions of the notional (0.03 = 3% a year); > 0 is paid, < 0 received
    "swap_long": (0.0, -math.inf, False),
    "swap_short": (0.0, -math.inf, False),
    "borrow_rate": (0.0, 0.0, True),
}

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")

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
    swap_long: np.ndarray | None = None
    swap_short: np.ndarray | None = None
    borrow_rate: np.ndarray | None = None
    rollover_hour: float = 22.0
    triple_swap_day: str = "wednesday"
    funding: bool = True
    contract_size: np.ndarray | None = None
    tick: np.ndarray | None = None
    quote_currency: tuple[str | None, ...] = ()
    account_currency: str = "USD"
    instruments: Mapping[str, Instrument] | None = None

    @property
    def converts(self) -> bool:
        """Is any instrument quoted in another currency than the account's?"""
        return any(q is not None and q != self.account_currency for q in self.quote_currency)

    @property
    def charges_rates(self) -> bool:
        """Is any swap or borrow rate set (financing to charge besides funding)?"""
        return any(a is not None and bool(np.any(a != 0.0))
                   for a in (self.swap_long, self.swap_short, self.borrow_rate))

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
                  qty_step: Any = 0.0, close_at_end: bool = True, swap_long: Any = 0.0,
                  swap_short: Any = 0.0, borrow_rate: Any = 0.0, rollover_hour: float = 22.0,
                  triple_swap_day: str = "wednesday", funding: bool = True,
                  instruments: Mapping[str, Any] | None = None,
                  account_currency: str = "USD") -> AccountSettings:
    """Validate every setting; a bad value raises ``ValueError`` naming the argument (and symbol).

    Financing: ``swap_long`` / ``swap_short`` (annual rates, per asset) are charged on positions held over
    the daily rollover at ``rollover_hour`` (UTC, Monday to Friday), three times on ``triple_swap_day``;
    ``borrow_rate`` (annual) accrues on shorts bar by bar; ``funding``: charge the data's
    ``funding_rate`` field (perpetuals) when it has one.

    ``instruments``: ``{symbol: spec}`` (``multifolio.engine.instruments.Instrument`` or a mapping of
    its keys): contract size, lots (``qty_step``), price ``tick``, ``min_notional``, ``leverage`` or
    ``margin_rate``, ``quote_currency`` (converted into ``account_currency`` at each bar's rate); a spec
    overrides the account's ``qty_step`` / ``min_notional`` / ``leverage`` for its symbol.
    """
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
    if not isinstance(funding, (bool, np.bool_)):
        raise ValueError(f"funding must be True or False, got {funding!r}")
    bad_hour = f"rollover_hour must be a number of hours in [0, 24), got {rollover_hour!r}"
    try:
        hour = float(rollover_hour)
    except (TypeError, ValueError):
        raise ValueError(bad_hour) from None
    if not 0.0 <= hour < 24.0:
        raise ValueError(bad_hour)
    day = str(triple_swap_day).lower()
    if day not in WEEKDAYS:
        raise ValueError(f"triple_swap_day must be one of {WEEKDAYS}, got {triple_swap_day!r}")
    raw = dict(cash=cash_f, fees=fees, fixed_fees=fixed_fees, slippage=slippage, execution=execution,
               leverage=leverage, allow_short=bool(allow_short), maintenance_margin=mm,
               min_notional=min_notional, qty_step=qty_step, close_at_end=bool(close_at_end))
    financing = dict(swap_long=swap_long, swap_short=swap_short, borrow_rate=borrow_rate)
    if any(isinstance(v, Mapping) or v != 0.0 for v in financing.values()) or hour != 22.0 \
            or day != "wednesday" or not funding:
        raw.update(financing, rollover_hour=hour, triple_swap_day=day, funding=bool(funding))
    if not isinstance(account_currency, str) or not account_currency.strip():
        raise ValueError(f"account_currency must be a currency code such as 'USD', got {account_currency!r}")
    ccy = account_currency.strip().upper()
    specs = make_instruments(instruments, symbols)
    if specs:
        raw["instruments"] = {k: v.to_dict() for k, v in specs.items()}
    if ccy != "USD":
        raw["account_currency"] = ccy
    lev_v = resolve_per_asset("leverage", leverage, symbols)
    step_v = resolve_per_asset("qty_step", qty_step, symbols)
    minn_v = resolve_per_asset("min_notional", min_notional, symbols)
    size_v = np.ones(len(symbols))
    tick_v = np.zeros(len(symbols))
    quotes: list[str | None] = [None] * len(symbols)
    for sym, spec in specs.items():
        j = symbols.index(sym)
        size_v[j] = spec.contract_size
        tick_v[j] = spec.tick
        quotes[j] = spec.quote_currency
        if spec.qty_step is not None:
            step_v[j] = spec.qty_step
        if spec.min_notional is not None:
            minn_v[j] = spec.min_notional
        if spec.margin_fraction is not None:
            lev_v[j] = 1.0 / spec.margin_fraction
    return AccountSettings(
        cash=cash_f,
        fees=resolve_per_asset("fees", fees, symbols),
        fixed_fees=resolve_per_asset("fixed_fees", fixed_fees, symbols),
        slippage=resolve_per_asset("slippage", slippage, symbols),
        leverage=lev_v,
        min_notional=minn_v,
        qty_step=step_v,
        execution=execution,
        allow_short=bool(allow_short),
        maintenance_margin=mm,
        close_at_end=bool(close_at_end),
        raw=raw,
        swap_long=resolve_per_asset("swap_long", swap_long, symbols),
        swap_short=resolve_per_asset("swap_short", swap_short, symbols),
        borrow_rate=resolve_per_asset("borrow_rate", borrow_rate, symbols),
        rollover_hour=hour,
        triple_swap_day=day,
        funding=bool(funding),
        contract_size=size_v,
        tick=tick_v,
        quote_currency=tuple(quotes),
        account_currency=ccy,
        instruments=specs or None,
    )


def financing_schedule(index: Any, rollover_hour: float = 22.0, triple_swap_day: str = "wednesday"
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Per bar: swap days charged at its start and the years since the previous bar.

    A bar charges the daily rollovers (``rollover_hour`` UTC, Monday to Friday; ``triple_swap_day``
    counts 3) that fall after the previous bar's timestamp and no later than its own: the positions held
    into the bar were held over them.

    >>> import pandas as pd
    >>> idx = pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC")   # Monday to Friday
    >>> financing_schedule(idx)[0].tolist()
    [0.0, 1.0, 1.0, 3.0, 1.0]
    """
    import pandas as pd

    n = len(index)
    days = np.zeros(n)
    years = np.zeros(n)
    if n < 2:
        return days, years
    ts = pd.DatetimeIndex(index)
    if ts.tz is None:
        ts = ts.tz_localize("UTC")
    ts = ts.as_unit("ns")
    ns = ts.asi8
    years[1:] = np.diff(ns) / (365.0 * 86_400e9)
    first = (ts[0] - pd.Timedelta(days=1)).normalize()
    instants = pd.date_range(first, ts[-1].normalize() + pd.Timedelta(days=1), freq="D") \
        + pd.Timedelta(hours=rollover_hour)
    instants = instants.as_unit("ns")
    weekday = instants.day_of_week
    weight = np.where(weekday >= 5, 0.0, np.where(weekday == WEEKDAYS.index(triple_swap_day), 3.0, 1.0))
    cum = np.concatenate([[0.0], np.cumsum(weight)])
    k = np.searchsorted(instants.asi8, ns, side="right")
    days[1:] = np.diff(cum[k])
    return days, years
