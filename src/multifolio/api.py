"""The two entry points: ``from_weights`` (vectorised targets) and ``backtest`` (a Strategy)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from multifolio.assemble import assemble
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
