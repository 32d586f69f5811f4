"""Round trips built from the fill ledger agree with the account's books."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import multifolio as mf


class TargetSequence(mf.Strategy):
    def __init__(self, targets: np.ndarray) -> None:
        self.targets = targets

    def on_bar(self, ctx) -> None:
        row = self.targets[ctx.bar]
        if not np.isnan(row).all():
            ctx.target_qty(row)


def test_reduce_then_add_within_one_round_trip():
    # buy 10 @100, sell 5 @101, buy 5 @102, sell 10 @103; fees 1% of each fill's notional
    idx = pd.date_range("2024-01-01", periods=5, freq="h", tz="UTC")
    close = pd.DataFrame({"A": [100.0, 101, 102, 103, 104]}, index=idx)
    targets = np.array([[10.0], [5.0], [10.0], [0.0], [np.nan]])
    res = mf.backtest(close, TargetSequence(targets), cash=10_000.0, execution="close", fees=0.01)
    # cost basis: 10 @100; sell 5 -> +5; add 5 @102 -> basis (5*100 + 5*102)/10 = 101; sell 10 @103 -> +20
    fees = 0.01 * (1000 + 505 + 510 + 1030)
    assert len(res.trades) == 1
    trade = res.trades.iloc[0]
    assert trade["pnl"] == pytest.approx(25.0 - fees, abs=1e-9)
    assert trade["entry_price"] == pytest.approx((1000 + 510) / 15)    # average of opening fills
    assert trade["exit_price"] == pytest.approx((505 + 1030) / 15)
    assert float(res.equity.iloc[-1]) - 10_000.0 == pytest.approx(trade["pnl"], abs=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_trade_pnl_sums_to_the_equity_change(seed):
    rng = np.random.default_rng(seed)
    n_bars, n_assets = 40, 3
    idx = pd.date_range("2024-01-01", periods=n_bars, freq="h", tz="UTC")
    close = pd.DataFrame(50 * np.exp(np.cumsum(rng.normal(0, 0.03, (n_bars, n_assets)), axis=0)),
                         index=idx, columns=["A", "B", "C"])
    targets = rng.integers(-6, 7, size=(n_bars, n_assets)).astype(float)
    targets[rng.random((n_bars, n_assets)) < 0.4] = np.nan
    res = mf.backtest(close, TargetSequence(targets), cash=10_000.0, fees=0.002, slippage=0.001,
                      allow_short=True, leverage=2.0, execution="close")
    change = float(res.equity.iloc[-1]) - 10_000.0
    assert float(res.trades["pnl"].sum()) == pytest.approx(change, rel=1e-9, abs=1e-7)
    assert float(res.trades["fees"].sum()) == pytest.approx(float(res.fills["fee"].sum()), rel=1e-12)
    assert (res.trades["exit_reason"] != "open").all()          # everything closed at the end


def test_recent_fills_shows_the_levels_filled_since_the_last_decision():
    idx = pd.date_range("2024-01-01", periods=4, freq="h", tz="UTC")
    close = pd.DataFrame({"A": [100.0, 100, 100, 100], "B": [50.0, 50, 50, 50]}, index=idx)
    low = close.copy()
    low.iloc[2] = [94.0, 49.0]                    # bar 2 dips through A's 95 limit, not B's 45
    data = mf.MarketData.from_frames(close, open=close, high=close, low=low)
    seen = {}

    class Grid(mf.Strategy):
        def on_bar(self, ctx):
            if ctx.bar == 0:
                ctx.place_limits(np.array([0, 0, 1]), np.array([1.0, 2.0, 1.0]),
                                 np.array([95.0, 90.0, 45.0]))
            seen[ctx.bar] = ctx.recent_fills()

    mf.backtest(data, Grid(), cash=1_000.0, close_at_end=False)
    assert len(seen[1]["qty"]) == 0
    assert seen[2]["asset"].tolist() == [0] and seen[2]["qty"].tolist() == [1.0]
    assert seen[2]["price"].tolist() == [95.0] and seen[2]["bar"].tolist() == [2]
    assert len(seen[3]["qty"]) == 0
