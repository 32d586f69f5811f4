"""The two entry points: ``from_weights`` (vectorised targets) and ``backtest`` (a Strategy)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from multifolio.assemble import assemble
from multifolio.data.market_data import MarketData
from multifolio.engine.settings import make_settings
from multifolio.engine.simulator import ProgressFn, Simulator
from multifolio.engine.strategy import Strategy
from multifolio.engine.vectorized import simulate_weights
from multifolio.result import Result


def from_weights(close: pd.DataFrame, weights: pd.DataFrame, *, open: pd.DataFrame | None = None,
                 cash: float = 1_000_000.0, fees: Any = 0.0, fixed_fees: Any = 0.0, slippage: Any = 0.0,
                 execution: str = "next_open", leverage: Any = 1.0, allow_short: bool = False,
                 maintenance_margin: float = 0.5, min_notional: Any = 0.0, qty_step: Any = 0.0,
                 close_at_end: bool = True) -> Result:
    """Backtest a table of target weights on one shared cash (or margin) account.

    ``close`` and ``weights`` are wide DataFrames (index = timestamps, columns = symbols). A weights row
    decided at bar t executes at the open of t+1 (``execution="next_open"``, the default; at the next
    close when ``open`` is not given) or at the close of t (``execution="close"``, optimistic). NaN weight =
    leave that asset alone; an all-NaN row = no rebalance. Sells execute before buys; buys that cash
    cannot cover are scaled down together. ``fees``/``slippage`` are fractions (0.001 = 0.1%), floats or
    ``{symbol: value}`` dicts.

    >>> import pandas as pd, multifolio as mf
    >>> idx = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")
    >>> close = pd.DataFrame({"A": [10.0, 11.0, 12.0], "B": [20.0, 20.0, 10.0]}, index=idx)
    >>> w = pd.DataFrame({"A": [0.5, None, None], "B": [0.5, None, None]}, index=idx)
    >>> res = mf.from_weights(close, w, cash=1000.0, execution="close")
    >>> [round(x, 2) for x in res.equity]
    [1000.0, 1050.0, 850.0]
    """
    raw = simulate_weights(close, weights, open=open, cash=cash, fees=fees, fixed_fees=fixed_fees,
                           slippage=slippage, execution=execution, leverage=leverage,
                           allow_short=allow_short, maintenance_margin=maintenance_margin,
                           min_notional=min_notional, qty_step=qty_step, close_at_end=close_at_end)
    return assemble(raw)


def backtest(data: MarketData | pd.DataFrame, strategy: Strategy, *, cash: float = 1_000_000.0,
             fees: Any = 0.0, fixed_fees: Any = 0.0, slippage: Any = 0.0, execution: str = "next_open",
             leverage: Any = 1.0, allow_short: bool = False, maintenance_margin: float = 0.5,
             min_notional: Any = 0.0, qty_step: Any = 0.0, risk: Sequence[Any] = (),
             start: Any = None, close_at_end: bool = True, progress: ProgressFn | None = None) -> Result:
    """Run a ``Strategy`` over ``data`` on one shared cash (or margin) account.

    ``data`` is a ``MarketData`` or a wide close DataFrame. Settings as in ``from_weights``, plus
    ``leverage`` (float or per-asset dict; any value other than 1, or ``allow_short``, makes a margin
    account), ``maintenance_margin`` (liquidation when equity < rate x margin used), exchange rules
    ``min_notional`` and ``qty_step``, ``risk`` rules (e.g. ``KillSwitch``), ``start`` (the bars before
    it are warm-up: seen by the strategy's indicators, never traded, left out of the Result), and a
    ``progress(bars_done, total)`` callback.

    >>> import numpy as np, pandas as pd, multifolio as mf
    >>> from multifolio.strategies import EqualWeight
    >>> idx = pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC")
    >>> close = pd.DataFrame({"A": [10.0, 11, 12, 13], "B": [20.0, 19, 18, 17]}, index=idx)
    >>> res = mf.backtest(close, EqualWeight(schedule="every_bar"), cash=1000.0, execution="close")
    >>> round(float(res.equity.iloc[-1]), 2)
    1059.13
    """
    if isinstance(data, pd.DataFrame):
        data = MarketData.from_frames(close=data)
    if not isinstance(data, MarketData):
        raise ValueError(f"data must be a MarketData or a wide close DataFrame, got {type(data).__name__}")
    if not isinstance(strategy, Strategy):
        raise ValueError(f"strategy must be a multifolio Strategy instance, got {type(strategy).__name__}")
    settings = make_settings(list(data.symbols), cash=cash, fees=fees, fixed_fees=fixed_fees,
                             slippage=slippage, execution=execution, leverage=leverage,
                             allow_short=allow_short, maintenance_margin=maintenance_margin,
                             min_notional=min_notional, qty_step=qty_step, close_at_end=close_at_end)
    start_bar = 0
    if start is not None:
        ts = pd.Timestamp(start)
        ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
        start_bar = int(data.index.searchsorted(ts))
        if start_bar >= data.n_bars:
            raise ValueError(f"start {ts} is after the last bar {data.index[-1]}")
    rules = list(risk)
    sim = Simulator(data, [(settings, strategy, rules)], start_bar=start_bar)
    raw = sim.run(progress)[0]
    raw.settings = dict(settings.raw, engine="backtest", **strategy.describe(),
                        risk=[_describe_rule(r) for r in risk])
    return assemble(raw)


def _describe_rule(rule: Any) -> dict[str, Any]:
    """A risk rule's name and public scalar parameters, for ``Result.settings["risk"]``."""
    from multifolio.portfolio.risk import RISK_RULES

    name = next((n for n, cls in RISK_RULES.items() if type(rule) is cls), type(rule).__name__)
    params = {k: v for k, v in vars(rule).items()
              if not k.startswith("_") and isinstance(v, (int, float, str, bool)) and k != "triggers"}
    return {"rule": name, **params}
