"""vectorbt: ``Portfolio.from_orders`` with target percentages on one shared cash pool.

Orders fill at the close of the bar whose weights they carry (vectorbt's default price), which is
multifolio's ``execution="close"`` mode. ``call_seq="auto"`` sorts each bar's orders so that sells run
before buys, as multifolio does. A NaN weight means "no order" for that asset and bar in vectorbt,
the same as multifolio's "leave it alone".
"""

from __future__ import annotations

import pandas as pd


def run(close: pd.DataFrame, weights: pd.DataFrame, *, cash: float = 1_000_000.0,
        fees: float = 0.0) -> pd.Series:
    """Total equity per bar of vectorbt on these closes and target weights.

    >>> import numpy as np
    >>> idx = pd.date_range("2024-01-01", periods=3, freq="D")
    >>> c = pd.DataFrame({"A": [1.0, 2.0, 2.0], "B": [1.0, 1.0, 0.5]}, index=idx)
    >>> w = pd.DataFrame({"A": [0.5, np.nan, np.nan], "B": [0.5, np.nan, np.nan]}, index=idx)
    >>> run(c, w, cash=100.0).round(6).tolist()   # 50 units of A, 50 of B
    [100.0, 150.0, 125.0]
    """
    import vectorbt as vbt  # imported here: the extra is optional and slow to import

    pf = vbt.Portfolio.from_orders(
        close, weights, size_type="targetpercent", group_by=True, cash_sharing=True,
        call_seq="auto", fees=fees, init_cash=cash, freq=_freq(close),
    )
    equity = pf.value()
    equity.name = "vectorbt"
    return equity


def _freq(close: pd.DataFrame) -> pd.Timedelta | None:
    # vectorbt wants a frequency for its annualised stats; it does not change the simulation.
    if len(close.index) < 2:
        return None
    return pd.Series(close.index).diff().median()


def run_groups(close: pd.DataFrame, weights: pd.DataFrame, groups: list[str], *, cash: float = 1_000_000.0,
               fees: float = 0.0) -> pd.DataFrame:
    """Total equity per bar of each group of columns, each group its own cash pool (``group_by`` one
    portfolio per group, ``cash_sharing=True`` within it): one column per group."""
    import vectorbt as vbt

    pf = vbt.Portfolio.from_orders(
        close, weights, size_type="targetpercent", group_by=pd.Index(groups, name="portfolio"),
        cash_sharing=True, call_seq="auto", fees=fees, init_cash=cash, freq=_freq(close),
    )
    return pf.value()
