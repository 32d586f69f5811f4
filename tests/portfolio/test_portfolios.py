"""Several portfolios on one clock: isolation to the bit, the combined book, the allocator's transfers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import multifolio as mf
from multifolio.data import samples
from multifolio.portfolio import KillSwitch
from multifolio.strategies import GridATR, SmaCross, TopN

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT"]
SETTINGS = dict(fees=0.001, slippage=0.0002)


@pytest.fixture(scope="module")
def data() -> mf.MarketData:
    md = samples.crypto_hourly()
    return md.select(SYMBOLS).slice("2024-02-01", "2024-04-30")


def three(kill_threshold: float = 3.0) -> list[mf.Portfolio]:
    """A grid (margin, with a kill switch that fires), a top-N and an SMA cross on overlapping symbols."""
    return [
        mf.Portfolio("grid", GridATR(num_levels=4, leverage=2.0), capital=6_000.0,
                     symbols=["BTC/USDT", "ETH/USDT", "SOL/USDT"],
                     risk=[KillSwitch(window=24, threshold=kill_threshold, mode="flatten")],
                     settings={"leverage": 1.5, "allow_short": True}),
        mf.Portfolio("momentum", TopN(k=2, lookback=48, schedule="daily"), capital=3_000.0,
                     symbols=["ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT"]),
        mf.Portfolio("trend", SmaCross(fast=12, slow=48), capital=1_000.0, symbols=["BTC/USDT", "XRP/USDT"]),
    ]


def assert_same(a: mf.Result, b: mf.Result) -> None:
    np.testing.assert_array_equal(a.equity.to_numpy(), b.equity.to_numpy())
    pd.testing.assert_frame_equal(a.snapshots, b.snapshots, check_exact=True)
    pd.testing.assert_frame_equal(a.fills, b.fills, check_exact=True)
    pd.testing.assert_frame_equal(a.orders, b.orders, check_exact=True)
    assert a.events["kind"].tolist() == b.events["kind"].tolist()
    assert [str(d) for d in a.events["details"]] == [str(d) for d in b.events["details"]]


def test_each_portfolio_equals_itself_run_alone_to_the_bit(data) -> None:
    together = mf.backtest_portfolios(data, three(), **SETTINGS)
    assert together.ids == ["grid", "momentum", "trend"]
    # the kill switch of the grid fired (and only the grid has one)
    grid_events = together.portfolios["grid"].events
    assert (grid_events["kind"] == "kill_switch").sum() >= 1
    for p_together, p_alone_spec in zip(together.portfolios.values(), three(), strict=True):
        alone = mf.backtest_portfolios(data, [p_alone_spec], **SETTINGS).portfolios[p_alone_spec.id]
        assert_same(p_together, alone)
        # and equal to a plain single-portfolio backtest on its symbols
        plain = mf.backtest(data.select(list(p_alone_spec.symbols)), three()[together.ids.index(
            p_alone_spec.id)].strategy, cash=p_alone_spec.capital, risk=list(three()[together.ids.index(
                p_alone_spec.id)].risk), **{**SETTINGS, **p_alone_spec.settings})
        np.testing.assert_array_equal(plain.equity.to_numpy(), alone.equity.to_numpy())
        pd.testing.assert_frame_equal(plain.fills, alone.fills, check_exact=True)


def test_the_combined_book_sums_the_portfolios(data) -> None:
    res = mf.backtest_portfolios(data, three(), **SETTINGS)
    c = res.combined
    total = sum(r.equity for r in res.portfolios.values())
    np.testing.assert_allclose(c.equity.to_numpy(), total.to_numpy(), rtol=0, atol=1e-9)
    assert c.initial_capital == 10_000.0
    cash = sum(r.snapshots["cash"] for r in res.portfolios.values())
    np.testing.assert_allclose(c.snapshots["cash"].to_numpy(), cash.to_numpy(), atol=1e-9)
    # positions of overlapping symbols add up across portfolios
    eth = res.portfolios["grid"].positions["ETH/USDT"] + res.portfolios["momentum"].positions["ETH/USDT"]
    np.testing.assert_allclose(c.positions["ETH/USDT"].to_numpy(), eth.to_numpy(), atol=1e-12)
    # every fill keeps its portfolio
    assert set(c.fills["portfolio_id"]) == {"grid", "momentum", "trend"}
    assert len(c.fills) == sum(len(r.fills) for r in res.portfolios.values())
    book = res.book
    # attribution: the portfolios' PnL adds up to the book's
    pnl = sum(p["pnl"] for p in book["per_portfolio"].values())
    assert pnl == pytest.approx(float(c.equity.iloc[-1]) - 10_000.0, abs=1e-6)
    assert sum(p["contribution_pct"] for p in book["per_portfolio"].values()) == pytest.approx(
        book["combined"]["return_pct"], abs=1e-9)
    corr = book["correlation"]
    assert corr["grid"]["grid"] == pytest.approx(1.0)
    assert corr["grid"]["trend"] == pytest.approx(corr["trend"]["grid"])


def test_portfolio_errors_are_named(data) -> None:
    ew = mf.strategies.EqualWeight
    with pytest.raises(ValueError, match="portfolio ids must be unique"):
        mf.backtest_portfolios(data, [mf.Portfolio("a", ew()), mf.Portfolio("a", ew())])
    with pytest.raises(ValueError, match="share one strategy object"):
        s = ew()
        mf.backtest_portfolios(data, [mf.Portfolio("a", s), mf.Portfolio("b", s)])
    with pytest.raises(ValueError, match="portfolio 'a' symbols: unknown symbol 'DOGE'"):
        mf.backtest_portfolios(data, [mf.Portfolio("a", ew(), symbols=["DOGE"])])
    with pytest.raises(ValueError, match="portfolio 'a': capital must be a number > 0"):
        mf.backtest_portfolios(data, [mf.Portfolio("a", ew(), capital=0)])
    with pytest.raises(ValueError, match="portfolio 'a': unknown setting"):
        mf.backtest_portfolios(data, [mf.Portfolio("a", ew(), settings={"feez": 0.1})])
