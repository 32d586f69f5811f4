"""backtrader: ``order_target_percent`` on every asset at every bar, sells first, cheat-on-close.

Mode used, so that backtrader is comparable with multifolio's ``execution="close"`` (and with vectorbt
and bt, which fill at the close of the decision bar):

- ``broker.set_coc(True)`` (cheat-on-close): a market order sent in ``next()`` at bar t is filled at the
  close of bar t. backtrader books that fill in its next broker cycle (bar t + 1), so the orders sent on
  the last bar are never filled and the equity of bar t does not yet include the fees of bar t's orders
  (they show from bar t + 1). With zero fees neither changes any equity figure.
- Sells first: within a bar the orders that reduce a position are sent before those that increase one,
  and backtrader executes them in that order.
- Fractional sizes: backtrader's stock commission rounds order sizes down to whole units; the
  ``_FractionalPerc`` commission scheme keeps the exact quantity (multifolio, vectorbt and bt do too).
- Fees: proportional, ``fees x |qty| x price`` (``COMM_PERC`` with an absolute rate).
- ``checksubmit=False``: the cash check happens at execution only (after the sells have run). A buy
  that would still drive cash below zero there is refused by backtrader ("Margin"); the count of
  such refusals is returned in ``equity.attrs["rejected"]`` so the results show it.
- A NaN weight sends no order for that asset on that bar ("leave it alone").
- Each asset is one data feed with open = high = low = close = the close.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def run(close: pd.DataFrame, weights: pd.DataFrame, *, cash: float = 1_000_000.0,
        fees: float = 0.0) -> pd.Series:
    """Total equity per bar of backtrader on these closes and target weights.

    >>> idx = pd.date_range("2024-01-01", periods=3, freq="D")
    >>> c = pd.DataFrame({"A": [1.0, 2.0, 2.0], "B": [1.0, 1.0, 0.5]}, index=idx)
    >>> w = pd.DataFrame({"A": [0.5, np.nan, np.nan], "B": [0.5, np.nan, np.nan]}, index=idx)
    >>> e = run(c, w, cash=100.0)
    >>> e.round(6).tolist(), e.attrs["rejected"]
    ([100.0, 150.0, 125.0], 0)
    """
    import backtrader as bt  # imported here: the extra is optional and slow to import

    class _FractionalPerc(bt.CommInfoBase):
        params = (("stocklike", True), ("commtype", bt.CommInfoBase.COMM_PERC), ("percabs", True))

        def getsize(self, price: float, cash: float) -> float:
            return self.p.leverage * (cash / price)

    class _TargetWeights(bt.Strategy):
        params = (("weights", None),)

        def __init__(self) -> None:
            self.w = self.p.weights
            self.equity: list[float] = []
            self.rejected = 0

        def notify_order(self, order: bt.Order) -> None:
            if order.status in (order.Margin, order.Rejected):
                self.rejected += 1

        def next(self) -> None:
            i = len(self) - 1
            row = self.w[i]
            self.equity.append(self.broker.getvalue())
            if np.isnan(row).all():
                return
            value = self.equity[-1]
            sells, buys = [], []
            for j, d in enumerate(self.datas):
                wj = row[j]
                if np.isnan(wj):
                    continue
                held = self.getposition(d).size * d.close[0]
                (sells if wj * value < held else buys).append((d, wj))
            for d, wj in sells + buys:
                self.order_target_percent(data=d, target=float(wj))

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.broker.setcash(cash)
    cerebro.broker.set_coc(True)
    cerebro.broker.set_checksubmit(False)
    cerebro.broker.addcommissioninfo(_FractionalPerc(commission=fees))
    idx = close.index
    naive = idx.tz_convert("UTC").tz_localize(None) if getattr(idx, "tz", None) is not None else idx
    for name in close.columns:
        px = close[name].to_numpy(dtype=float)
        feed = pd.DataFrame({"open": px, "high": px, "low": px, "close": px, "volume": 0.0}, index=naive)
        cerebro.adddata(bt.feeds.PandasData(dataname=feed, openinterest=None), name=str(name))
    w = weights.reindex(index=close.index, columns=close.columns).to_numpy(dtype=float)
    cerebro.addstrategy(_TargetWeights, weights=w)
    strat = cerebro.run()[0]
    equity = pd.Series(strat.equity, index=close.index, name="backtrader", dtype=float)
    equity.attrs["rejected"] = strat.rejected
    return equity
