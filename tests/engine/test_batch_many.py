"""The vectorised batch path: many orders cut in one call, interventions kept as columns and expanded
into one ``risk`` event per order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mf_testdata import script

import multifolio as mf
from multifolio.engine import codes as C
from multifolio.engine.batch import LimitBatch, OrderBatch
from multifolio.portfolio.risk import RiskRule


def _batch() -> OrderBatch:
    # A: market +4; B: notional 300 at 10 (+30); C: target qty 6 with 2 held (+4);
    # D: target weight 0.5 of 1000 at 20 with 5 held (+20)
    return OrderBatch(np.array([0, 1, 2, 3]), np.array([C.MARKET, C.NOTIONAL, C.TARGET_QTY, C.TARGET_WEIGHT]),
                      np.array([4.0, 300.0, 6.0, 0.5]), np.arange(4), np.zeros(4, dtype=np.int64),
                      ["A", "B", "C", "D"], held=np.array([0.0, 0.0, 2.0, 5.0]),
                      price=np.array([10.0, 10.0, 10.0, 20.0]), equity=1000.0)


def test_scale_many_rewrites_each_kind_and_logs_one_block() -> None:
    b = _batch()
    assert b.requested().tolist() == [4.0, 30.0, 4.0, 20.0]
    b.scale_many(np.arange(4), np.array([0.5, 0.5, 0.25, 0.0]), rule="r", reason="x", figure=7.0,
                 per=np.array([1.0, 2.0, 3.0, 4.0]))
    assert b.requested().tolist() == [2.0, 15.0, 1.0, 20.0]      # the dropped order keeps its request
    assert b.keep.tolist() == [True, True, True, False]
    # market: the quantity; notional: scaled; target qty: held + allowed; weight: (held + allowed) p / E
    assert b.value[:3].tolist() == [2.0, 150.0, 3.0]
    assert len(b.log) == 1
    rows = list(b.log[0].rows())
    assert [s for s, _ in rows] == ["A", "B", "C", "D"]
    assert [(d["requested_qty"], d["allowed_qty"], d["factor"], d["per"], d["figure"]) for _, d in rows] == [
        (4.0, 2.0, 0.5, 1.0, 7.0), (30.0, 15.0, 0.5, 2.0, 7.0), (4.0, 1.0, 0.25, 3.0, 7.0),
        (20.0, 0.0, 0.0, 4.0, 7.0)]
    assert b.interventions[0] == {"symbol": "A", "rule": "r", "requested_qty": 4.0, "allowed_qty": 2.0,
                                  "reason": "x", "factor": 0.5, "figure": 7.0, "per": 1.0}


def test_set_qty_many_logs_only_the_orders_it_changes_with_their_figures() -> None:
    b = _batch()
    b.set_qty_many(np.array([0, 2]), np.array([4.0, 1.0]), rule="r", reason="x", c=np.array([9.0, 8.0]))
    [(sym, d)] = list(b.log[0].rows())
    assert (sym, d["allowed_qty"], d["c"]) == ("C", 1.0, 8.0)
    b.set_qty_many(np.array([1]), np.array([30.0]), rule="r", reason="x")   # no change: no block
    assert len(b.log) == 1


@pytest.mark.parametrize("qty, match", [([5.0], "may only cut"), ([-1.0], "may only cut"),
                                        ([np.nan], "finite")])
def test_set_qty_many_refuses_anything_but_a_cut_and_changes_nothing(qty, match) -> None:
    b = _batch()
    with pytest.raises(ValueError, match=match):
        b.set_qty_many(np.array([1, 0]), np.array([10.0, *qty]), rule="r", reason="x")
    assert b.requested().tolist() == [4.0, 30.0, 4.0, 20.0] and b.log == []


def test_set_qty_many_refuses_an_order_twice() -> None:
    with pytest.raises(ValueError, match="twice"):
        _batch().set_qty_many(np.array([1, 1]), np.array([1.0, 2.0]), rule="r", reason="x")


def test_limit_batch_opening_uses_up_the_position_in_call_order() -> None:
    # 2 A held: the sells of 1, 1.5 and 1 close 1, then 1 (0.5 opens), then open 1; B's buy opens
    b = LimitBatch(np.array([0, 0, 0, 1]), np.array([-1.0, -1.5, -1.0, 3.0]),
                   np.array([11.0, 12.0, 13.0, 5.0]), np.full(4, C.LIMIT), ["A", "B"],
                   held=np.array([2.0, 2.0, 2.0, 0.0]))
    assert b.opening.tolist() == [0.0, -0.5, -1.0, 3.0]
    b.drop_many(np.array([0]), rule="r", reason="x")
    assert b.opening.tolist() == [0.0, 0.0, -0.5, 3.0]              # a dropped order uses none


class _Screen(RiskRule):
    name = "screen"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def pre_trade(self, view, batch) -> None:
        self.calls.append(int(view.bar))


class _Watch(_Screen):
    def on_bar(self, ctx) -> None:
        self.calls.append(-int(ctx.bar))


def test_only_rules_that_watch_bars_make_every_bar_a_python_bar() -> None:
    idx = np.arange(6)
    md = mf.MarketData.from_frames(pd.DataFrame(
        {"A": np.full(6, 10.0)}, index=pd.date_range("2024-01-01", periods=6, freq="D", tz="UTC")))
    steps = {2: lambda ctx: ctx.order("A", 1.0), 4: lambda ctx: ctx.order("A", 1.0)}
    screen, watch = _Screen(), _Watch()
    assert not screen.watches_bars and watch.watches_bars
    mf.backtest(md, script(steps), risk=[screen], execution="close")
    mf.backtest(md, script(steps), risk=[watch], execution="close")
    assert screen.calls == [2, 4]
    assert [c for c in watch.calls if c <= 0] == [-int(t) for t in idx]
