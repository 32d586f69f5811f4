"""Portfolio: one trading system of a multi-portfolio run — its own capital, symbols, strategy and rules.

Several portfolios run on one clock, each on its own account (``multifolio.backtest_portfolios``): one
portfolio's kill switch halts that portfolio only, and a portfolio's result is the same, to the bit,
alone or beside others (unless an allocator moves cash between them).

>>> from multifolio.strategies import EqualWeight
>>> Portfolio("core", EqualWeight(), capital=5_000.0, symbols=["A", "B"], settings={"fees": 0.001}).id
'core'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from multifolio.engine.settings import make_settings
from multifolio.engine.strategy import Strategy

__all__ = ["Portfolio", "check_portfolios"]

#: Account settings a portfolio may set for itself (the others are the run's).
ACCOUNT_KEYS = ("fees", "fixed_fees", "slippage", "execution", "leverage", "allow_short",
                "maintenance_margin", "min_notional", "qty_step", "close_at_end", "swap_long", "swap_short",
                "borrow_rate", "rollover_hour", "triple_swap_day", "funding", "instruments",
                "account_currency")


@dataclass(frozen=True)
class Portfolio:
    """``id``; ``strategy`` (its own Strategy object); ``capital`` (its account's initial cash);
    ``symbols`` it trades (None: all of the data's; overlapping other portfolios' is fine); ``risk``
    rules (objects, names or ``{"rule": ...}`` dicts); ``settings`` overriding the run's account
    settings for this portfolio (``fees``, ``leverage``, ``allow_short``, ...)."""

    id: str
    strategy: Strategy
    capital: float = 10_000.0
    symbols: Sequence[str] | None = None
    risk: Sequence[Any] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)

    def account_settings(self, run_settings: Mapping[str, Any], symbols: Sequence[str]) -> Any:
        """The portfolio's validated ``AccountSettings``: the run's, its own overrides, its capital."""
        unknown = [k for k in self.settings if k not in ACCOUNT_KEYS]
        if unknown:
            raise ValueError(f"portfolio {self.id!r}: unknown setting(s) {unknown}; "
                             f"allowed: {list(ACCOUNT_KEYS)}")
        merged = {**run_settings, **self.settings}
        merged["cash"] = self.capital
        try:
            return make_settings(list(symbols), **merged)
        except ValueError as exc:
            raise ValueError(f"portfolio {self.id!r}: {exc}") from None


def check_portfolios(portfolios: Sequence[Portfolio]) -> None:
    """Ids unique and non-empty, strategies distinct objects (a strategy keeps state), capital > 0."""
    if not portfolios:
        raise ValueError("portfolios: give at least one portfolio")
    ids = []
    for k, p in enumerate(portfolios):
        if not isinstance(p, Portfolio):
            raise ValueError(f"portfolios[{k}] must be a multifolio Portfolio, got {type(p).__name__}")
        if not isinstance(p.id, str) or not p.id:
            raise ValueError(f"portfolios[{k}]: id must be a non-empty string, got {p.id!r}")
        if not isinstance(p.strategy, Strategy):
            raise ValueError(f"portfolio {p.id!r}: strategy must be a Strategy instance, got "
                             f"{type(p.strategy).__name__}")
        if isinstance(p.capital, bool) or not isinstance(p.capital, (int, float)) or not p.capital > 0:
            raise ValueError(f"portfolio {p.id!r}: capital must be a number > 0, got {p.capital!r}")
        ids.append(p.id)
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f"portfolio ids must be unique; repeated: {dup}")
    seen: dict[int, str] = {}
    for p in portfolios:
        if id(p.strategy) in seen:
            raise ValueError(f"portfolios {seen[id(p.strategy)]!r} and {p.id!r} share one strategy object; "
                             "give each its own (a strategy keeps state)")
        seen[id(p.strategy)] = p.id
