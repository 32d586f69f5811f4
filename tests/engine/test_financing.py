"""Financing (issue 15): overnight swaps, perpetual funding, borrow on shorts. Hand-computed ledgers.

A charge falls at the start of a bar, before its open fills, on the positions held into it, marked at
the bar's open: swap = annual rate x |qty| x open x swap days / 365 (1 per daily rollover at
``rollover_hour`` UTC crossed since the previous bar, Monday to Friday, 3 on ``triple_swap_day``);
borrow = annual rate x |qty| x open x years since the previous bar; funding = rate x qty x open where
the ``funding_rate`` field is given (longs pay a positive rate, shorts receive it). Every charge moves
cash (equity = cash + sum qty x price still holds), is a row of ``Result.financing`` and counts in the
``financing_paid`` snapshot column, the trades' ``pnl`` (and ``financing``) and the per-asset ``pnl``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mf_testdata import random_market, script
from test_hand_cases import approx, bars, col, flat, run

import multifolio as mf
from multifolio.engine.settings import financing_schedule
from multifolio.engine.strategy import Strategy

# bars() starts on Monday 2024-03-04, one bar a day at 00:00 UTC: bar t charges the rollover of the
# evening before (22:00 UTC). Bar 1 (Tue): Monday's, 1 day; bar 2 (Wed): 1; bar 3 (Thu): Wednesday's,
# 3 days; bar 4 (Fri): 1; bar 5 (Sat): Friday's, 1; bar 6 (Sun): none.


def test_the_schedule_counts_weekday_rollovers_and_the_triple_day():
    idx = pd.date_range("2024-03-04", periods=8, freq="D", tz="UTC")
    days, years = financing_schedule(idx, 22.0, "wednesday")
    assert days.tolist() == [0, 1, 1, 3, 1, 1, 0, 0]
    assert years.tolist() == [0.0] + [approx(1 / 365)] * 7
    hourly = pd.date_range("2024-03-06 20:00", periods=4, freq="h", tz="UTC")    # a Wednesday
    assert financing_schedule(hourly, 22.0, "wednesday")[0].tolist() == [0, 0, 3, 0]
    assert financing_schedule(hourly, 21.0, "friday")[0].tolist() == [0, 1, 0, 0]


def test_a_long_swap_charged_over_each_rollover_and_tripled_on_wednesday():
    data = bars(A=[flat(100)] * 5)
    res = run(data, {0: lambda ctx: ctx.order("A", 50)}, leverage=10.0, swap_long=0.0365)
    # bar 0: buy 50 at the close 100 -> cash 5,000. One swap day = 0.0365 x 50 x 100 / 365 = 0.5.
    # bars 1..4 charge 1, 1, 3, 1 days: -0.5, -0.5, -1.5, -0.5 -> cash 4,999.5, 4,999, 4,997.5, 4,997.
    fin = res.financing
    assert fin["kind"].astype(str).tolist() == ["swap"] * 4
    assert fin["days"].tolist() == [1, 1, 3, 1]
    assert fin["amount"].tolist() == [approx(-0.5), approx(-0.5), approx(-1.5), approx(-0.5)]
    assert fin["qty"].tolist() == [50.0] * 4
    assert fin["rate"].tolist() == [0.0365] * 4
    assert col(res, "cash") == [approx(x) for x in (5_000, 4_999.5, 4_999, 4_997.5, 4_997)]
    assert col(res, "financing_paid") == [approx(x) for x in (0, 0.5, 1.0, 2.5, 3.0)]
    assert res.equity.tolist() == [approx(x + 5_000) for x in (5_000, 4_999.5, 4_999, 4_997.5, 4_997)]
    # the realized PnL (net of fees and financing) + unrealized = equity - initial cash
    total = np.array(col(res, "realized_pnl")) + np.array(col(res, "unrealized_pnl"))
    assert total.tolist() == [approx(x) for x in (0, -0.5, -1.0, -2.5, -3.0)]


def test_a_short_swap_is_received_and_next_open_fills_are_not_charged_on_their_bar():
    data = bars(A=[flat(100), flat(100), flat(100), flat(100), flat(100)])

    def short(ctx):
        ctx.order("A", -50)

    def cover(ctx):
        ctx.close_position("A")

    res = run(data, {0: short, 2: cover}, execution="next_open", allow_short=True,
              swap_short=-0.0365, swap_long=0.05)
    # bar 1: sell 50 at the open (after Monday's rollover: no charge) -> cash 15,000.
    # bar 2: held into it over Tuesday's rollover: the short receives 0.0365 x 5,000 / 365 = +0.5.
    # bar 3: held into it over Wednesday's (3 days): +1.5 before the cover at bar 3's open. Then flat.
    fin = res.financing
    assert [data.index.get_loc(t) for t in fin["timestamp"]] == [2, 3]
    assert fin["amount"].tolist() == [approx(0.5), approx(1.5)]
    assert fin["qty"].tolist() == [-50.0, -50.0]
    assert col(res, "cash")[-1] == approx(10_002)
    assert col(res, "financing_paid")[-1] == approx(-2.0)
    tr = res.trades
    assert tr["financing"].tolist() == [approx(-2.0)]
    assert tr["pnl"].tolist() == [approx(2.0)]          # price unchanged: the trade earned its swap


def test_funding_on_a_long_and_a_short():
    idx = pd.date_range("2024-03-04", periods=5, freq="8h", tz="UTC")
    close = pd.DataFrame({"L": [100.0, 100, 110, 110, 120], "S": [50.0, 50, 50, 40, 40]}, index=idx)
    open_ = pd.DataFrame({"L": [100.0, 100, 110, 110, 120], "S": [50.0, 50, 50, 40, 40]}, index=idx)
    rate = pd.DataFrame({"L": [np.nan, np.nan, 0.001, np.nan, -0.0005],
                         "S": [np.nan, np.nan, 0.001, np.nan, -0.0005]}, index=idx)
    data = mf.MarketData.from_frames(close, open=open_, funding_rate=rate)

    def enter(ctx):
        ctx.order("L", 10)
        ctx.order("S", -5)

    res = mf.backtest(data, script({0: enter}), cash=10_000.0, execution="close", leverage=5.0,
                      allow_short=True, close_at_end=False)
    # bar 0: buy 10 L at 100 (cash 9,000), sell 5 S at 50 (cash 9,250).
    # bar 2 (funding 0.1%): L pays 0.001 x 10 x 110 = 1.1; S receives 0.001 x 5 x 50 = 0.25.
    # bar 4 (funding -0.05%): L receives 0.0005 x 10 x 120 = 0.6; S pays 0.0005 x 5 x 40 = 0.1.
    fin = res.financing
    assert fin["kind"].astype(str).unique().tolist() == ["funding"]
    got = {(data.index.get_loc(t), s): a for t, s, a in zip(fin["timestamp"], fin["symbol"], fin["amount"],
                                                            strict=True)}
    assert got == {(2, "L"): approx(-1.1), (2, "S"): approx(0.25), (4, "L"): approx(0.6),
                   (4, "S"): approx(-0.1)}
    assert col(res, "cash")[-1] == approx(9_250 - 1.1 + 0.25 + 0.6 - 0.1)
    assert col(res, "financing_paid")[-1] == approx(1.1 - 0.25 - 0.6 + 0.1)
    # per-asset PnL: L 10 x (120 - 100) - 1.1 + 0.6 = 199.5; S 5 x (50 - 40) + 0.25 - 0.1 = 50.15
    pa = res.per_asset
    assert float(pa.loc["L", "pnl"]) == approx(199.5)
    assert float(pa.loc["S", "pnl"]) == approx(50.15)
    assert float(pa["pnl"].sum()) == approx(float(res.equity.iloc[-1]) - 10_000)
    # funding=False ignores the field
    off = mf.backtest(data, script({0: enter}), cash=10_000.0, execution="close", leverage=5.0,
                      allow_short=True, close_at_end=False, funding=False)
    assert len(off.financing) == 0 and col(off, "cash")[-1] == approx(9_250)


def test_borrow_cost_on_a_short():
    data = bars(A=[flat(100)] * 4, B=[flat(20)] * 4)

    def trade(ctx):
        ctx.order("A", -10)
        ctx.order("B", 10)           # a long pays no borrow

    res = run(data, {0: trade}, allow_short=True, borrow_rate={"A": 0.0365, "B": 0.5})
    # bar 0: short 10 A at 100 (cash 11,000), buy 10 B at 20 (cash 10,800). Borrow on A per day:
    # 0.0365 x 1,000 x 1/365 = 0.1 at bars 1, 2, 3 (every calendar day).
    fin = res.financing
    assert fin["kind"].astype(str).tolist() == ["borrow"] * 3
    assert fin["symbol"].astype(str).tolist() == ["A"] * 3
    assert fin["amount"].tolist() == [approx(-0.1)] * 3
    assert fin["days"].tolist() == [approx(1.0)] * 3
    assert col(res, "cash") == [approx(x) for x in (10_800, 10_799.9, 10_799.8, 10_799.7)]


def test_charges_fall_on_the_trade_open_at_the_time():
    data = bars(A=[flat(100)] * 6)
    steps = {0: lambda ctx: ctx.order("A", 10), 1: lambda ctx: ctx.order("A", -10),
             2: lambda ctx: ctx.order("A", 10), 4: lambda ctx: ctx.order("A", -10)}
    res = run(data, steps, leverage=2.0, swap_long=0.365)
    # one swap day on 10 x 100 = 0.365 x 1,000 / 365 = 1. Trade 1 (bars 0-1): held into bar 1 -> 1.
    # trade 2 (bars 2-4): held into bar 3 (Wednesday's rollover, 3 days) and bar 4 (1) -> 4.
    tr = res.trades
    assert tr["financing"].tolist() == [approx(1.0), approx(4.0)]
    assert tr["pnl"].tolist() == [approx(-1.0), approx(-4.0)]
    assert float(tr["pnl"].sum()) == approx(float(res.equity.iloc[-1]) - 10_000)


def test_no_financing_by_default():
    data = bars(A=[flat(100)] * 4)
    res = run(data, {0: lambda ctx: ctx.order("A", 10)})
    assert len(res.financing) == 0
    assert col(res, "financing_paid") == [0.0] * 4
    assert res.info.account.swap_long == 0.0


@pytest.mark.parametrize("kw,match", [
    ({"borrow_rate": -0.1}, "borrow_rate"),
    ({"swap_long": {"ZZ": 0.1}}, "unknown symbol"),
    ({"rollover_hour": 24}, "rollover_hour"),
    ({"triple_swap_day": "sunday"}, "triple_swap_day"),
    ({"funding": "yes"}, "funding"),
])
def test_bad_financing_settings(kw, match):
    data = bars(A=[flat(100)] * 2)
    with pytest.raises(ValueError, match=match):
        run(data, {}, **kw)


class _RandomTrader(Strategy):
    """Random long/short target weights every few bars (a fixed seed)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def on_bar(self, ctx) -> None:
        if self.rng.random() < 0.4:
            w = self.rng.uniform(-0.6, 0.6, ctx.n_assets)
            ctx.target_weights(np.where(ctx.tradable, w, np.nan))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("execution", ["next_open", "close"])
