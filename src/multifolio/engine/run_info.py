"""RunInfo: what a run was — engine, account settings, strategy, risk rules, period, analysis settings.

Typed and documented, built once before the Result and never patched. Analytics read the run from here,
never from a strategy's or a rule's internals: a strategy and a rule describe themselves (their name,
their parameters and, for a strategy, the minimum capital per asset it needs to place its smallest
order).

>>> info = RunInfo(engine="backtest", account=AccountInfo(cash=1000.0), symbols=("A",),
...                rules=(RuleInfo("kill_switch", {"window": 24.0, "threshold": 30.0}),))
>>> info.rule("kill_switch").params["window"], info.rule("max_drawdown")
(24.0, None)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["AccountInfo", "RuleInfo", "RunInfo", "StrategyInfo"]

PerAsset = float | dict[str, float]


@dataclass(frozen=True)
class AccountInfo:
    """The account settings as given (a float for every asset, or a ``{symbol: value}`` mapping)."""

    cash: float
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
    None: the analytics' defaults)."""

    engine: str
    account: AccountInfo
    symbols: tuple[str, ...]
    start: str | None = None
    strategy: StrategyInfo | None = None
    rules: tuple[RuleInfo, ...] = ()
    crash_pct: float | None = None
    crash_window_hours: float | None = None

    def rule(self, name: str) -> RuleInfo | None:
        """The first rule of that name, or None."""
        return next((r for r in self.rules if r.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
