"""RunInfo: what a run was — engine, account settings, strategy, risk rules, period, analysis settings.

Typed and documented, built once before the Result and never patched. Analytics read the run from here,
never from a strategy's or a rule's internals: a strategy and a rule describe themselves (their name,
their parameters and, for a strategy, the minimum capital per asset it needs to place its smallest
order).

>>> info = RunInfo(engine="backtest", account=AccountSpec(capital=1000.0), symbols=("A",),
...                rules=(RuleInfo("kill_switch", {"window": 24.0, "threshold": 30.0}),))
>>> info.rule("kill_switch").params["window"], info.rule("max_drawdown")
(24.0, None)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["AccountSpec", "RuleInfo", "RunInfo", "StrategyInfo"]

PerAsset = float | Mapping[str, float]


@dataclass(frozen=True)
class AccountSpec:
    """A run's account as given: ``capital`` (the initial cash) and ``multifolio.backtest``'s account
    settings, each a float for every asset or a ``{symbol: value}`` mapping. Specs build runs from it
    (:meth:`settings_for`); a run's ``RunInfo`` reports it.

    >>> AccountSpec(capital=1_000.0, fees={"A": 0.001, "B": 0.002}).settings_for(["A"])["fees"]
    {'A': 0.001}
    """

    capital: float = 10_000.0
    fees: PerAsset = 0.0
    fixed_fees: PerAsset = 0.0
    slippage: PerAsset = 0.0
    execution: str = "next_open"
    leverage: PerAsset = 1.0
    allow_short: bool = False
    maintenance_margin: float = 0.5
    min_notional: PerAsset = 0.0
    qty_step: PerAsset = 0.0
    close_at_end: bool = True
    swap_long: PerAsset = 0.0
    swap_short: PerAsset = 0.0
    borrow_rate: PerAsset = 0.0
    rollover_hour: float = 22.0
    triple_swap_day: str = "wednesday"
    funding: bool = True
    #: ``{symbol: {contract_size, qty_step, tick, min_notional, leverage | margin_rate, quote_currency}}``
    instruments: Mapping[str, Mapping[str, Any]] | None = None
    account_currency: str = "USD"

    def replace(self, **changes: Any) -> AccountSpec:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)

    def settings_for(self, symbols: Sequence[str]) -> dict[str, Any]:
        """Keyword settings of ``backtest`` for a run on ``symbols``: per-asset mappings keep only those
        symbols (a run on a subset drops the others' overrides)."""
        def only(value: Any) -> Any:
            return {k: v for k, v in value.items() if k in symbols} if isinstance(value, Mapping) else value

        return dict(cash=float(self.capital), fees=only(self.fees), fixed_fees=only(self.fixed_fees),
                    slippage=only(self.slippage), execution=self.execution, leverage=only(self.leverage),
                    allow_short=self.allow_short, maintenance_margin=self.maintenance_margin,
                    min_notional=only(self.min_notional), qty_step=only(self.qty_step),
                    close_at_end=self.close_at_end, **self.financing_for(symbols),
                    **self.instruments_for(symbols))

    def instruments_for(self, symbols: Sequence[str]) -> dict[str, Any]:
        """``backtest``'s ``instruments`` (restricted to ``symbols``) and ``account_currency``, when set."""
        out: dict[str, Any] = {}
        if self.instruments:
            own = {k: (v.to_dict() if hasattr(v, "to_dict") else dict(v))
                   for k, v in self.instruments.items() if k in symbols}
            if own:
                out["instruments"] = own
        if self.account_currency != "USD":
            out["account_currency"] = self.account_currency
        return out

    def financing_for(self, symbols: Sequence[str]) -> dict[str, Any]:
        """The financing settings that differ from the defaults (``backtest`` keywords), per-asset
        mappings restricted to ``symbols``."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name in _FINANCING:
                value = getattr(self, f.name)
                if isinstance(value, Mapping):
                    out[f.name] = {k: v for k, v in value.items() if k in symbols}
                elif value != f.default:
                    out[f.name] = value
        return out

    def per_asset_keys(self) -> dict[str, list[str]]:
        """The symbols named by per-asset settings, by setting."""
        return {name: list(value) for name in ("fees", "fixed_fees", "slippage", "leverage", "min_notional",
                                               "qty_step", "swap_long", "swap_short", "borrow_rate",
                                               "instruments")
                if isinstance(value := getattr(self, name), Mapping)}


_FINANCING = ("swap_long", "swap_short", "borrow_rate", "rollover_hour", "triple_swap_day", "funding")


@dataclass(frozen=True)
class StrategyInfo:
    """A strategy's self-description: ``name``, ``params`` (per-asset overrides under ``per_asset``)
    and ``min_capital_per_asset`` (per symbol, the smallest budget whose smallest order meets the
    exchange minimum notional; None when the strategy does not say)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    min_capital_per_asset: tuple[float, ...] | None = None


@dataclass(frozen=True)
class RuleInfo:
    """A risk rule's self-description: its registry ``name`` and ``params``."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunInfo:
    """One run: ``engine`` (``"backtest"`` or ``"from_weights"``), ``account``, ``symbols``, ``start``
    (the first traded bar), ``strategy`` and ``rules`` (None / empty for ``from_weights``), and the
    crash definition of the concurrency analysis (``crash_pct`` % down over ``crash_window_hours``;
    None: the analytics' defaults), and ``portfolio_id`` when the run is one of several on one clock."""

    engine: str
    account: AccountSpec
    symbols: tuple[str, ...]
    start: str | None = None
    strategy: StrategyInfo | None = None
    rules: tuple[RuleInfo, ...] = ()
    crash_pct: float | None = None
    crash_window_hours: float | None = None
    portfolio_id: str | None = None

    def rule(self, name: str) -> RuleInfo | None:
        """The first rule of that name, or None."""
        return next((r for r in self.rules if r.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