def test_equity_is_cash_plus_positions_with_financing_on_random_markets(seed, execution):
    o, h, lo, c = random_market(seed, n_bars=80, n_assets=4, freq="6h")
    rng = np.random.default_rng(seed + 100)
    funding = pd.DataFrame(np.where(rng.random(c.shape) < 0.3, rng.normal(0, 0.001, c.shape), np.nan),
                           index=c.index, columns=c.columns)
    data = mf.MarketData.from_frames(c, open=o, high=h, low=lo, funding_rate=funding)
    res = mf.backtest(data, _RandomTrader(seed), cash=100_000.0, execution=execution, leverage=3.0,
                      allow_short=True, fees=0.001, swap_long=0.05, swap_short={"S0": -0.02, "S1": 0.03},
                      borrow_rate=0.04, close_at_end=True)
    assert len(res.financing) > 0
    last = c.ffill().to_numpy()
    held = res.positions.to_numpy()
    marks = np.where(held != 0.0, last, 0.0)
    want = res.snapshots["cash"].to_numpy() + np.nansum(held * marks, axis=1)
    np.testing.assert_allclose(res.equity.to_numpy(), want, rtol=1e-10, atol=1e-6)
    # every charge moved cash: the ledger sums to the snapshot's financing paid
    assert -float(res.financing["amount"].sum()) == approx(float(res.snapshots["financing_paid"].iloc[-1]))
    # closed at the end: trades and per-asset PnL both add up to the portfolio's PnL
    pnl = float(res.equity.iloc[-1]) - 100_000.0
    assert float(res.trades["pnl"].sum()) == pytest.approx(pnl, rel=1e-9, abs=1e-6)
    assert float(res.per_asset["pnl"].sum()) == pytest.approx(pnl, rel=1e-9, abs=1e-6)
