"""The pre-trade hook: risk rules see every order batch before the kernels, and the reducing state.

Hand cases run in ``execution="close"`` so that a batch is screened and filled at the same prices:
the allowed quantity a rule logs is then exactly the quantity that fills.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mf_testdata import script

import multifolio as mf
from multifolio.strategies import TopN


class CapOrders:
    """The ten-line rule of the architecture issue: no order above 10% of equity."""

    def init(self, ctx): ...
    def on_bar(self, ctx): ...

    def pre_trade(self, view, batch):
        cap = 0.10 * view.equity
        for i, notional in enumerate(batch.notional()):
            if notional > cap:
                batch.scale(i, cap / notional, rule="cap_10pct", reason="order_above_10pct", cap=cap)


def _trending_market(n_bars: int = 40, n_assets: int = 4) -> mf.MarketData:
    rng = np.random.default_rng(7)
    idx = pd.date_range("2024-01-01", periods=n_bars, freq="D", tz="UTC")
    rets = rng.normal(0.002, 0.02, size=(n_bars, n_assets))
    close = pd.DataFrame(50.0 * np.exp(np.cumsum(rets, axis=0)), index=idx,
                         columns=[f"S{j}" for j in range(n_assets)])
    return mf.MarketData.from_frames(close)


def test_a_ten_line_rule_caps_every_order_of_a_top_n_run_and_logs_each_cut() -> None:
    md = _trending_market()
    strat = dict(k=2, lookback=5, schedule=5)
    free = mf.backtest(md, TopN(**strat), cash=10_000.0, execution="close")
    capped = mf.backtest(md, TopN(**strat), cash=10_000.0, execution="close", risk=[CapOrders()])

    assert not (free.events["kind"] == "risk").any()
    risk = capped.events[capped.events["kind"] == "risk"]
    assert len(risk) > 0
    equity = capped.snapshots["total_equity"]
    close = md.frame("close")
    fills = capped.fills
    for _, ev in risk.iterrows():
        d = ev["details"]
        assert d["rule"] == "cap_10pct" and d["reason"] == "order_above_10pct"
        t = ev["timestamp"]
        price = close.at[t, ev["symbol"]]
        # what was asked was above 10% of equity; what was allowed is exactly 10%
        assert abs(d["requested_qty"]) * price > 0.10 * equity[t]
        assert abs(d["allowed_qty"]) * price == pytest.approx(0.10 * equity[t], rel=1e-9)
        assert d["cap"] == pytest.approx(0.10 * equity[t], rel=1e-12)
        # and the allowed quantity is what filled
        f = fills[(fills["timestamp"] == t) & (fills["symbol"] == ev["symbol"])]
        assert len(f) == 1 and f["qty"].iloc[0] == pytest.approx(d["allowed_qty"], rel=1e-9)
    # no strategy fill is above the cap (orders the rule did not touch were already below it); the
    # end-of-data close-out is the engine's, not an order of the strategy
    own = fills[fills["reason"] != "end_of_data"]
    notional = (own["qty"].abs() * own["price"]).to_numpy()
    cap = 0.10 * equity.reindex(own["timestamp"]).to_numpy()
    assert (notional <= cap * (1 + 1e-9)).all()
    # each cut removed exposure the uncapped run took
    assert capped.fills["qty"].abs().max() < free.fills["qty"].abs().max()


def _one_asset(prices: list[float]) -> mf.MarketData:
    idx = pd.date_range("2024-03-04", periods=len(prices), freq="D", tz="UTC")
    return mf.MarketData.from_frames(pd.DataFrame({"A": prices}, index=idx))


def test_reducing_state_lets_only_the_shrinking_part_through() -> None:
    md = _one_asset([10.0] * 6)
    steps = {
        0: lambda ctx: ctx.target_qty({"A": 10.0}),
        1: lambda ctx: (ctx.reduce_only(), ctx.target_qty({"A": 15.0})),  # +5 opens: dropped
        2: lambda ctx: ctx.target_qty({"A": 4.0}),                         # -6 reduces: passes
        3: lambda ctx: ctx.order("A", -10.0),                              # -10 on 4 held: cut to -4
        4: lambda ctx: (ctx.reduce_only(False), ctx.target_qty({"A": 3.0})),  # active again: +3
    }
    res = mf.backtest(md, script(steps), cash=1_000.0, execution="close", close_at_end=False,
                      allow_short=True)
    assert res.positions["A"].tolist() == [10.0, 10.0, 4.0, 0.0, 3.0, 3.0]
    risk = res.events[res.events["kind"] == "risk"]
    got = [(str(t.date()), d["rule"], d["requested_qty"], d["allowed_qty"], d["reason"])
           for t, d in zip(risk["timestamp"], risk["details"], strict=True)]
    assert got == [("2024-03-05", "reducing", 5.0, 0.0, "reducing_only"),
                   ("2024-03-07", "reducing", -10.0, -4.0, "reducing_only")]
    # equity = cash + positions at every bar (no fees, flat prices)
    assert (res.snapshots["total_equity"] == 1_000.0).all()


class NoBigLimits:
    def init(self, ctx): ...
    def on_bar(self, ctx): ...

    def pre_limits(self, view, batch):
        for i, q in enumerate(batch.qty):
            if abs(q) > 5:
                batch.drop(i, rule="no_big_limits", reason="too_big", limit=5)


def test_pre_limits_screens_resting_orders_when_placed() -> None:
    md = _one_asset([10.0, 10.0, 9.0, 9.0])
    steps = {0: lambda ctx: ctx.place_limits(np.array([0, 0]), np.array([10.0, 3.0]),
                                             np.array([9.5, 9.5]))}
    res = mf.backtest(md, script(steps), cash=1_000.0, execution="close", close_at_end=False,
                      risk=[NoBigLimits()])
    # only the 3-unit limit was booked; it fills at 9 (the bar opens below the level)
    assert res.fills["qty"].tolist() == [3.0]
    risk = res.events[res.events["kind"] == "risk"]
    assert len(risk) == 1
    d = risk["details"].iloc[0]
    assert (d["rule"], d["requested_qty"], d["allowed_qty"], d["limit"]) == ("no_big_limits", 10.0, 0.0, 5)


def test_a_rule_may_only_cut_orders() -> None:
    class Grow:
        def init(self, ctx): ...
        def on_bar(self, ctx): ...
        def pre_trade(self, view, batch):
            batch.set_qty(0, batch.requested()[0] * 2, rule="grow", reason="x")

    md = _one_asset([10.0, 10.0])
    with pytest.raises(ValueError, match="may only cut an order"):
        mf.backtest(md, script({0: lambda ctx: ctx.order("A", 1.0)}), risk=[Grow()])


def test_kill_switch_closes_bypass_the_screening_rules() -> None:
    """A rule's own closing orders are not cut by the pre-trade rules (a cap must not keep a
    kill switch from flattening the book)."""
    md = _one_asset([10.0, 10.0, 5.0, 5.0, 5.0])
    steps = {0: lambda ctx: ctx.target_weights({"A": 1.0})}
    rules = [mf.portfolio.KillSwitch(window=48, threshold=4, mode="halt"), CapOrders()]
    res = mf.backtest(md, script(steps), cash=1_000.0, execution="close", close_at_end=False,
                      risk=rules)
    # the entry was capped at 10% of equity: 10 units; the halving costs 5% of equity, the kill
    # switch (4%) fires and its close of all 10 units is not cut to 10% of equity
    assert res.positions["A"].tolist() == [10.0, 10.0, 0.0, 0.0, 0.0]
