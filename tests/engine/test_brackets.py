"""Brackets, exactly (issue 15): when a stop-loss / take-profit is live, where it fills, how it moves.

Hand-computed ledgers; the arithmetic is in the comments. One cash account of 10,000, no costs,
``execution="next_open"`` (an order decided at the close of bar t fills at the open of t+1),
``close_at_end=False``. Bars are (open, high, low, close).

Rules pinned here:
- a market entry filled at a bar's open has its SL/TP live for the rest of that bar;
- a bar that opens beyond a level fills at the open (an entry gapping past its TP closes at the open
  of its own fill bar); a level the bar opened beyond fills before any level touched inside the bar;
- a bar touching both levels inside the bar fills the stop (the conservative choice);
- an entry filled inside a bar (limit/stop) gets its bracket from the next bar;
- trailing / break-even stops move after each bar from the bar's best price, and only tighten.
"""

from __future__ import annotations

import pytest
from test_hand_cases import approx, bars, col, fills_of, pos, run

import multifolio as mf

ENTRY = {}


def _buy(**kw):
    def step(ctx):
        ENTRY["id"] = ctx.order("A", 10, **kw)
    return step


def _bars_of(res, data, f):
    return [data.index.get_loc(t) for t in f["timestamp"]]


def _equity_is_cash_plus_positions(res, data):
    close = data.close[:, 0]
    want = [c + q * p for c, q, p in zip(col(res, "cash"), pos(res, "A"), close, strict=True)]
    assert res.equity.tolist() == [approx(x) for x in want]


def test_same_bar_stop_out_after_a_market_entry_at_the_open():
    data = bars(A=[(99, 101, 98, 100), (100, 103, 94, 97), (97, 98, 96, 97)])
    res = run(data, {0: _buy(stop_loss=95.0, take_profit=110.0)}, execution="next_open")
    # bar 1: buy 10 at the open 100 (cash 9,000); the SL is live on bar 1: low 94 <= 95 < open 100
    #        -> sell 10 at 95: cash 9,950, flat. The trade: 10 x (95 - 100) = -50.
    f = fills_of(res)
    assert _bars_of(res, data, f) == [1, 1]
    assert f["price"].tolist() == [approx(100), approx(95)]
    assert f["reason"].astype(str).tolist() == ["signal", "stop_loss"]
    assert col(res, "cash") == [approx(10_000), approx(9_950), approx(9_950)]
    assert res.trades["pnl"].tolist() == [approx(-50)]
    assert res.trades["exit_reason"].astype(str).tolist() == ["stop_loss"]
    _equity_is_cash_plus_positions(res, data)


def test_a_gap_through_the_stop_fills_at_the_open():
    data = bars(A=[(99, 101, 98, 100), (100, 102, 99, 101), (90, 92, 88, 91)])
    res = run(data, {0: _buy(stop_loss=95.0)}, execution="next_open")
    # bar 1: buy 10 at 100; range 99..102 does not reach 95. bar 2 opens at 90, below the stop:
    #        sell 10 at the open 90 (not at 95): cash 9,000 + 900 = 9,900.
    f = fills_of(res)
    assert _bars_of(res, data, f) == [1, 2]
    assert f["price"].tolist() == [approx(100), approx(90)]
    assert col(res, "cash") == [approx(10_000), approx(9_000), approx(9_900)]
    assert res.trades["pnl"].tolist() == [approx(-100)]
    _equity_is_cash_plus_positions(res, data)


def test_an_entry_gapping_past_its_take_profit_closes_at_the_open_of_its_fill_bar():
    data = bars(A=[(99, 101, 98, 100), (112, 114, 111, 113), (113, 113, 113, 113)])
    res = run(data, {0: _buy(stop_loss=95.0, take_profit=110.0)}, execution="next_open")
    # bar 1 opens at 112: buy 10 at 112 (cash 10,000 - 1,120 = 8,880); the TP sell limit at 110 is
    #        live and the bar opened beyond it -> sell 10 at the open 112: cash 10,000, flat, pnl 0.
    f = fills_of(res)
    assert _bars_of(res, data, f) == [1, 1]
    assert f["price"].tolist() == [approx(112), approx(112)]
    assert f["reason"].astype(str).tolist() == ["signal", "take_profit"]
    assert col(res, "cash") == [approx(10_000)] * 3
    assert pos(res, "A") == [0.0, 0.0, 0.0]
    assert res.trades["pnl"].tolist() == [approx(0)]
    assert res.trades["exit_reason"].astype(str).tolist() == ["take_profit"]


