"""Instrument specs (issue 15): contract size, lots, price tick, minimum notional, margin rate, quote
currency converted into the account's at each bar's rate. Hand-computed ledgers.

Conventions checked here: notional = qty x contract size x price (x the bar's conversion rate for a
foreign quote); an open position's notional sits in cash at its average price and the bar's rate, so
equity = cash + sum qty x contract size x close x rate at every bar, and the PnL of a trade is qty x
contract size x (exit - entry) converted at the exit bar's rate (a CFD's or FX pair's PnL).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_hand_cases import approx, bars, col, flat, run

import multifolio as mf


def jpy_market():
    # USDJPY 150, 150, 160, 160; a JPY index CFD 40,000 -> 40,400
    return bars(JP225=[flat(40_000), flat(40_000), flat(40_400), flat(40_400)],
                USDJPY=[flat(150), flat(150), flat(160), flat(160)])


def test_a_jpy_quoted_cfd_converts_pnl_margin_and_fees_at_the_bar_usdjpy():
    data = jpy_market()
    res = run(data, {0: lambda ctx: ctx.order("JP225", 2), 3: lambda ctx: ctx.close_position("JP225")},
              cash=10_000.0, leverage=20.0, fees=0.001,
              instruments={"JP225": {"quote_currency": "JPY"}})
    f = res.fills
    # entry: 2 x 40,000 JPY / 150 = 533.33 USD notional, fee 0.1% = 0.5333 USD
    assert f["qty"].tolist() == [2.0, -2.0]
    assert f["fee"].tolist() == [approx(0.001 * 80_000 / 150), approx(0.001 * 80_800 / 160)]
    # exit at bar 3 (USDJPY 160): PnL = 2 x (40,400 - 40,000) JPY / 160 = 5 USD
    assert f["realized_pnl"].tolist() == [0.0, approx(800 / 160)]
    tr = res.trades
    assert tr["pnl"].tolist() == [approx(800 / 160 - 0.001 * 80_000 / 150 - 0.001 * 80_800 / 160)]
    eq = res.equity.tolist()
    fee0 = 0.001 * 80_000 / 150
    # bar 1: no move; bar 2: the CFD is up 800 JPY = 5 USD at 160 (the notional itself is not exposed)
    assert eq[:3] == [approx(10_000 - fee0), approx(10_000 - fee0), approx(10_000 - fee0 + 5)]
    assert eq[3] == approx(10_000 - fee0 + 5 - 0.001 * 80_800 / 160)
    # margin: 2 x 40,000 / 150 / 20 on bars 0-1, 2 x 40,400 / 160 / 20 on bar 2
    assert col(res, "margin_used")[:3] == [approx(80_000 / 150 / 20)] * 2 + [approx(80_800 / 160 / 20)]
    assert col(res, "gross_exposure")[2] == approx(80_800 / 160)
    # the invariant: equity = cash + sum qty x contract size x close x rate, every bar
    rate = 1.0 / data.close[:, 1]
    value = res.positions["JP225"].to_numpy() * data.close[:, 0] * rate
    np.testing.assert_allclose(res.equity.to_numpy(), col(res, "cash") + value, rtol=0, atol=1e-9)


def test_a_usdjpy_trade_pnl_in_usd_is_converted_by_its_own_close():
    # USDJPY quoted in JPY: buy 100,000 USD (1 lot) at 150, sell at 151 -> 100,000 JPY = 662.25 USD
    data = bars(USDJPY=[flat(150), flat(150.5), flat(151)])
    res = run(data, {0: lambda ctx: ctx.order("USDJPY", 1), 2: lambda ctx: ctx.close_position("USDJPY")},
              cash=10_000.0, leverage=30.0,
              instruments={"USDJPY": {"contract_size": 100_000, "qty_step": 0.01, "quote_currency": "JPY"}})
    assert res.fills["realized_pnl"].tolist() == [0.0, approx(100_000 / 151)]
    assert res.equity.tolist() == [approx(10_000), approx(10_000 + 50_000 / 150.5),
                                   approx(10_000 + 100_000 / 151)]
    assert res.trades["pnl"].tolist() == [approx(100_000 / 151)]


def test_eurgbp_in_a_usd_account_multiplies_by_gbpusd():
    data = bars(EURGBP=[flat(0.85), flat(0.86)], GBPUSD=[flat(1.25), flat(1.30)])
    res = run(data, {0: lambda ctx: ctx.order("EURGBP", 0.5)}, cash=5_000.0, leverage=30.0,
              instruments={"EURGBP": {"contract_size": 100_000, "quote_currency": "GBP"}})
    # 50,000 EUR bought at 0.85: +0.01 GBP x 50,000 = 500 GBP x 1.30 = 650 USD at bar 1
    assert res.equity.tolist() == [approx(5_000), approx(5_650)]
    assert col(res, "margin_used") == [approx(50_000 * 0.85 * 1.25 / 30), approx(50_000 * 0.86 * 1.30 / 30)]


def test_contract_size_100k_lots_with_a_qty_step_of_0_01():
    data = bars(EURUSD=[flat(1.1000), flat(1.1050), flat(1.1050)])

    def enter(ctx):
        ctx.order("EURUSD", 0.257)                  # 0.25 lots
        ctx.order("EURUSD", notional=55_000.0)      # 55,000 / (100,000 x 1.1) = 0.5 lots

    res = run(data, {0: enter}, cash=10_000.0,
              instruments={"EURUSD": {"contract_size": 100_000, "qty_step": 0.01, "leverage": 30}})
    assert res.fills["qty"].tolist() == [approx(0.25), approx(0.5)]
    # 0.75 lots x 100,000 x 1.1 = 82,500 of notional on 30:1 -> 2,750 margin
    assert col(res, "margin_used")[0] == approx(2_750)
    assert col(res, "gross_exposure")[0] == approx(82_500)
    # +50 pips x 75,000 EUR = 375 USD
    assert res.equity.tolist() == [approx(10_000), approx(10_375), approx(10_375)]
    assert res.info.account.instruments == {"EURUSD": {"contract_size": 100_000.0, "qty_step": 0.01,
                                                       "leverage": 30.0}}


def test_target_weights_size_in_lots_of_the_contract():
    data = bars(EURUSD=[flat(1.25), flat(1.25)])
    res = run(data, {0: lambda ctx: ctx.target_weights({"EURUSD": 2.0})}, cash=10_000.0,
              instruments={"EURUSD": {"contract_size": 100_000, "qty_step": 0.01, "margin_rate": 0.05}})
    # 2 x 10,000 / (100,000 x 1.25) = 0.16 lots; margin rate 5% = leverage 20
    assert res.fills["qty"].tolist() == [approx(0.16)]
    assert col(res, "margin_used")[0] == approx(0.16 * 125_000 * 0.05)


def test_min_notional_of_an_instrument_is_in_the_account_currency():
    data = jpy_market()
    res = run(data, {0: lambda ctx: ctx.order("JP225", 1)}, cash=10_000.0, leverage=20.0,
              instruments={"JP225": {"quote_currency": "JPY", "min_notional": 300.0}})
    # 1 x 40,000 / 150 = 266.67 USD < 300: rejected
    assert res.fills.empty
    assert res.orders["reason"].tolist() == ["min_notional"]


def test_fills_and_levels_on_the_price_tick():
    data = bars(EURUSD=[flat(1.1), (1.1, 1.1, 1.0990, 1.1), flat(1.1)])

    def enter(ctx):
        ctx.order("EURUSD", 1)                                   # slipped 1.10011 -> 1.1002 (a buy: up)
        ctx.order("EURUSD", 1, limit=1.09937)                    # level on the tick: 1.0994

    res = run(data, {0: enter}, cash=10_000.0, slippage=0.0001, leverage=50.0,
              instruments={"EURUSD": {"contract_size": 100_000, "tick": 0.0001}})
    f = res.fills
    # the limit buy at 1.0994 slipped to 1.09950994, on the tick up: 1.0996
    assert f["price"].tolist() == [approx(1.1002), approx(1.0996)]
    limit = res.orders[res.orders["kind"] == "limit"]
    assert limit["price"].tolist() == [approx(1.0994)]
    assert f["base_price"].tolist() == [approx(1.1), approx(1.0994)]


def test_a_missing_conversion_series_is_named():
    data = bars(JP225=[flat(40_000), flat(40_000)])
    with pytest.raises(ValueError, match="USDJPY"):
        run(data, {0: lambda ctx: ctx.order("JP225", 1)}, leverage=20.0,
            instruments={"JP225": {"quote_currency": "JPY"}})


@pytest.mark.parametrize("spec, message", [
    ({"NOPE": {}}, "unknown symbol"),
    ({"A": {"contract_size": 0}}, "contract_size"),
    ({"A": {"lots": 1}}, "unknown key"),
    ({"A": {"leverage": 10, "margin_rate": 0.1}}, "not both"),
    ({"A": {"quote_currency": 3}}, "quote_currency"),
])
def test_bad_instrument_specs_are_named(spec, message):
    with pytest.raises(ValueError, match=message):
        run(bars(A=[flat(1.0)]), {}, instruments=spec)


def test_default_instruments_change_nothing():
    data = bars(A=[flat(10), (10, 12, 9, 11), flat(12)], B=[flat(5), flat(6), (6, 7, 4, 5)])
    steps = {0: lambda ctx: ctx.target_weights({"A": 0.5, "B": 0.5})}
    plain = run(data, steps, fees=0.001, slippage=0.001)
    spec = run(data, steps, fees=0.001, slippage=0.001, instruments={"A": {}, "B": {"quote_currency": "USD"}})
    np.testing.assert_array_equal(plain.equity.to_numpy(), spec.equity.to_numpy())
    pd.testing.assert_frame_equal(plain.fills, spec.fills, check_exact=True)


def test_run_spec_reads_a_conversion_series_it_does_not_trade():
    data = jpy_market()
    spec = mf.RunSpec(strategy="equal_weight", params={"schedule": "daily"}, symbols=("JP225",),
                      account=mf.AccountSpec(capital=10_000.0, leverage=20.0,
                                             instruments={"JP225": {"quote_currency": "JPY"}}))
    res = mf.run_spec(spec, data)
    assert res.info.symbols == ("JP225",)
    assert list(res.positions.columns) == ["JP225"]
    # fully invested at the first close: 10,000 USD / (40,000 / 150) = 37.5 contracts
    assert res.fills["qty"].iloc[0] == approx(37.5)


def test_a_fill_at_the_open_uses_the_rate_known_then_not_the_bars_close():
    # USDJPY closes at 150 on bar 0 and jumps to 200 by bar 1's close; the order decided at bar 0 fills
    # at bar 1's open, when the last known rate is 150: its fee is 0.1% of 80,000 JPY / 150
    data = bars(JP225=[flat(40_000), flat(40_000), flat(40_000)],
                USDJPY=[flat(150), (150, 200, 150, 200), flat(200)])
    res = run(data, {0: lambda ctx: ctx.order("JP225", 2)}, cash=10_000.0, leverage=20.0, fees=0.001,
              execution="next_open", instruments={"JP225": {"quote_currency": "JPY"}})
    f = res.fills
    assert f["timestamp"].tolist() == [data.index[1]]
    assert f["fee"].tolist() == [approx(0.001 * 80_000 / 150)]
    assert f["value"].tolist() == [approx(80_000 / 150)]
    # marked at bar 1's close at its own rate: the CFD did not move, so equity is capital - fee
    assert res.equity.iloc[1] == approx(10_000 - 0.001 * 80_000 / 150)
