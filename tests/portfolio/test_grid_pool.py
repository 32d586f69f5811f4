"""The grid portfolio on one shared pool: budgets, margin, PnL attribution, end of data, concurrency,
and the shared-pool effect that per-asset backtests cannot show."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import multifolio as mf
from multifolio.data import MarketData
from multifolio.data.synthetic import synthetic
from multifolio.strategies.grid_atr import GridATR

GRID = dict(ma_period=24, atr_period=14, atr_multiplier_start=1.0, atr_multiplier_step=0.5, num_levels=4,
            leverage=1.5, sl_percent=None)


def ohlc(close: np.ndarray, wick: float = 0.002, symbols=None) -> MarketData:
    close = np.asarray(close, dtype=np.float64)
    open_ = np.vstack([close[:1], close[:-1]])
    idx = pd.date_range("2024-01-01", periods=len(close), freq="h", tz="UTC")
    cols = symbols or [f"A{j}" for j in range(close.shape[1])]
    f = lambda a: pd.DataFrame(a, index=idx, columns=cols)  # noqa: E731
    return MarketData.from_frames(close=f(close), open=f(open_),
                                  high=f(np.maximum(open_, close) * (1 + wick)),
                                  low=f(np.minimum(open_, close) * (1 - wick)))


def noisy(n: int, seed: int, level: float = 100.0, vol: float = 0.004) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return level * np.exp(np.cumsum(rng.normal(0, vol, n)))


def test_two_assets_each_get_half_the_capital_as_budget():
    md = synthetic(2, 600, seed=5)
    g = GridATR(**GRID)
    res = mf.backtest(md, g, cash=8_000.0, leverage=3.0)
    np.testing.assert_allclose(g.level_notional, [4_000.0 / 4 * 1.5] * 2)  # capital / 2 per asset
    entries = res.fills[res.fills["reason"] == "grid"]
    assert set(entries["symbol"]) == set(md.symbols)
    # every level is budget / num_levels x leverage of notional at its limit price (or better on a gap)
    level_notional = 4_000.0 / 4 * 1.5
    limit_notional = entries["qty"].abs() * entries["base_price"]
    assert (limit_notional <= level_notional * (1 + 1e-9)).all()
    at_level = np.isclose(limit_notional, level_notional, rtol=1e-9)
    assert at_level.mean() > 0.8


def test_margin_used_and_ratio_follow_the_open_positions():
    md = synthetic(3, 800, seed=8)
    res = mf.backtest(md, GridATR(**GRID), cash=10_000.0, leverage=3.0, fees=0.001)
    snaps = res.snapshots
    held = res.positions.to_numpy()
    close = pd.DataFrame(md.close, index=md.index).ffill().to_numpy()
    expected_margin = (np.abs(held) * close).sum(axis=1) / 3.0
    open_bars = (held != 0).any(axis=1)
    assert open_bars.sum() > 50
    assert (snaps["margin_used"].to_numpy()[open_bars] > 0).all()
    np.testing.assert_allclose(snaps["margin_used"].to_numpy(), expected_margin, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(snaps["margin_ratio"], snaps["margin_used"] / 10_000.0, rtol=1e-12)


def test_per_asset_pnl_sums_to_the_portfolio_pnl_and_the_end_closes_everything():
    md = synthetic(4, 700, seed=21)
    g = GridATR(**{**GRID, "sl_percent": 6.0})
    res = mf.backtest(md, g, cash=10_000.0, leverage=3.0, fees=0.001, slippage=0.0005)
    total = float(res.equity.iloc[-1]) - 10_000.0
    by_asset = res.trades.groupby("symbol")["pnl"].sum()
    assert len(by_asset) == 4
    assert by_asset.sum() == pytest.approx(total, abs=1e-6)
    fills_pnl = res.fills["realized_pnl"].sum() - res.fills["fee"].sum()
    assert fills_pnl == pytest.approx(total, abs=1e-6)
    per_asset = res.per_asset
    np.testing.assert_allclose(per_asset.loc[by_asset.index, "pnl"], by_asset, atol=1e-6)
    assert per_asset["pnl"].sum() == pytest.approx(total, abs=1e-6)
    # the grid's own count of stacked levels agrees with the one analytics reads from the fills
    np.testing.assert_array_equal(per_asset.loc[md.symbols, "peak_filled_levels"], g.peak_filled_levels)
    assert (res.positions.iloc[-1] == 0).all()


def test_positions_open_at_the_end_are_closed_with_reason_end_of_data():
    tail = np.linspace(100, 93, 12)
    close = np.column_stack([np.r_[noisy(100, 1), tail], np.r_[noisy(100, 2), tail]])
    md = ohlc(close)
    res = mf.backtest(md, GridATR(**GRID), cash=10_000.0, leverage=3.0)
    held_before_end = res.positions.iloc[-2]
    assert (held_before_end != 0).all()
    last = res.fills[res.fills["reason"] == "end_of_data"]
    assert sorted(last["symbol"]) == ["A0", "A1"]
    assert (last["timestamp"] == md.index[-1]).all()
    np.testing.assert_allclose(last.set_index("symbol")["qty"].sort_index(),
                               -held_before_end.sort_index().to_numpy())
    assert (res.positions.iloc[-1] == 0).all()
    assert set(res.trades["exit_reason"]) >= {"end_of_data"}


def test_a_crash_in_which_every_asset_dips_fills_every_grid_at_once():
    n = 6
    base = np.column_stack([noisy(150, s) for s in range(n)])
    crash = base[-1] * np.linspace(1.0, 0.85, 10)[:, None]
    close = np.vstack([base, crash, crash[-1] * np.ones((20, n))])
    md = ohlc(close)
    res = mf.backtest(md, GridATR(**GRID), cash=10_000.0, leverage=3.0)
    snaps = res.snapshots
    assert snaps["n_assets_with_positions"].max() == n
    peak_bar = int(np.argmax(snaps["n_assets_with_positions"].to_numpy()))
    assert peak_bar >= 150   # reached during the crash, not before
    assert snaps["n_filled_levels"].max() == n * 4


def test_shared_pool_rejects_fills_that_isolated_runs_with_capital_over_n_make():
    """A collapses; its unrealised loss eats the pool's free margin, so some of B's levels are refused in
    the pool, while B alone with capital / 2 (the same budget, the same order sizes) fills them."""
    warm = 120
    a = np.r_[noisy(warm, 7), np.linspace(1.0, 0.15, 12) * 100.0, np.full(80, 15.0)]
    b = noisy(len(a), 8)
    md = ohlc(np.column_stack([a, b]), symbols=["A", "B"])
    grid = dict(GRID, ma_period=48, leverage=1.8)
    settings = dict(leverage=3.0, maintenance_margin=0.2)

    pooled = mf.backtest(md, GridATR(**grid), cash=10_000.0, **settings)
    alone_b = mf.backtest(md.select(["B"]), GridATR(**grid), cash=5_000.0, **settings)

    orders = pooled.orders
    refused = orders[(orders["status"] == "rejected") & (orders["symbol"] == "B")]
    assert len(refused) >= 1 and (refused["reason"] == "insufficient_margin").all()
    assert (alone_b.orders["status"] == "rejected").sum() == 0
    first = refused.iloc[0]
    when = first["fill_time"]                              # the bar the fill was refused on
    assert when > md.index[warm]                           # only after A's collapse
    # Up to that bar B's grid is the same in both runs, fill for fill ...
    cols = ["timestamp", "qty", "base_price", "reason"]
    pooled_b = pooled.fills[pooled.fills["symbol"] == "B"]
    before = lambda f: f[f["timestamp"] < when][cols].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(before(pooled_b), before(alone_b.fills))
    # ... and the order the pool refused is one B alone filled: same bar, same size, same level.
    same = alone_b.fills[(alone_b.fills["timestamp"] == when)
                         & np.isclose(alone_b.fills["qty"], first["qty"], rtol=1e-12)]
    assert len(same) == 1
    assert same["base_price"].iloc[0] == pytest.approx(first["price"])
    kinds = set(pooled.events["kind"]) if len(pooled.events) else set()
    assert "liquidation" not in kinds       # refused fills, not a liquidation, make the difference


def test_kill_switch_flatten_on_the_grid_closes_every_grid_and_pauses_it():
    from multifolio.portfolio.risk import KillSwitch

    n = 3
    base = np.column_stack([noisy(150, 30 + s) for s in range(n)])
    crash = base[-1] * np.linspace(1.0, 0.6, 12)[:, None]
    after = crash[-1] * np.column_stack([noisy(150, 40 + s, level=1.0) for s in range(n)])
    md = ohlc(np.vstack([base, crash, after]))
    rule = KillSwitch(window=24, threshold=20, mode="flatten")
    res = mf.backtest(md, GridATR(**{**GRID, "leverage": 3.0}), cash=10_000.0, leverage=3.0,
                      maintenance_margin=0.1, risk=[rule])
    ev = res.events[res.events["kind"] == "kill_switch"]
    assert len(ev) == 1 and ev["details"].iloc[0]["depth_pct"] >= 20.0
    t = md.index.get_loc(ev["timestamp"].iloc[0])
    assert 150 <= t < 162                                  # during the crash
    closes = res.fills[res.fills["reason"] == "kill_switch"]
    assert sorted(closes["symbol"]) == sorted(md.symbols)  # every grid held a position and was closed
    assert (closes["timestamp"] == md.index[t + 1]).all()  # at the next open
    assert (res.positions.iloc[t + 1: t + 25] == 0).all().all()
    grid_fills = res.fills[res.fills["reason"] == "grid"]["timestamp"]
    assert not ((grid_fills > md.index[t]) & (grid_fills <= md.index[t + 24])).any()
    assert (grid_fills > md.index[t + 24]).any()         # the grids start again after the pause