def test_both_levels_inside_one_bar_fill_the_stop():
    data = bars(A=[(99, 101, 98, 100), (100, 112, 93, 105), (105, 105, 105, 105)])
    res = run(data, {0: _buy(stop_loss=95.0, take_profit=110.0)}, execution="next_open")
    # bar 1: buy 10 at 100; high 112 >= 110 and low 93 <= 95, both inside the bar: the SL at 95.
    f = fills_of(res)
    assert f["price"].tolist() == [approx(100), approx(95)]
    assert f["reason"].astype(str).tolist() == ["signal", "stop_loss"]
    assert col(res, "cash")[-1] == approx(9_950)


def test_a_level_the_bar_opened_beyond_fills_before_one_touched_inside_it():
    data = bars(A=[(99, 101, 98, 100), (100, 101, 99, 100), (112, 113, 90, 95)])
    res = run(data, {0: _buy(stop_loss=95.0, take_profit=110.0)}, execution="next_open")
    # bar 2 opens at 112, beyond the TP (110): the TP fills at the open 112, its first price; the
    #        low 90 comes later (the SL, its OCO sibling, is cancelled). cash 9,000 + 1,120 = 10,120.
    f = fills_of(res)
    assert _bars_of(res, data, f) == [1, 2]
    assert f["price"].tolist() == [approx(100), approx(112)]
    assert f["reason"].astype(str).tolist() == ["signal", "take_profit"]
    assert col(res, "cash")[-1] == approx(10_120)


def test_an_entry_filled_inside_a_bar_gets_its_bracket_from_the_next_bar():
    data = bars(A=[(99, 101, 98, 100), (100, 101, 90, 93), (95.5, 96, 94, 95)])
    res = run(data, {0: lambda ctx: ctx.order("A", 10, limit=98.0, stop_loss=95.0)},
              execution="next_open")
    # bar 1: the limit buy fills inside the bar at 98 (cash 9,020). Its low 90 is below the SL, but
    #        whether it came before or after the fill is unknown: the SL is live from bar 2.
    # bar 2: open 95.5 > 95, low 94 <= 95 -> sell 10 at 95: cash 9,020 + 950 = 9,970.
    f = fills_of(res)
    assert _bars_of(res, data, f) == [1, 2]
    assert f["price"].tolist() == [approx(98), approx(95)]
    assert col(res, "cash") == [approx(10_000), approx(9_020), approx(9_970)]
    assert pos(res, "A") == [0.0, approx(10), 0.0]
    _equity_is_cash_plus_positions(res, data)


TRAIL_BARS = [(99, 101, 98, 100), (100, 104, 99, 103), (103, 108, 101, 107), (107, 107, 102, 104),
              (104, 104, 104, 104)]


def test_a_trailing_stop_ratchets_and_fills():
    data = bars(A=TRAIL_BARS)
    res = run(data, {0: _buy(trailing_stop=5.0)}, execution="next_open")
    # bar 1: buy 10 at 100 -> stop 100 - 5 = 95 (live on bar 1: low 99 > 95). After the bar: best
    #        104 -> stop 99.  bar 2: low 101 > 99; best 108 -> stop 103.
    # bar 3: open 107 > 103, low 102 <= 103 -> sell 10 at 103: pnl 10 x 3 = 30; cash 10,030.
    f = fills_of(res)
    assert _bars_of(res, data, f) == [1, 3]
    assert f["price"].tolist() == [approx(100), approx(103)]
    assert f["reason"].astype(str).tolist() == ["signal", "stop_loss"]
    assert res.trades["pnl"].tolist() == [approx(30)]
    assert col(res, "cash")[-1] == approx(10_030)
    _equity_is_cash_plus_positions(res, data)


def test_a_trailing_pct_stop_ratchets_and_fills():
    data = bars(A=TRAIL_BARS)
    res = run(data, {0: _buy(trailing_pct=0.05)}, execution="next_open")
    # stop 95 -> after bar 1: 104 x 0.95 = 98.8 -> after bar 2: 108 x 0.95 = 102.6;
    # bar 3: low 102 <= 102.6 < open 107 -> sell 10 at 102.6: pnl 26.
    f = fills_of(res)
    assert f["price"].tolist() == [approx(100), approx(102.6)]
    assert res.trades["pnl"].tolist() == [approx(26)]


def test_a_trailing_stop_never_loosens_and_protects_a_short():
    data = bars(A=[(101, 102, 100, 100), (100, 101, 96, 97), (97, 99.5, 95, 99), (99, 100, 98, 99)])

    def short(ctx):
        ctx.order("A", -10, stop_loss=104.0, trailing_stop=3.0)

    res = run(data, {0: short}, execution="next_open", allow_short=True)
    # bar 1: sell 10 at 100 (cash 11,000); stop = tighter of 104 and 100 + 3 = 103; high 101 < 103.
    #        After: best (lowest) 96 -> stop 99.  bar 2: high 99.5 >= 99, open 97 < 99 -> buy 10 at
    #        99: pnl 10 x (100 - 99) = 10; cash 11,000 - 990 = 10,010.
    f = fills_of(res)
    assert _bars_of(res, data, f) == [1, 2]
    assert f["qty"].tolist() == [approx(-10), approx(10)]
    assert f["price"].tolist() == [approx(100), approx(99)]
    assert res.trades["pnl"].tolist() == [approx(10)]
    assert col(res, "cash")[-1] == approx(10_010)


