"""Peer runners on hand-computed cases, and against each other on random prices."""

import numpy as np
import pandas as pd
import pytest
from bench.peers import backtrader_runner, bt_runner, data, vectorbt_runner
from bench.topn_weights import topn_momentum_weights

RUNNERS = {"vectorbt": vectorbt_runner.run, "bt": bt_runner.run, "backtrader": backtrader_runner.run}


def _two_assets(w0):
    idx = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")
    close = pd.DataFrame({"A": [10.0, 11.0, 12.0], "B": [20.0, 20.0, 10.0]}, index=idx)
    w = pd.DataFrame({"A": [w0[0], np.nan, np.nan], "B": [w0[1], np.nan, np.nan]}, index=idx)
    return close, w


@pytest.mark.parametrize("name", list(RUNNERS))
def test_buy_at_the_close_and_hold_without_fees(name):
    close, w = _two_assets([0.5, 0.5])
    eq = RUNNERS[name](close, w, cash=1000.0, fees=0.0)
    # 50 A at 10 and 25 B at 20, then marked: 50*11 + 25*20 = 1050, 50*12 + 25*10 = 850.
    np.testing.assert_allclose(eq.to_numpy(), [1000.0, 1050.0, 850.0], rtol=1e-12)
    assert eq.index.equals(close.index)


@pytest.mark.parametrize("name", ["vectorbt", "backtrader"])
def test_proportional_fee_on_top_of_the_order(name):
    # 40% each: 40 A at 10 and 20 B at 20, fee 1% of 400 twice -> cash 1000 - 800 - 8 = 192.
    close, w = _two_assets([0.4, 0.4])
    eq = RUNNERS[name](close, w, cash=1000.0, fees=0.01)
    np.testing.assert_allclose(eq.iloc[1:].to_numpy(), [192 + 440 + 400, 192 + 480 + 200], rtol=1e-12)


def test_bt_fee_is_taken_out_of_the_allocation():
    # bt sizes a buy so that cost + fee = the allocation: q = 400 / (price * 1.01), cash ends at 200;
    # the fees are paid at bar 0's close, so bar 0 already shows them.
    close, w = _two_assets([0.4, 0.4])
    eq = bt_runner.run(close, w, cash=1000.0, fees=0.01)
    qa, qb = 400 / 10.1, 400 / 20.2
    bar0 = 200 + 10 * qa + 20 * qb
    assert bar0 == pytest.approx(1000 - 2 * 0.01 * 400 / 1.01, rel=1e-12)
    np.testing.assert_allclose(eq.to_numpy(), [bar0, 200 + 11 * qa + 20 * qb, 200 + 12 * qa + 10 * qb],
                               rtol=1e-12)


def test_backtrader_rounding_refusals_are_counted_not_hidden():
    close, w = _two_assets([0.5, 0.5])
    eq = backtrader_runner.run(close, w, cash=1000.0)
    assert eq.attrs["rejected"] == 0


def _random_case(n_assets=12, n_bars=60, seed=5):
    close = data.random_walk_close(n_assets, n_bars, seed=seed)
    return close, topn_momentum_weights(close, k=4, lookback=5)


def test_vectorbt_bt_and_multifolio_agree_every_bar_without_fees():
    import multifolio as mf

    close, w = _random_case()
    ref = vectorbt_runner.run(close, w)
    np.testing.assert_allclose(bt_runner.run(close, w).to_numpy(), ref.to_numpy(), rtol=1e-9)
    mfe = mf.from_weights(close, w, execution="close", close_at_end=False).equity
    np.testing.assert_allclose(mfe.to_numpy(), ref.to_numpy(), rtol=1e-9)
    assert ref.iloc[-1] != pytest.approx(1_000_000.0)  # the case did trade


def test_backtrader_agrees_when_cash_is_not_exhausted():
    # Targets summing to 80% leave cash, so no buy is refused for a rounding shortfall: backtrader's
    # cheat-on-close, sells-first mode then gives vectorbt's equity.
    close, w = _random_case(seed=9)
    w = w * 0.8
    bt_eq = backtrader_runner.run(close, w)
    assert bt_eq.attrs["rejected"] == 0
    np.testing.assert_allclose(bt_eq.to_numpy(), vectorbt_runner.run(close, w).to_numpy(), rtol=1e-9)


def test_backtrader_with_fees_agrees_on_bars_without_orders():
    # backtrader books the fees of bar t's orders at t + 1, so compare on the bars where nothing trades:
    # rebalance every 10th bar only.
    close, w = _random_case(seed=11)
    w = w * 0.8
    w.iloc[[i for i in range(len(w)) if i % 10 != 5]] = np.nan
    bt_eq = backtrader_runner.run(close, w, fees=0.002)
    vb_eq = vectorbt_runner.run(close, w, fees=0.002)
    quiet = w.isna().all(axis=1).to_numpy()
    assert bt_eq.attrs["rejected"] == 0 and quiet.sum() > 40
    np.testing.assert_allclose(bt_eq.to_numpy()[quiet], vb_eq.to_numpy()[quiet], rtol=1e-9)
    assert vb_eq.iloc[-1] < vectorbt_runner.run(close, w).iloc[-1]  # the fees did cost something
