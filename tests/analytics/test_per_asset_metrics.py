"""Per-asset attribution, the metrics dict and the five answers on hand-built Results."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from mf_results import EVENT_COLS, equity_result, hourly, ledger_result, two_asset_result

from multifolio.analytics.five_answers import five_answers, max_assets_for_capital, min_capital_per_asset
from multifolio.analytics.metrics import compute_metrics
from multifolio.analytics.per_asset import peak_filled_levels, per_asset_table
from multifolio.engine.run_info import AccountSpec, RunInfo, StrategyInfo
from multifolio.strategies import GridATR


def test_per_asset_hand_computed():
    r = two_asset_result()
    t = r.per_asset
    assert list(t.index) == ["BTC", "ETH"]
    # BTC: bought 10 @ 100 and 10 @ 98, sold 20 @ 105, fees 1 + 1 + 2
    assert t.loc["BTC", "pnl"] == pytest.approx(20 * 105 - 1000 - 980 - 4)
    # ETH: 100 @ 10 -> 8 (fees 1 + 0.8), then 50 @ 9.5 -> 10 (fees 0.5 + 0.5)
    assert t.loc["ETH", "pnl"] == pytest.approx(-200 - 1.8 + 25 - 1.0)
    assert t.loc["BTC", "trades"] == 1 and t.loc["ETH", "trades"] == 2
    assert t.loc["BTC", "win_rate"] == 100.0 and t.loc["ETH", "win_rate"] == 50.0
    assert t.loc["BTC", "fees"] == pytest.approx(4.0) and t.loc["ETH", "fees"] == pytest.approx(2.8)
    assert t.loc["BTC", "traded_notional"] == pytest.approx(1000 + 980 + 2100)
    rej = ["rejected", "rejected_margin", "rejected_min_notional"]
    assert t.loc["BTC", rej].tolist() == [1, 1, 0] and t.loc["ETH", rej].tolist() == [2, 1, 1]
    assert t.loc["BTC", "peak_filled_levels"] == 2 and t.loc["ETH", "peak_filled_levels"] == 1
    total = 116.0 - 177.8
    assert t.loc["BTC", "contribution_pct"] == pytest.approx(116.0 / total * 100)
    assert t["contribution_pct"].sum() == pytest.approx(100.0)
    assert t["return_contribution_pct"].sum() == pytest.approx(r.metrics["total_return_pct"])


def test_per_asset_pnl_sums_to_portfolio_pnl():
    r = two_asset_result()
    t = per_asset_table(r)
    assert t["pnl"].sum() == pytest.approx(float(r.equity.iloc[-1]) - r.initial_capital, abs=1e-9)
    assert abs(t.attrs["unattributed_pnl"]) < 1e-9
    # the trades' pnl (fees of both legs included) agrees asset by asset when everything is closed
    assert r.trades.groupby("symbol")["pnl"].sum().to_dict() == pytest.approx(t["pnl"].to_dict())


def _open_at_end():
    idx = hourly(4)
    close = pd.DataFrame({"A": [10.0, 11.0, 12.0, 13.0], "B": [5.0, 5.0, 4.0, np.nan],
                          "C": [1.0, 1.0, 1.0, 1.0]}, index=idx)
    fills = [(idx[0], "A", 10.0, 10.0, 0.1, "signal"), (idx[1], "B", 20.0, 5.0, 0.1, "signal"),
             (idx[2], "A", -4.0, 12.0, 0.05, "signal")]
    return ledger_result(close, fills, initial=1000.0), close


def test_open_positions_are_marked_at_the_last_close():
    r, close = _open_at_end()
    r.close = close
    t = per_asset_table(r)
    # A: -100 - 0.1 + 48 - 0.05 + 6 x 13; B: -100 - 0.1 + 20 x 4 (last known close, the bar is missing)
    assert t.loc["A", "pnl"] == pytest.approx(-100.1 + 47.95 + 78)
    assert t.loc["B", "pnl"] == pytest.approx(-100.1 + 80)
    assert t.loc["C", "pnl"] == 0.0 and t.loc["C", "trades"] == 0 and math.isnan(t.loc["C", "win_rate"])
    assert t.loc["A", "open_qty"] == 6.0
    assert t["pnl"].sum() == pytest.approx(float(r.equity.iloc[-1]) - 1000.0)


def test_unpriced_open_positions():
    r, _ = _open_at_end()
    # two open positions and no prices: their value cannot be split, so the pnl is unknown
    t = per_asset_table(r)
    assert math.isnan(t.loc["A", "pnl"]) and math.isnan(t.loc["B", "pnl"])
    assert math.isnan(t.attrs["unattributed_pnl"])
    # one open position: its value is equity - cash
    idx = hourly(3)
    close = pd.DataFrame({"A": [10.0, 12.0, 15.0], "B": [5.0, 5.0, 5.0]}, index=idx)
    r = ledger_result(close, [(idx[0], "A", 2.0, 10.0, 0.0, "signal"), (idx[0], "B", 1.0, 5.0, 0.0, "s"),
                              (idx[1], "B", -1.0, 6.0, 0.0, "s")], initial=100.0)
    t = per_asset_table(r)
    assert t.loc["A", "pnl"] == pytest.approx(10.0) and t.loc["B", "pnl"] == pytest.approx(1.0)


def test_peak_filled_levels_rules():
    assert peak_filled_levels(np.array([])) == 0
    assert peak_filled_levels(np.array([1.0, 1.0, -0.5, 1.0])) == 3       # partial reduction keeps count
    assert peak_filled_levels(np.array([1.0, 1.0, -3.0, -1.0])) == 2      # flip restarts at one
    assert peak_filled_levels(np.array([-1.0, -1.0, -1.0, 3.0])) == 3     # short grids count too
    assert peak_filled_levels(np.array([0.1, 0.2, -0.30000000000000004, 0.1])) == 2  # float-noise flat


def test_metrics_hand_computed():
    r = two_asset_result()
    m = r.metrics
    eq = r.equity
    assert m["final_equity"] == pytest.approx(9938.2)
    assert m["total_return_pct"] == pytest.approx((9938.2 / 10000 - 1) * 100)
    assert m["total_trades"] == 3
    assert m["win_rate"] == pytest.approx(200 / 3)
    assert m["profit_factor"] == pytest.approx((116 + 24) / 201.8)
    assert m["fees_paid"] == pytest.approx(6.8) == r.snapshots["fees_paid"].iloc[-1]
    assert m["traded_notional"] == pytest.approx(4080 + 2775)
    assert m["turnover"] == pytest.approx((4080 + 2775) / eq.mean())
    # positions open at the end of bars 0-4 and 6 (not 5 or 7)
    assert m["exposure_pct"] == pytest.approx(75.0)
    assert m["peak_margin_ratio"] == pytest.approx(r.snapshots["margin_ratio"].max())
    # bar 2: 20 BTC at 98 + 100 ETH at 9 = 2860 of margin on 10,000
    assert m["peak_margin_pct"] == pytest.approx(28.6) and m["peak_margin_time"] == eq.index[2]
    assert m["peak_concurrent_assets"] == 2 and m["peak_concurrent_positions"] == 2
    assert (m["orders_rejected"], m["rejected_margin"], m["rejected_min_notional"]) == (3, 2, 1)
    assert m["n_orders"] == 5 and m["n_fills"] == 7 and m["liquidations"] == 0
    # drawdown: peak 10018 at 01:00, trough 9616.2 at 03:00, never recovered (6 h to the last bar)
    assert m["max_drawdown_pct"] == pytest.approx((1 - 9616.2 / 10018) * 100)
    assert m["max_drawdown_duration_hours"] == 6.0 == m["deepest_drawdown_duration_hours"]
    assert m["max_drawdown_recovery_time"] is None
    assert m["period_days"] == pytest.approx(8 / 24)
    assert m["periods_per_year"] == pytest.approx(8766.0)
    assert m["calmar"] == pytest.approx(m["cagr_pct"] / m["max_drawdown_pct"])
    path = np.concatenate([[10000.0], eq.to_numpy()])
    rets = path[1:] / path[:-1] - 1
    assert m["volatility_pct"] == pytest.approx(np.std(rets, ddof=1) * np.sqrt(8766) * 100)
    assert m["sharpe"] == pytest.approx(rets.mean() / np.std(rets, ddof=1) * np.sqrt(8766))


def test_flat_prices_give_no_trades_and_equity_equal_to_capital():
    r = equity_result([10_000.0] * 50, initial=10_000.0)
    m = compute_metrics(r)
    assert m["total_return_pct"] == 0.0 and m["max_drawdown_pct"] == 0.0
    assert m["max_drawdown_duration_hours"] == 0.0 and m["total_trades"] == 0
    assert math.isnan(m["win_rate"]) and math.isnan(m["profit_factor"]) and math.isnan(m["sharpe"])
    assert m["exposure_pct"] == 0.0 and m["turnover"] == 0.0 and m["fees_paid"] == 0.0
    assert math.isnan(m["calmar"]) and m["kill_switch_triggers"] == 0


def test_business_day_daily_data_annualises_with_252():
    idx = pd.bdate_range("2024-01-01", periods=30, tz="UTC")
    r = equity_result(np.linspace(100, 110, 30), initial=100.0, index=idx)
    assert compute_metrics(r)["periods_per_year"] == 252.0
    idx = pd.date_range("2024-01-01", periods=30, freq="D", tz="UTC")
    assert compute_metrics(equity_result(np.linspace(100, 110, 30), index=idx))["periods_per_year"] == 365.25


def test_profit_factor_without_losses_is_infinite():
    idx = hourly(3)
    close = pd.DataFrame({"A": [10.0, 11.0, 12.0]}, index=idx)
    r = ledger_result(close, [(idx[0], "A", 1.0, 10.0, 0.0, "s"), (idx[2], "A", -1.0, 12.0, 0.0, "s")],
                      initial=100.0)
    assert r.metrics["profit_factor"] == math.inf and r.metrics["win_rate"] == 100.0


def test_bad_results_are_named():
    with pytest.raises(ValueError, match="initial_capital must be > 0"):
        compute_metrics(equity_result([1.0, 2.0], initial=0.0))


def test_five_answers_lines():
    r = two_asset_result()
    a = five_answers(r)
    assert list(a) == ["max_drawdown", "fill_correlation", "margin_peak", "kill_switch", "sizing"]
    for v in a.values():
        assert isinstance(v["answer"], str) and "\n" not in v["answer"]
    assert "4.01%" in a["max_drawdown"]["answer"] and "not recovered" in a["max_drawdown"]["answer"]
    assert "up to 2 of 2 assets" in a["fill_correlation"]["answer"]
    assert "no prices" in a["fill_correlation"]["answer"]
    # a cash account: peak gross exposure over that bar's equity. At 02:00 BTC 20 x 98 + ETH 100 x 9 =
    # 2,860 held; cash 10,000 - 1,001 - 1,001 - 981 = 7,017; equity 9,877 -> 28.96% (28.60% of capital)
    assert f"Exposure peak: {2860 / 9877 * 100:.2f}% of equity" in a["margin_peak"]["answer"]
    assert "cash account, no margin" in a["margin_peak"]["answer"]
    assert "would have fired 0 times" in a["kill_switch"]["answer"]
    assert a["sizing"]["source"] == "min_notional" and a["sizing"]["budget_per_asset"] == 5000.0


def test_five_answers_kill_switch_from_rule_events():
    idx = hourly(60)
    values = [100.0] * 30 + [65.0] * 30
    details = {"start": idx[29], "trough": idx[30], "depth_pct": 35.0, "window_hours": 24,
               "threshold_pct": 30, "action": "flatten"}
    ev = pd.DataFrame([(idx[30], "kill_switch", None, details)], columns=EVENT_COLS)
    a = five_answers(equity_result(values, events=ev))
    assert a["kill_switch"]["triggers"] == 1 and a["kill_switch"]["mode"] == "flatten"
    assert "fired 1 time," in a["kill_switch"]["answer"] and "35.0%" in a["kill_switch"]["answer"]


def test_sizing_from_min_notional_and_from_a_sweep():
    symbols = [f"S{i}" for i in range(21)]
    # the account leverage (3) does not change an order's notional; the grid's leverage (2) does
    grid = GridATR(num_levels=5, leverage=2.0, per_asset={"S3": {"num_levels": 10}, "S5": {"leverage": 4.0}})
    req = grid.min_capital_per_asset(symbols, np.full(len(symbols), 10.0)).tolist()
    info = RunInfo("backtest", AccountSpec(capital=1000.0, min_notional=10.0, leverage=3.0), tuple(symbols),
                   strategy=StrategyInfo("grid_atr", {}, tuple(req)))
    assert req[0] == 25.0 and req[3] == 50.0 and req[5] == 12.5
    assert max_assets_for_capital(1000.0, req) == 20   # 1000 / 20 = 50 covers S3's 50
    assert max_assets_for_capital(100.0, req) == 3     # S3 needs 50 but 100 / 4 = 25
    r = equity_result([1000.0, 1000.0], symbols=symbols, info=info)
    assert min_capital_per_asset(r) == req
    s = five_answers(r)["sizing"]
    assert s["min_capital_per_asset"] == 50.0 and s["max_assets"][1000.0] == 20
    assert s["max_assets"][10_000.0] == 21 and "multifolio sweep" in s["answer"]
    r = equity_result([1000.0, 1000.0])
    s = five_answers(r, sizing={1000: 3, 5000: 10, 10000: 21})["sizing"]
    assert s["source"] == "sweep" and s["max_assets"] == {1000.0: 3, 5000.0: 10, 10000.0: 21}
    assert "$5,000: 10 assets" in s["answer"]


@pytest.mark.parametrize("seed", range(6))
def test_per_asset_pnl_sums_on_random_fills_long_and_short(seed):
    """Random fills (longs, shorts, flips, partial closes, fees, positions left open) on random prices:
    the assets' pnl always adds up to final equity - initial capital when prices are attached."""
    rng = np.random.default_rng(seed)
    idx = hourly(30)
    symbols = ["A", "B", "C"]
    close = pd.DataFrame(50 * np.exp(np.cumsum(rng.normal(0, 0.03, (30, 3)), axis=0)), index=idx,
                         columns=symbols)
    close.iloc[rng.integers(1, 30, 4), rng.integers(0, 3, 4)] = np.nan   # missing bars (not the first)
    fills = []
    for _ in range(25):
        t = int(rng.integers(0, 30))
        s = symbols[int(rng.integers(0, 3))]
        px = float(close[s].ffill().bfill().iloc[t]) * (1 + rng.normal(0, 0.002))
        qty = float(rng.choice([-2.0, -1.0, 1.0, 2.0, 3.0]))
        fills.append((idx[t], s, qty, px, abs(qty) * px * 0.001, "signal"))
    fills.sort(key=lambda f: f[0])
    r = ledger_result(close, fills, initial=5_000.0)
    r.close = close
    t = per_asset_table(r)
    assert t["pnl"].sum() == pytest.approx(float(r.equity.iloc[-1]) - 5_000.0, abs=1e-8)
    assert t["fees"].sum() == pytest.approx(sum(f[4] for f in fills))
    assert t["return_contribution_pct"].sum() == pytest.approx(r.metrics["total_return_pct"], abs=1e-9)