def test_break_even_moves_the_stop_to_the_entry():
    data = bars(A=[(99, 101, 98, 100), (100, 104.5, 99, 103), (103, 103.5, 99.5, 100),
                   (100, 100, 100, 100)])
    res = run(data, {0: _buy(stop_loss=95.0, break_even=4.0, break_even_offset=0.5)},
              execution="next_open")
    # bar 1: buy 10 at 100, stop 95. After: best 104.5 is 4.5 >= 4 in profit -> stop to 100 + 0.5.
    # bar 2: low 99.5 <= 100.5 < open 103 -> sell 10 at 100.5: pnl 5; cash 10,005.
    f = fills_of(res)
    assert _bars_of(res, data, f) == [1, 2]
    assert f["price"].tolist() == [approx(100), approx(100.5)]
    assert res.trades["pnl"].tolist() == [approx(5)]


def test_modify_a_live_bracket():
    data = bars(A=[(99, 101, 98, 100), (100, 104, 99, 103), (103, 104, 100, 102), (102, 103, 101, 102)])

    def move(ctx):
        ctx.modify(ENTRY["id"], stop_loss=101.0)          # the entry's SL child: 95 -> 101

    res = run(data, {0: _buy(stop_loss=95.0, take_profit=120.0), 1: move}, execution="next_open")
    # bar 1: buy 10 at 100; at its close the SL moves to 101 (from bar 2).
    # bar 2: low 100 <= 101 < open 103 -> sell 10 at 101: pnl 10; cash 10,010. The TP is cancelled.
    f = fills_of(res)
    assert _bars_of(res, data, f) == [1, 2]
    assert f["price"].tolist() == [approx(100), approx(101)]
    assert col(res, "cash")[-1] == approx(10_010)
    assert col(res, "n_open_orders")[-1] == 0


def test_modify_a_child_by_its_id_and_refuse_dead_orders():
    data = bars(A=[(99, 101, 98, 100), (100, 104, 99, 103), (103, 106, 102, 105), (105, 105, 105, 105)])
    seen = {}

    def move(ctx):
        tp = ctx.bracket(ENTRY["id"])["take_profit"]
        seen["children"] = ctx.bracket(ENTRY["id"])
        ctx.modify(tp, price=105.5)                       # TP 120 -> 105.5

    def too_late(ctx):
        with pytest.raises(ValueError, match="not live"):
            ctx.modify(seen["children"]["take_profit"], price=110.0)
        with pytest.raises(ValueError, match="no take_profit"):
            ctx.modify(ctx.order("A", 1, stop_loss=90.0), take_profit=110.0)
        seen["checked"] = True

    res = run(data, {0: _buy(stop_loss=95.0, take_profit=120.0), 1: move, 2: too_late},
              execution="next_open")
    # bar 2: high 106 >= 105.5 > open 103 -> sell 10 at 105.5: pnl 55.
    assert seen["checked"] and seen["children"]["stop_loss"] is not None
    f = fills_of(res)
    assert f["price"].tolist()[:2] == [approx(100), approx(105.5)]
    assert f["reason"].astype(str).tolist()[:2] == ["signal", "take_profit"]


def test_close_mode_brackets_start_on_the_next_bar():
    # execution="close": the entry fills at bar 0's close; bar 0's low 90 is before the fill.
    data = bars(A=[(100, 101, 90, 100), (100, 101, 94, 100)])
    res = mf.backtest(data, _script({0: _buy(stop_loss=95.0)}), cash=10_000.0, execution="close",
                      close_at_end=False)
    f = fills_of(res)
    assert _bars_of(res, data, f) == [0, 1]
    assert f["price"].tolist() == [approx(100), approx(95)]


def _script(steps):
    from mf_testdata import script
    return script(steps)


@pytest.mark.parametrize("kw,match", [
    ({"trailing_stop": 1.0, "trailing_pct": 0.1}, "not both"),
    ({"trailing_stop": -1.0}, "trailing_stop"),
    ({"trailing_pct": 1.5}, "trailing_pct"),
    ({"break_even": 0.0}, "break_even"),
])
def test_bad_stop_moves_are_refused(kw, match):
    data = bars(A=[(100, 100, 100, 100), (100, 100, 100, 100)])
    with pytest.raises(ValueError, match=match):
        run(data, {0: _buy(**kw)}, execution="next_open")
