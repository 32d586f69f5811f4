"""bt: ``WeighTarget(weights) -> Rebalance`` with fractional positions.

bt trades at the close of the bar it runs on (multifolio's ``execution="close"``). The stack has no
``Run*`` algo, so it runs on every bar (bt 1.4 has no ``RunAlways``), and no ``Select*`` algo, because
``WeighTarget`` sets the weights directly and ``Rebalance`` needs nothing else. Differences from
multifolio handled here so that the inputs mean the same thing:

- bt's ``Rebalance`` closes every position missing from the weights, so an all-NaN row (multifolio:
  "no rebalance") is removed from the weight frame, and ``WeighTarget`` then stops the algo stack on
  that bar. Inside a rebalancing row a NaN is dropped by ``WeighTarget`` and bt closes that asset; the
  benchmark's top-N weights have no such NaN on gap-free data.
- ``integer_positions=False``: bt rounds to whole shares by default; multifolio and vectorbt do not.
- Fees: ``commissions = fees x |qty| x price``, multifolio's proportional fee.
- bt prepends one bar before the data (its initial state); it is dropped from the returned equity.
"""

from __future__ import annotations

import pandas as pd


def run(close: pd.DataFrame, weights: pd.DataFrame, *, cash: float = 1_000_000.0,
        fees: float = 0.0) -> pd.Series:
    """Total equity per bar of bt on these closes and target weights.

    >>> import numpy as np
    >>> idx = pd.date_range("2024-01-01", periods=3, freq="D")
    >>> c = pd.DataFrame({"A": [1.0, 2.0, 2.0], "B": [1.0, 1.0, 0.5]}, index=idx)
    >>> w = pd.DataFrame({"A": [0.5, np.nan, np.nan], "B": [0.5, np.nan, np.nan]}, index=idx)
    >>> run(c, w, cash=100.0).round(6).tolist()
    [100.0, 150.0, 125.0]
    """
    import bt  # imported here: the extra is optional and slow to import

    data = _naive(close)
    w = _naive(weights)
    w = w[w.notna().any(axis=1)]
    strategy = bt.Strategy("bt", [
        bt.algos.WeighTarget(w),
        bt.algos.Rebalance(),
    ])

    def commissions(qty: float, price: float) -> float:
        return fees * abs(qty) * price

    test = bt.Backtest(strategy, data, initial_capital=cash, commissions=commissions,
                       integer_positions=False, progress_bar=False)
    bt.run(test)
    values = test.strategy.values.iloc[1:]  # drop bt's prepended initial row
    equity = pd.Series(values.to_numpy(dtype=float), index=close.index, name="bt")
    return equity


def _naive(frame: pd.DataFrame) -> pd.DataFrame:
    # bt's date arithmetic is done on naive timestamps; the instants are unchanged (UTC).
    idx = frame.index
    if isinstance(idx, pd.DatetimeIndex) and idx.tz is not None:
        frame = frame.set_axis(idx.tz_convert("UTC").tz_localize(None), axis=0)
    return frame
