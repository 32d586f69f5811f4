"""Bad arguments raise ``ValueError`` naming the argument, and the symbol and timestamp where they apply.

Covers both entry points (``from_weights`` and ``backtest``) and the order verbs of the Strategy
context: weights with unknown symbols or another index, negative cash, leverage <= 0, an unknown
execution mode, NaN / non-positive / infinite prices where an order must fill, and negative weights
without ``allow_short``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from mf_testdata import script

import multifolio as mf

IDX = pd.date_range("2024-03-04", periods=4, freq="D", tz="UTC")
DAY = {t: str(IDX[t].date()) for t in range(len(IDX))}        # "2024-03-05" for bar 1, ...


def naming(*parts: str) -> str:
    """A regex matching a message that contains every part (any order, literally)."""
    return "".join(f"(?=.*{re.escape(p)})" for p in parts)


def raises(*parts: str):
    """``pytest.raises(ValueError)`` whose message must name every part."""
    return pytest.raises(ValueError, match=re.compile(naming(*parts), re.S))


def close_frame() -> pd.DataFrame:
    return pd.DataFrame({"A": [10.0, 11.0, 12.0, 13.0], "B": [20.0, 21.0, 22.0, 23.0]}, index=IDX)


def weights_frame() -> pd.DataFrame:
    return pd.DataFrame({"A": [0.5, 0.4, 0.5, 0.4], "B": [0.5, 0.6, 0.5, 0.6]}, index=IDX)


def market(close: pd.DataFrame, open_: pd.DataFrame | None = None) -> mf.MarketData:
    return mf.MarketData.from_frames(close, open=open_)


# ------------------------------------------------------------------------------------------------
# from_weights
# ------------------------------------------------------------------------------------------------
def test_weights_with_unknown_symbol():
    w = weights_frame().assign(ZZZ=0.0)
    with raises("weights", "ZZZ"):
        mf.from_weights(close_frame(), w)


@pytest.mark.parametrize("make", [
    lambda w: w.set_axis(w.index + pd.Timedelta(hours=1)),       # same length, other timestamps
    lambda w: w.iloc[:3],                                         # fewer rows
    lambda w: w.set_axis(pd.RangeIndex(4)),                       # not timestamps at all
], ids=["shifted", "shorter", "range_index"])
def test_weights_with_another_index(make):
    with raises("weights"):
        mf.from_weights(close_frame(), make(weights_frame()))


@pytest.mark.parametrize("cash", [-1.0, 0.0, float("nan"), float("inf")])
def test_bad_cash(cash):
    with raises("cash"):
        mf.from_weights(close_frame(), weights_frame(), cash=cash)


@pytest.mark.parametrize("leverage,parts", [
    (0.0, ("leverage",)),
    (-2.0, ("leverage",)),
    ({"B": 0.0}, ("leverage", "B")),
], ids=["zero", "negative", "per_asset_zero"])
def test_leverage_not_positive(leverage, parts):
    with raises(*parts):
        mf.from_weights(close_frame(), weights_frame(), leverage=leverage)


@pytest.mark.parametrize("execution", ["open", "next_close", "", None])
def test_unknown_execution_mode(execution):
    with raises("execution"):
        mf.from_weights(close_frame(), weights_frame(), execution=execution)


@pytest.mark.parametrize("bad", [0.0, -5.0, float("inf")], ids=["zero", "negative", "inf"])
@pytest.mark.parametrize("execution", ["close", "next_open"])
def test_from_weights_bad_price_where_an_order_fills(bad, execution):
    # A's price at bar 2 is broken; weights ask for A at every bar, so an order fills there
    # (close mode: the close of 2; next_open without open prices: the next bar's close, i.e. bar 2
    # executes the row of bar 1).
    close = close_frame()
    close.iloc[2, 0] = bad
    with raises("close", "'A'", DAY[2]):
        mf.from_weights(close, weights_frame(), execution=execution)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf")], ids=["zero", "negative", "inf"])
def test_from_weights_bad_open_price(bad):
    open_ = close_frame() - 0.5
    open_.iloc[1, 1] = bad
    with raises("open", "'B'", DAY[1]):
        mf.from_weights(close_frame(), weights_frame(), open=open_)


def test_from_weights_nan_price_is_no_bar_not_an_error():
    # NaN = no bar: the order for A at bar 2 is dropped (reason no_price), not an error
    close = close_frame()
    close.iloc[2, 0] = np.nan
    res = mf.from_weights(close, weights_frame(), execution="close", close_at_end=False)
    dropped = res.orders[(res.orders["symbol"] == "A")
                         & (res.orders["reason"].astype(str) == "no_price")]
    assert list(dropped["timestamp"]) == [IDX[2]]


def test_negative_weights_without_allow_short():
    w = weights_frame()
    w.iloc[1, 1] = -0.2
    with raises("weights", "'B'", DAY[1], "allow_short"):
        mf.from_weights(close_frame(), w)


@pytest.mark.parametrize("name,value,parts", [
    ("fees", -0.001, ("fees",)),
    ("fees", {"ZZZ": 0.001}, ("fees", "ZZZ")),
    ("slippage", 1.5, ("slippage",)),
    ("fixed_fees", {"A": -1.0}, ("fixed_fees", "A")),
    ("min_notional", -1.0, ("min_notional",)),
    ("qty_step", {"B": float("nan")}, ("qty_step", "B")),
    ("maintenance_margin", 1.5, ("maintenance_margin",)),
])
def test_bad_costs_and_rules(name, value, parts):
    with raises(*parts):
        mf.from_weights(close_frame(), weights_frame(), **{name: value})


# ------------------------------------------------------------------------------------------------
# backtest and the Strategy verbs
# ------------------------------------------------------------------------------------------------
def _buy_a(ctx):
    ctx.order("A", 1.0)


@pytest.mark.parametrize("name,value", [
    ("cash", -100.0), ("cash", 0.0), ("leverage", 0.0), ("leverage", -1.0),
    ("execution", "at_open"), ("execution", "nextopen"),
])
def test_backtest_bad_settings(name, value):
    with raises(name):
        mf.backtest(market(close_frame()), script({0: _buy_a}), **{name: value})


@pytest.mark.parametrize("bad", [0.0, -5.0, float("inf")], ids=["zero", "negative", "inf"])
def test_backtest_bad_close_where_an_order_fills(bad):
    # close mode: the market order placed at bar 2 fills at A's close of bar 2, which is broken
    # (open, high and low are sound, so only the close can be blamed)
    good = close_frame()
    close = good.copy()
    close.iloc[2, 0] = bad
    with raises("close", "'A'", DAY[2]):     # from the data check or from the engine
        data = mf.MarketData.from_frames(close, open=good, high=good + 1.0, low=good - 1.0)
        mf.backtest(data, script({2: _buy_a}), execution="close")


@pytest.mark.parametrize("bad", [0.0, -5.0, float("inf")], ids=["zero", "negative", "inf"])
def test_backtest_bad_price_in_a_close_only_frame(bad):
    # only a close frame is given (open/high/low default to it): the error names the close
    close = close_frame()
    close.iloc[2, 0] = bad
    with raises("close", "'A'", DAY[2]):
        mf.backtest(close, script({2: _buy_a}), execution="close")


@pytest.mark.parametrize("bad", [0.0, -5.0, float("inf")], ids=["zero", "negative", "inf"])
def test_backtest_bad_open_where_an_order_fills(bad):
    # next_open: the order decided at bar 1 fills at A's open of bar 2, which is broken
    close = close_frame()
    open_ = close - 0.5
    open_.iloc[2, 0] = bad
    with raises("open", "'A'", DAY[2]):
        mf.backtest(market(close, open_), script({1: _buy_a}), execution="next_open")


@pytest.mark.parametrize("field", ["limit", "stop", "stop_loss", "take_profit"])
@pytest.mark.parametrize("price", [float("nan"), 0.0, -3.0, float("inf")],
                         ids=["nan", "zero", "negative", "inf"])
def test_order_with_bad_price_level(field, price):
    # a resting order (or bracket exit) must be able to fill at its level
    def step(ctx):
        ctx.order("A", 1.0, **{field: price})

    with raises(field):
        mf.backtest(market(close_frame()), script({0: step}), execution="close")


@pytest.mark.parametrize("price", [float("nan"), 0.0, -1.0, float("inf")],
                         ids=["nan", "zero", "negative", "inf"])
def test_place_limits_with_bad_price(price):
    def step(ctx):
        ctx.place_limits(np.array([0, 1]), np.array([1.0, 1.0]), np.array([9.5, price]))

    with raises("price"):
        mf.backtest(market(close_frame()), script({0: step}), execution="close")


@pytest.mark.parametrize("qty", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_order_with_bad_quantity(qty):
    def step(ctx):
        ctx.order("A", qty)

    with raises("quantity"):
        mf.backtest(market(close_frame()), script({0: step}), execution="close")


def test_order_for_unknown_symbol():
    def step(ctx):
        ctx.order("ZZZ", 1.0)

    with raises("ZZZ"):
        mf.backtest(market(close_frame()), script({0: step}))


@pytest.mark.parametrize("form", ["dict", "array"])
def test_negative_target_weight_in_a_cash_account(form):
    def step(ctx):
        if form == "dict":
            ctx.target_weights({"A": 0.5, "B": -0.25})
        else:
            ctx.target_weights(np.array([0.5, -0.25]))

    with raises("'B'", DAY[1], "allow_short"):
        mf.backtest(market(close_frame()), script({1: step}), execution="close")


def test_target_weights_of_the_wrong_length():
    def step(ctx):
        ctx.target_weights(np.array([0.5, 0.25, 0.25]))

    with raises("target_weights"):
        mf.backtest(market(close_frame()), script({0: step}))


def test_negative_target_weight_allowed_with_allow_short():
    # the same order is fine in a margin account with shorting on: B is shorted at the close of 1
    def step(ctx):
        ctx.target_weights({"A": 0.5, "B": -0.25})

    res = mf.backtest(market(close_frame()), script({1: step}), execution="close",
                      allow_short=True, close_at_end=False)
    # V = 1,000,000 at bar 1: B target -0.25 x 1,000,000 / 21 sh
    assert float(res.positions["B"].iloc[1]) == pytest.approx(-250_000 / 21, rel=1e-12)


@pytest.mark.parametrize("verb, form", [("target_weights", "dict"), ("target_weights", "array"),
                                        ("target_qty", "dict"), ("target_qty", "array")])
@pytest.mark.parametrize("value", [float("inf"), float("-inf")], ids=["inf", "-inf"])
def test_infinite_targets_are_refused_in_both_forms(verb, form, value):
    def step(ctx):
        targets = {"A": 0.25, "B": value} if form == "dict" else np.array([0.25, value])
        getattr(ctx, verb)(targets)

    with raises(verb, "infinite", "'B'"):
        mf.backtest(market(close_frame()), script({1: step}), allow_short=True)


def test_non_numeric_target_names_the_symbol():
    def step(ctx):
        ctx.target_weights({"A": 0.25, "B": "half"})

    with raises("target_weights", "'half'", "'B'", "not a number"):
        mf.backtest(market(close_frame()), script({1: step}))


@pytest.mark.parametrize("arg", ["close", "weights", "open"])
def test_from_weights_non_numeric_cell_names_argument_symbol_and_time(arg):
    frames = {"close": close_frame(), "weights": weights_frame(), "open": close_frame()}
    bad = frames[arg].astype(object)
    bad.loc[IDX[2], "B"] = "x"
    frames[arg] = bad
    with raises(arg, "'x'", "'B'", DAY[2], "not a number"):
        mf.from_weights(frames["close"], frames["weights"], open=frames["open"])


def test_from_weights_open_with_another_index():
    shifted = close_frame().set_axis(IDX + pd.Timedelta(days=9))
    with raises("open index", "close"):
        mf.from_weights(close_frame(), weights_frame(), open=shifted)
