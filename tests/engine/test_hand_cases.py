"""Hand-computed ledgers for the order types and account rules (the arithmetic is in the comments).

Unless a case says otherwise: one cash account of 10,000, no costs, ``execution="close"`` (an order
placed in ``on_bar`` at bar t fills at the close of t; limit and stop orders placed at t are active
from bar t+1) and ``close_at_end=False``. Bars are written (open, high, low, close).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from mf_testdata import script

import multifolio as mf

CASH = 10_000.0


def approx(x):
    return pytest.approx(x, rel=1e-12, abs=1e-9)


def bars(**series: list[tuple[float, float, float, float] | None]) -> mf.MarketData:
    """MarketData from per-symbol lists of (open, high, low, close) bars; None = no bar."""
    n = len(next(iter(series.values())))
    index = pd.date_range("2024-03-04", periods=n, freq="D", tz="UTC")
    frames = {}
    for k, field in enumerate(("open", "high", "low", "close")):
        frames[field] = pd.DataFrame(
            {s: [np.nan if b is None else float(b[k]) for b in rows] for s, rows in series.items()},
            index=index)
    return mf.MarketData.from_frames(frames["close"], open=frames["open"], high=frames["high"],
                                     low=frames["low"])


def flat(price: float) -> tuple[float, float, float, float]:
    """A bar that does not move."""
    return (price, price, price, price)


def run(data: mf.MarketData, steps: dict[int, Callable], **settings):
    settings.setdefault("cash", CASH)
    settings.setdefault("execution", "close")
    settings.setdefault("close_at_end", False)
    return mf.backtest(data, script(steps), **settings)


def col(res, name: str) -> list[float]:
    return res.snapshots[name].astype(float).tolist()


def pos(res, symbol: str) -> list[float]:
    return res.positions[symbol].astype(float).tolist()


def fills_of(res, symbol: str | None = None) -> pd.DataFrame:
    f = res.fills
    if symbol is not None:
        f = f[f["symbol"] == symbol]
    return f.sort_values(["timestamp"], kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------------------------------------
# limit and stop orders
# ------------------------------------------------------------------------------------------------
def test_limit_buy_fills_at_the_limit_from_the_next_bar():
    data = bars(A=[(100, 101, 96, 100), (99, 100, 96, 98), (98, 99, 97, 99)])
    res = run(data, {0: lambda ctx: ctx.order("A", 10, limit=97.0)})
    # bar 0: the order is placed at the close; bar 0's own low (96) does not count (active from 1).
    #        cash 10,000, equity 10,000.
    # bar 1: open 99 > 97 and low 96 <= 97 -> buy 10 at min(open, limit) = 97: cash 10,000 - 970
    #        = 9,030; equity at the close 9,030 + 10 x 98 = 10,010.
    # bar 2: equity 9,030 + 10 x 99 = 10,020.
    assert col(res, "cash") == [approx(10_000), approx(9_030), approx(9_030)]
    assert res.equity.tolist() == [approx(10_000), approx(10_010), approx(10_020)]
    assert pos(res, "A") == [0.0, approx(10), approx(10)]
    f = fills_of(res)
    assert len(f) == 1
    assert f.loc[0, "timestamp"] == data.index[1]
    assert (f.loc[0, "qty"], f.loc[0, "price"], f.loc[0, "base_price"]) == (
        approx(10), approx(97), approx(97))
    assert str(f.loc[0, "kind"]) == "limit"
    order = res.orders[res.orders["kind"].astype(str) == "limit"]
    assert order["status"].astype(str).tolist() == ["filled"]
    assert float(order["fill_price"].iloc[0]) == approx(97)


def test_limit_gap_through_fills_at_the_open():
    # buy limit 97, bar 1 opens at 95 (below the limit): fills at min(open, limit) = 95.
    # sell limit 105 on a held position, bar 1 opens at 107: fills at max(open, limit) = 107.
    data = bars(A=[(100, 101, 99, 100), (95, 96, 94, 95.5)],
                B=[(100, 101, 99, 100), (107, 108, 106, 107.5)])

    def step0(ctx):
        ctx.order("A", 10, limit=97.0)
        ctx.order("B", 10)                   # market: 10 x 100 at bar 0's close
        ctx.order("B", -10, limit=105.0)

    res = run(data, {0: step0})
    # bar 0: buy 10 B at 100 -> cash 9,000; equity 9,000 + 1,000 = 10,000.
    # bar 1: A fills 10 at 95 -> cash 8,050; B sells 10 at 107 -> cash 9,120.
    #        equity = 9,120 + 10 x 95.5 = 10,075.
    fa, fb = fills_of(res, "A"), fills_of(res, "B")
    assert fa["price"].tolist() == [approx(95)]
    assert fb["price"].tolist() == [approx(100), approx(107)]
    assert fb["qty"].tolist() == [approx(10), approx(-10)]
    assert col(res, "cash") == [approx(9_000), approx(9_120)]
    assert res.equity.tolist() == [approx(10_000), approx(10_075)]
    assert pos(res, "B") == [approx(10), 0.0]


def test_stop_orders_trigger_at_the_level_or_the_gap_open():
    # A: buy stop 103, bar 1 opens 101 and trades up to 104: fills at max(open, stop) = 103.
    # B: held 10, sell stop 95, bar 1 gaps down to open 93: fills at min(open, stop) = 93.
    data = bars(A=[(100, 101, 99, 100), (101, 104, 100, 103.5)],
                B=[(100, 101, 99, 100), (93, 94, 90, 92)])

    def step0(ctx):
        ctx.order("A", 10, stop=103.0)
        ctx.order("B", 10)
        ctx.order("B", -10, stop=95.0)

    res = run(data, {0: step0})
    # bar 0: buy 10 B at 100 -> cash 9,000.
    # bar 1: buy 10 A at 103 -> cash 7,970; sell 10 B at 93 -> cash 8,900.
    #        equity = 8,900 + 10 x 103.5 = 9,935.
    assert fills_of(res, "A")["price"].tolist() == [approx(103)]
    assert fills_of(res, "B")["price"].tolist() == [approx(100), approx(93)]
    assert col(res, "cash") == [approx(9_000), approx(8_900)]
    assert res.equity.tolist() == [approx(10_000), approx(9_935)]


def test_stop_not_reached_does_not_fill():
    data = bars(A=[(100, 101, 99, 100), (101, 102.9, 100, 102), (102, 102.5, 101, 102)])
    res = run(data, {0: lambda ctx: ctx.order("A", 10, stop=103.0)})
    # the high never reaches 103: no fill, the order stays open; equity stays 10,000.
    assert len(res.fills) == 0
    assert res.equity.tolist() == [approx(CASH)] * 3
    # (bar 0's snapshot is taken before on_bar places the order, so the count starts at bar 1)
    assert col(res, "n_open_orders")[1:] == [1, 1]


def test_several_limit_orders_on_one_asset_on_one_bar():
    # a small grid: buy 5 at 98, 96 and 94, placed together at bar 0 (bulk and one by one).
    data = bars(A=[(100, 101, 99, 100), (99, 99.5, 95, 97), (96, 97, 93, 95)])

    def one_by_one(ctx):
        for px in (98.0, 96.0, 94.0):
            ctx.order("A", 5, limit=px)

    def bulk(ctx):
        ctx.place_limits(np.array([0, 0, 0]), np.array([5.0, 5.0, 5.0]),
                         np.array([98.0, 96.0, 94.0]))

    for step in (one_by_one, bulk):
        res = run(data, {0: step})
        # bar 1: low 95 reaches 98 and 96 (not 94): 5 at 98 + 5 at 96 = 490 + 480 = 970
        #        -> cash 9,030, 10 held; equity 9,030 + 10 x 97 = 10,000.
        # bar 2: low 93 reaches 94: 5 at 94 = 470 -> cash 8,560, 15 held;
        #        equity 8,560 + 15 x 95 = 9,985.
        f = fills_of(res).sort_values(["timestamp", "price"], ascending=[True, False])
        assert f["price"].tolist() == [approx(98), approx(96), approx(94)]
        assert [data.index.get_loc(t) for t in f["timestamp"]] == [1, 1, 2]
        assert col(res, "cash") == [approx(10_000), approx(9_030), approx(8_560)]
        assert pos(res, "A") == [0.0, approx(10), approx(15)]
        assert res.equity.tolist() == [approx(10_000), approx(10_000), approx(9_985)]


# ------------------------------------------------------------------------------------------------
# stop-loss / take-profit brackets
# ------------------------------------------------------------------------------------------------
def _bracket(ctx):
    # market buy 10 at bar 0's close (100) with a stop-loss at 95 and a take-profit at 110
    ctx.order("A", 10, stop_loss=95.0, take_profit=110.0)


@pytest.mark.parametrize("bar1,exit_price,reason", [
    ((101, 111, 100, 108), 110.0, "take_profit"),   # high 111 >= 110: TP at max(open, 110) = 110
    ((99, 102, 94, 96), 95.0, "stop_loss"),         # low 94 <= 95: SL at min(open, 95) = 95
    ((100, 112, 93, 105), 95.0, "stop_loss"),       # both touched on one bar: the SL fills
    ((90, 92, 88, 91), 90.0, "stop_loss"),          # gap below the SL: fills at the open 90
    ((112, 113, 111, 112), 112.0, "take_profit"),   # gap above the TP: fills at the open 112
], ids=["tp", "sl", "both_touched_sl_wins", "sl_gap", "tp_gap"])
def test_bracket_exits(bar1, exit_price, reason):
    # bar 2 touches both levels again: the sibling was cancelled, nothing more happens.
    data = bars(A=[(100, 101, 99, 100), bar1, (100, 120, 80, 100)])
    res = run(data, {0: _bracket})
    # bar 0: buy 10 at 100 -> cash 9,000; the SL/TP pair is active from bar 1.
    # bar 1: sell 10 at the exit price -> cash 9,000 + 10 x exit; flat. Bar 2: no more fills.
    f = fills_of(res)
    assert f["qty"].tolist() == [approx(10), approx(-10)]
    assert f["price"].tolist() == [approx(100), approx(exit_price)]
    assert str(f.loc[1, "reason"]) == reason
    assert [data.index.get_loc(t) for t in f["timestamp"]] == [0, 1]
    cash1 = 9_000 + 10 * exit_price
    assert col(res, "cash") == [approx(9_000), approx(cash1), approx(cash1)]
    assert pos(res, "A") == [approx(10), 0.0, 0.0]
    assert res.equity.tolist() == [approx(10_000), approx(cash1), approx(cash1)]
    assert col(res, "n_open_orders")[1:] == [0, 0]       # the sibling was cancelled
    # the round trip: entry 100, exit at the level, pnl 10 x (exit - 100)
    tr = res.trades
    assert len(tr) == 1
    assert float(tr["pnl"].iloc[0]) == approx(10 * (exit_price - 100))
    assert str(tr["exit_reason"].iloc[0]) == reason


def test_bracket_not_active_on_the_entry_bar():
    # bar 0's own range (low 90) would hit the SL, but the pair is active from bar 1 only.
    data = bars(A=[(100, 101, 90, 100), (100, 101, 99, 100)])
    res = run(data, {0: _bracket})
    assert len(res.fills) == 1
    assert pos(res, "A") == [approx(10), approx(10)]


# ------------------------------------------------------------------------------------------------
# exchange rules: minimum notional and quantity step
# ------------------------------------------------------------------------------------------------
def test_min_notional_rejects_small_orders():
    data = bars(A=[flat(100), flat(100)])

    def step0(ctx):
        ctx.order("A", 4)     # 4 x 100 = 400 < 500: rejected, reason min_notional
        ctx.order("A", 6)     # 6 x 100 = 600 >= 500: filled

    res = run(data, {0: step0}, min_notional=500.0)
    # cash = 10,000 - 600 = 9,400; 6 held.
    assert fills_of(res)["qty"].tolist() == [approx(6)]
    assert col(res, "cash") == [approx(9_400), approx(9_400)]
    rejected = res.orders[res.orders["status"].astype(str) == "rejected"]
    assert len(rejected) == 1
    assert str(rejected["reason"].iloc[0]) == "min_notional"
    assert float(rejected["qty"].iloc[0]) == approx(4)


def test_min_notional_on_a_limit_fill():
    # a resting buy of 4 at 99 (396 < 500) is rejected when it triggers, reason min_notional
    data = bars(A=[flat(100), (100, 100, 98, 99)])
    res = run(data, {0: lambda ctx: ctx.order("A", 4, limit=99.0)}, min_notional=500.0)
    assert len(res.fills) == 0
    rejected = res.orders[res.orders["status"].astype(str) == "rejected"]
    assert rejected["reason"].astype(str).tolist() == ["min_notional"]


def test_qty_step_rounds_toward_zero():
    data = bars(A=[flat(100), flat(110), flat(120)])
    steps = {
        0: lambda ctx: ctx.order("A", 10.8),                  # -> 10.5
        1: lambda ctx: ctx.order("A", -3.3),                  # -> -3.0 (toward zero)
        2: lambda ctx: ctx.target_weights({"A": 0.37}),       # -> see below
    }
    res = run(data, steps, qty_step={"A": 0.5})
    # bar 0: buy 10.5 at 100 -> cash 8,950.
    # bar 1: sell 3 at 110 -> cash 9,280; 7.5 held; equity 9,280 + 7.5 x 110 = 10,105.
    # bar 2: V = 9,280 + 7.5 x 120 = 10,180; target 0.37 x 10,180 / 120 = 31.3883 -> buy 23.8883,
    #        rounded down to 23.5: cash 9,280 - 23.5 x 120 = 6,460; 31 held;
    #        equity 6,460 + 31 x 120 = 10,180.
    assert fills_of(res)["qty"].tolist() == [approx(10.5), approx(-3.0), approx(23.5)]
    assert pos(res, "A") == [approx(10.5), approx(7.5), approx(31.0)]
    assert col(res, "cash") == [approx(8_950), approx(9_280), approx(6_460)]
    assert res.equity.tolist() == [approx(10_000), approx(10_105), approx(10_180)]


# ------------------------------------------------------------------------------------------------
# costs and cash
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["target_weights", "market_orders"])
def test_buys_scaled_by_one_factor_when_cash_is_short(how):
    data = bars(A=[flat(100), flat(100)], B=[flat(50), flat(50)])

    def step0(ctx):
        if how == "target_weights":
            ctx.target_weights({"A": 0.6, "B": 0.4})
        else:
            ctx.order("A", 60)
            ctx.order("B", 80)

    res = run(data, {0: step0}, fees=0.01)
    # V = 10,000: A 0.6 x 10,000 / 100 = 60 sh, B 0.4 x 10,000 / 50 = 80 sh (the market orders
    # ask for the same). Cost 6,000 + 4,000 = 10,000 plus 1% fees = 10,100 > 10,000 cash, so both
    # buys are scaled by k = 10,000 / 10,100 = 0.990099...: A 59.4059, B 79.2079; cash 0;
    # fees = 1% x 9,900.99 = 99.0099; equity = 9,900.99.
    k = 10_000 / 10_100
    f = fills_of(res).sort_values("symbol")
    assert f["qty"].tolist() == [approx(60 * k), approx(80 * k)]
    assert f["fee"].tolist() == [approx(0.01 * 6_000 * k), approx(0.01 * 4_000 * k)]
    assert col(res, "cash")[0] == pytest.approx(0.0, abs=1e-8)
    assert col(res, "cash")[0] >= 0.0
    assert col(res, "fees_paid")[0] == approx(100 * k)
    assert res.equity.iloc[0] == approx(10_000 * k)
    # the scaling is logged: orders marked "scaled" and a "scaled" event with the factor
    assert set(res.orders["status"].astype(str)) == {"scaled"}
    ev = res.events[res.events["kind"].astype(str) == "scaled"]
    assert len(ev) == 1
    assert ev["details"].iloc[0]["factor"] == pytest.approx(k, rel=1e-12)


def test_fixed_fee_per_fill():
    data = bars(A=[flat(100), flat(110)])
    res = run(data, {0: lambda ctx: ctx.order("A", 10), 1: lambda ctx: ctx.order("A", -10)},
              fixed_fees=2.5)
    # bar 0: buy 10 at 100: cash 10,000 - 1,000 - 2.5 = 8,997.5; equity 9,997.5.
    # bar 1: sell 10 at 110: cash 8,997.5 + 1,100 - 2.5 = 10,095; fees paid 5.
    assert fills_of(res)["fee"].tolist() == [approx(2.5), approx(2.5)]
    assert col(res, "cash") == [approx(8_997.5), approx(10_095)]
    assert res.equity.tolist() == [approx(9_997.5), approx(10_095)]
    assert col(res, "fees_paid") == [approx(2.5), approx(5.0)]
    # the round trip's pnl is net of fees: 10 x (110 - 100) - 5 = 95
    assert float(res.trades["pnl"].iloc[0]) == approx(95)
    assert float(res.trades["fees"].iloc[0]) == approx(5)


def test_slippage_and_proportional_fee_at_the_close():
    data = bars(A=[flat(100), flat(110)])
    res = run(data, {0: lambda ctx: ctx.order("A", 10), 1: lambda ctx: ctx.order("A", -10)},
              slippage=0.01, fees=0.001)
    # bar 0: buy at 100 x 1.01 = 101; fee 0.001 x 10 x 101 = 1.01;
    #        cash 10,000 - 1,010 - 1.01 = 8,988.99; equity 8,988.99 + 1,000 = 9,988.99.
    # bar 1: sell at 110 x 0.99 = 108.9; fee 0.001 x 10 x 108.9 = 1.089;
    #        cash 8,988.99 + 1,089 - 1.089 = 10,076.901.
    f = fills_of(res)
    assert f["base_price"].tolist() == [approx(100), approx(110)]
    assert f["price"].tolist() == [approx(101), approx(108.9)]
    assert f["fee"].tolist() == [approx(1.01), approx(1.089)]
    assert f["slippage_cost"].tolist() == [approx(10), approx(11)]
    assert col(res, "cash") == [approx(8_988.99), approx(10_076.901)]
    assert res.equity.tolist() == [approx(9_988.99), approx(10_076.901)]
    assert col(res, "fees_paid")[-1] == approx(2.099)


def test_next_open_fills_at_the_next_open_with_slippage():
    data = bars(A=[(99, 101, 98, 100), (102, 103, 101, 103), (104, 105, 103, 104)])
    res = run(data, {0: lambda ctx: ctx.order("A", 10)}, execution="next_open", slippage=0.01,
              fees=0.001)
    # decided at bar 0's close, filled at bar 1's open 102 x 1.01 = 103.02;
    # fee 0.001 x 10 x 103.02 = 1.0302; cash 10,000 - 1,030.2 - 1.0302 = 8,968.7698;
    # equity bar 1 = 8,968.7698 + 10 x 103 = 9,998.7698; bar 2 = 8,968.7698 + 1,040 = 10,008.7698.
    f = fills_of(res)
    assert f["timestamp"].tolist() == [data.index[1]]
    assert f["base_price"].tolist() == [approx(102)]
    assert f["price"].tolist() == [approx(103.02)]
    assert col(res, "cash") == [approx(10_000), approx(8_968.7698), approx(8_968.7698)]
    assert res.equity.tolist() == [approx(10_000), approx(9_998.7698), approx(10_008.7698)]


def test_no_price_at_the_execution_bar_drops_the_order():
    # next_open: decided at bar 0, bar 1 has no B bar: B is not traded then (reason no_price)
    # and the order is not carried to bar 2; A trades normally.
    data = bars(A=[flat(100), flat(100), flat(100)], B=[flat(50), None, flat(50)])
    res = run(data, {0: lambda ctx: ctx.target_weights({"A": 0.5, "B": 0.5})},
              execution="next_open")
    # bar 1: V = 10,000; A 0.5 x 10,000 / 100 = 50 sh at 100 -> cash 5,000. B dropped.
    assert fills_of(res)["symbol"].tolist() == ["A"]
    assert pos(res, "B") == [0.0, 0.0, 0.0]
    assert col(res, "cash") == [approx(10_000), approx(5_000), approx(5_000)]
    dropped = res.orders[res.orders["symbol"] == "B"]
    assert dropped["status"].astype(str).tolist() == ["rejected"]
    assert dropped["reason"].astype(str).tolist() == ["no_price"]


# ------------------------------------------------------------------------------------------------
# margin account: a short, a liquidation
# ------------------------------------------------------------------------------------------------
def test_short_in_a_margin_account():
    data = bars(A=[flat(100), flat(90), flat(95)])
    res = run(data, {0: lambda ctx: ctx.order("A", -20), 2: lambda ctx: ctx.order("A", 20)},
              allow_short=True, leverage=2.0)
    # bar 0: short 20 at 100: cash 10,000 + 2,000 = 12,000; equity 12,000 - 20 x 100 = 10,000;
    #        margin used 20 x 100 / 2 = 1,000.
    # bar 1: equity 12,000 - 20 x 90 = 10,200; margin used 900 (ratio 900 / 10,000 = 0.09);
    #        unrealized 20 x (100 - 90) = 200.
    # bar 2: buy 20 at 95 to cover: cash 12,000 - 1,900 = 10,100; realized 20 x (100 - 95) = 100.
    assert pos(res, "A") == [approx(-20), approx(-20), 0.0]
    assert col(res, "cash") == [approx(12_000), approx(12_000), approx(10_100)]
    assert res.equity.tolist() == [approx(10_000), approx(10_200), approx(10_100)]
    assert col(res, "margin_used") == [approx(1_000), approx(900), approx(0)]
    assert col(res, "margin_ratio")[1] == approx(0.09)
    assert col(res, "unrealized_pnl")[1] == approx(200)
    assert col(res, "realized_pnl")[2] == approx(100)
    tr = res.trades
    assert len(tr) == 1
    assert str(tr["direction"].iloc[0]) == "short"
    assert float(tr["pnl"].iloc[0]) == approx(100)


def test_short_refused_in_a_cash_account():
    # a cash account clips sells to the held quantity: selling what is not held does nothing
    data = bars(A=[flat(100), flat(90)])
    res = run(data, {0: lambda ctx: ctx.order("A", -20)})
    assert len(res.fills) == 0
    assert pos(res, "A") == [0.0, 0.0]
    assert res.equity.tolist() == [approx(CASH), approx(CASH)]
    assert (res.orders["status"].astype(str) == "rejected").all()


def test_margin_liquidation():
    data = bars(A=[flat(100), flat(90), flat(80), flat(85)])
    res = run(data, {0: lambda ctx: ctx.order("A", 400)}, leverage=5.0, maintenance_margin=0.5)
    # bar 0: buy 400 at 100 = 40,000: margin used 40,000 / 5 = 8,000 <= equity 10,000 (accepted);
    #        cash 10,000 - 40,000 = -30,000; equity 10,000.
    # bar 1: equity -30,000 + 36,000 = 6,000; margin used 7,200; 0.5 x 7,200 = 3,600 <= 6,000: kept.
    # bar 2: equity -30,000 + 32,000 = 2,000; margin used 6,400; 0.5 x 6,400 = 3,200 > 2,000:
    #        liquidated at the close 80: sell 400 -> cash 2,000; equity 2,000.
    # bar 3: flat, equity 2,000.
    assert pos(res, "A") == [approx(400), approx(400), 0.0, 0.0]
    assert col(res, "cash") == [approx(-30_000), approx(-30_000), approx(2_000), approx(2_000)]
    assert res.equity.tolist() == [approx(10_000), approx(6_000), approx(2_000), approx(2_000)]
    f = fills_of(res)
    assert f["qty"].tolist() == [approx(400), approx(-400)]
    assert str(f.loc[1, "reason"]) == "liquidation"
    assert f.loc[1, "timestamp"] == data.index[2]
    assert float(f.loc[1, "price"]) == approx(80)
    ev = res.events[res.events["kind"].astype(str) == "liquidation"]
    assert len(ev) == 1
    assert ev["timestamp"].iloc[0] == data.index[2]
    details = ev["details"].iloc[0]
    assert details["equity"] == approx(2_000)
    assert details["margin_used"] == approx(6_400)


def test_margin_order_beyond_free_margin_is_scaled():
    # leverage 2: free margin 10,000 buys at most 20,000 of A; asking for 300 x 100 = 30,000
    # scales the buy to k = 10,000 / 15,000: 200 sh; margin used 200 x 100 / 2 = 10,000.
    data = bars(A=[flat(100), flat(100)])
    res = run(data, {0: lambda ctx: ctx.order("A", 300)}, leverage=2.0)
    assert pos(res, "A")[0] == pytest.approx(200, rel=1e-12)
    assert col(res, "margin_used")[0] == pytest.approx(10_000, rel=1e-12)
    assert col(res, "cash")[0] == pytest.approx(-10_000, rel=1e-12)
    assert res.equity.iloc[0] == approx(10_000)


def test_per_asset_leverage_sets_each_assets_margin():
    # A at leverage 2, B at 5: buy 100 A at 100 and 100 B at 50 -> margin used
    # 100 x 100 / 2 + 100 x 50 / 5 = 5,000 + 1,000 = 6,000; cash 10,000 - 15,000 = -5,000.
    # bar 1: A 110, B 40 -> margin used 5,500 + 800 = 6,300; equity -5,000 + 11,000 + 4,000 = 10,000.
    data = bars(A=[flat(100), flat(110)], B=[flat(50), flat(40)])
    res = run(data, {0: lambda ctx: (ctx.order("A", 100), ctx.order("B", 100))},
              leverage={"A": 2.0, "B": 5.0})
    assert col(res, "margin_used") == [approx(6_000), approx(6_300)]
    assert col(res, "cash") == [approx(-5_000), approx(-5_000)]
    assert res.equity.tolist() == [approx(10_000), approx(10_000)]
    assert col(res, "margin_ratio") == [approx(0.6), approx(0.63)]


def test_orders_by_notional_at_the_close_and_the_next_open():
    # notional 2,500 at the close 100 (fee 0.1%): 25 sh, fee 2.5, cash 10,000 - 2,500 - 2.5 = 7,497.5.
    # notional 1,200 placed at bar 0 in next_open mode fills at bar 1's open 120: 10 sh.
    data = bars(A=[(90, 105, 88, 100), (120, 125, 118, 122)])
    res = run(data, {0: lambda ctx: ctx.order("A", notional=2_500)}, fees=0.001)
    f = fills_of(res)
    assert f["qty"].tolist() == [approx(25)]
    assert f["fee"].tolist() == [approx(2.5)]
    assert col(res, "cash")[0] == approx(7_497.5)
    nxt = run(data, {0: lambda ctx: ctx.order("A", notional=1_200)}, execution="next_open")
    g = fills_of(nxt)
    assert g["qty"].tolist() == [approx(10)] and g["price"].tolist() == [approx(120)]
    assert g.loc[0, "timestamp"] == data.index[1]
    # a sell by notional: -1,220 at bar 1's close 122 sells 10 of the 25 held
    both = run(data, {0: lambda ctx: ctx.order("A", notional=2_500),
                      1: lambda ctx: ctx.order("A", notional=-1_220)})
    assert pos(both, "A") == [approx(25), approx(15)]


# ------------------------------------------------------------------------------------------------
# forced closes: delisting and end of data
# ------------------------------------------------------------------------------------------------
def test_delisting_closes_at_the_last_close():
    data = bars(A=[flat(100)] * 5, B=[flat(50), flat(55), flat(60), None, None])
    res = run(data, {0: lambda ctx: ctx.order("B", 10)}, fees=0.001)
    # bar 0: buy 10 B at 50; fee 0.5 -> cash 9,499.5; equity 9,999.5.
    # bar 1: equity 9,499.5 + 550 = 10,049.5.
    # bar 2: B's last bar (its data ends before the final bar): sold at its close 60, reason
    #        delisted; fee 0.6 -> cash 9,499.5 + 600 - 0.6 = 10,098.9; equity 10,098.9.
    # bars 3-4: flat, equity 10,098.9.
    assert pos(res, "B") == [approx(10), approx(10), 0.0, 0.0, 0.0]
    assert res.equity.tolist() == [approx(9_999.5), approx(10_049.5)] + [approx(10_098.9)] * 3
    f = fills_of(res, "B")
    assert str(f.loc[1, "reason"]) == "delisted"
    assert f.loc[1, "timestamp"] == data.index[2]
    assert float(f.loc[1, "price"]) == approx(60)
    ev = res.events[res.events["kind"].astype(str) == "delisted"]
    assert len(ev) == 1 and str(ev["symbol"].iloc[0]) == "B"


def test_end_of_data_closes_everything_at_the_last_close():
    data = bars(A=[flat(100), flat(120)], B=[flat(50), flat(40)])

    def step0(ctx):
        ctx.order("A", 10)
        ctx.order("B", 20)

    res = run(data, {0: step0}, fees=0.001, close_at_end=True)
    # bar 0: buy 10 A at 100 (fee 1) and 20 B at 50 (fee 1): cash 10,000 - 2,000 - 2 = 7,998.
    # bar 1 (last): both closed at the close, reason end_of_data: A 1,200 (fee 1.2), B 800
    #        (fee 0.8): cash 7,998 + 2,000 - 2 = 9,996; flat; equity 9,996.
    last = fills_of(res)
    last = last[last["timestamp"] == data.index[1]]
    assert sorted(last["reason"].astype(str)) == ["end_of_data", "end_of_data"]
    assert sorted(last["price"].tolist()) == [approx(40), approx(120)]
    assert pos(res, "A")[-1] == 0.0 and pos(res, "B")[-1] == 0.0
    assert col(res, "cash")[-1] == approx(9_996)
    assert res.equity.tolist() == [approx(9_998), approx(9_996)]
    assert col(res, "fees_paid")[-1] == approx(4.0)


# ------------------------------------------------------------------------------------------------
# the orders table keeps every order, whatever its fate
# ------------------------------------------------------------------------------------------------
def test_orders_table_lists_cancelled_and_open_orders():
    data = bars(A=[flat(100)] * 3)
    ids: dict[str, int] = {}

    def step0(ctx):
        ids["low"] = ctx.order("A", 1, limit=90.0)      # never reached
        ids["lower"] = ctx.order("A", 1, limit=80.0)    # never reached

    steps = {0: step0, 1: lambda ctx: ctx.cancel(ids["low"])}
    res = run(data, steps)
    # docs/contracts.md: orders has status filled | partially_filled | rejected | cancelled | open
    # | scaled; the limit cancelled at bar 1 and the one still resting at the end are both listed.
    orders = res.orders.set_index("order_id")
    missing = [name for name, oid in ids.items() if oid not in orders.index]
    assert not missing, f"orders {missing} (ids {ids}) are not in Result.orders"
    assert str(orders.loc[ids["low"], "status"]) == "cancelled"
    assert str(orders.loc[ids["lower"], "status"]) == "open"
    assert float(orders.loc[ids["lower"], "price"]) == approx(80)
    assert len(res.fills) == 0


@pytest.mark.parametrize("entry", ["backtest", "from_weights"])
def test_dust_target_does_not_break_the_books(entry):
    # a sub-normal target weight (1e-300 of 1,000 at price 10 = 1e-299 shares) must not crash the
    # run: it is either dropped or bought and closed at the end; either way the account ends flat
    # with its 1,000 (no costs).
    data = bars(A=[flat(10), flat(11), flat(12)])
    if entry == "backtest":
        res = run(data, {0: lambda ctx: ctx.target_weights({"A": 1e-300})}, cash=1_000.0,
                  close_at_end=True)
    else:
        w = pd.DataFrame({"A": [1e-300, np.nan, np.nan]}, index=data.index)
        res = mf.from_weights(pd.DataFrame({"A": data.close[:, 0]}, index=data.index), w,
                              cash=1_000.0, execution="close")
    assert pos(res, "A")[-1] == 0.0
    assert res.equity.iloc[-1] == approx(1_000)


# ------------------------------------------------------------------------------------------------
# more pinned rules: bracket timing in next_open mode, resting fills that do not fit, short weights
# ------------------------------------------------------------------------------------------------
def test_bracket_in_next_open_mode_is_live_on_the_entry_bar_after_the_open_fill():
    data = bars(A=[(99, 101, 98, 100), (100, 101, 90, 97), (97, 98, 94, 96), (96, 97, 95, 96)])
    res = run(data, {0: _bracket}, execution="next_open")
    # bar 0: decided at the close. bar 1: buy 10 at the open 100 -> cash 9,000; the pair is live for
    #        the rest of bar 1 (issue 15): its low 90 <= 95 (open 100 > 95) -> SL sells 10 at 95 on
    #        bar 1: cash 9,950; flat. (Before issue 15 the pair woke on bar 2 and filled there.)
    f = fills_of(res)
    assert [data.index.get_loc(t) for t in f["timestamp"]] == [1, 1]
    assert f["price"].tolist() == [approx(100), approx(95)]
    assert str(f.loc[1, "reason"]) == "stop_loss"
    assert col(res, "cash") == [approx(10_000), approx(9_950), approx(9_950), approx(9_950)]
    assert res.equity.tolist() == [approx(10_000), approx(9_950), approx(9_950), approx(9_950)]


@pytest.mark.parametrize("leverage,qty,reason", [
    (1.0, 200.0, "insufficient_cash"),      # cash account: 200 x 100 = 20,000 > 10,000 cash
    (2.0, 300.0, "insufficient_margin"),    # margin: 300 x 101 / 2 = 15,150 > equity 10,300
])
def test_resting_fill_that_does_not_fit_is_rejected(leverage, qty, reason):
    data = bars(A=[flat(105), (101, 102, 99, 100), flat(100)])
    res = run(data, {0: lambda ctx: ctx.order("A", qty, limit=100.0)}, leverage=leverage)
    # bar 1: the limit is touched (low 99 <= 100, open 101) but the fill would need more cash /
    # margin than there is: the order is rejected (not scaled), nothing changes.
    assert len(res.fills) == 0
    assert res.equity.tolist() == [approx(CASH)] * 3
    rejected = res.orders[res.orders["status"].astype(str) == "rejected"]
    assert rejected["reason"].astype(str).tolist() == [reason]


def test_from_weights_short_with_negative_weights():
    idx = pd.date_range("2024-03-04", periods=3, freq="D", tz="UTC")
    close = pd.DataFrame({"A": [10.0, 8.0, 9.0]}, index=idx)
    w = pd.DataFrame({"A": [-0.5, np.nan, 0.0]}, index=idx)
    res = mf.from_weights(close, w, cash=1_000.0, execution="close", allow_short=True,
                          close_at_end=False)
    # bar 0: V = 1,000; target -0.5 x 1,000 / 10 = -50 sh: cash 1,000 + 500 = 1,500; equity 1,000.
    # bar 1: equity 1,500 - 50 x 8 = 1,100.
    # bar 2: cover 50 at 9: cash 1,500 - 450 = 1,050; flat; equity 1,050.
    assert pos(res, "A") == [approx(-50), approx(-50), 0.0]
    assert col(res, "cash") == [approx(1_500), approx(1_500), approx(1_050)]
    assert res.equity.tolist() == [approx(1_000), approx(1_100), approx(1_050)]


def test_warm_up_bars_before_start_do_not_trade():
    # start = bar 2: bars 0-1 are warm-up (seen, never traded, not in the Result).
    data = bars(A=[flat(100), flat(100), flat(100), flat(110)])
    buy = lambda ctx: ctx.order("A", 1)      # noqa: E731 - one-line step
    res = run(data, {0: buy, 1: buy, 2: buy, 3: buy}, start=data.index[2])
    # bar 2: buy 1 at 100 -> cash 9,900, equity 10,000. bar 3: buy 1 at 110 -> cash 9,790;
    # 2 held; equity 9,790 + 220 = 10,010.
    assert list(res.equity.index) == list(data.index[2:])
    assert [data.index.get_loc(t) for t in res.fills["timestamp"]] == [2, 3]
    assert col(res, "cash") == [approx(9_900), approx(9_790)]
    assert res.equity.tolist() == [approx(10_000), approx(10_010)]
