"""The compiled bar path (``engine/compiled.py``, ``GridATR.run_bars``) equals the Python path, bit for bit.

The simulator runs a grid's bars in one compiled call when nothing else needs Python on a bar. The same
grid with ``run_bars`` hidden goes through ``on_bar`` on every bar; every ledger, snapshot, order, event
and record of the two runs must be identical, across execution modes, cash and margin accounts (with
liquidations), both sides, gaps, late listings, delistings, warm-up, financing and currency conversion.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.engine.mf_testdata import random_market

import multifolio as mf
from multifolio.engine.strategy import offers_compiled_bars
from multifolio.strategies.equal_weight import EqualWeight
from multifolio.strategies.grid_atr import GridATR
from multifolio.strategies.sma_cross import SmaCross
from multifolio.strategies.top_n import TopN


class PythonGrid(GridATR):
    """The same grid, driven bar by bar through ``on_bar`` (no compiled path offered)."""

    run_bars = None


def _market(seed: int, *, funding: bool = False, fx: bool = False) -> mf.MarketData:
    o, h, lo, c = random_market(seed, n_bars=400, n_assets=5, freq="h", delisting=True)
    fields = {}
    if funding:
        rng = np.random.default_rng(seed + 100)
        fields["funding_rate"] = pd.DataFrame(np.where(rng.random(c.shape) < 0.1, 0.0001, np.nan),
                                              index=c.index, columns=c.columns)
    if fx:  # a JPY-quoted S0 converted at USDJPY
        rate = pd.Series(150.0 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.002, len(c)))),
                         index=c.index)
        for frame in (o, h, lo, c):
            frame["USDJPY"] = rate
    return mf.MarketData.from_frames(c, open=o, high=h, low=lo, **fields)


def _same(a: mf.Result, b: mf.Result) -> None:
    assert np.array_equal(a.equity.to_numpy(), b.equity.to_numpy())
    for name in ("fills", "orders", "snapshots", "positions", "events", "trades", "financing"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True, obj=name)


BASE = dict(ma_period=12, atr_period=5, num_levels=4, atr_multiplier_start=0.5, atr_multiplier_step=0.5)
CASES = [
    # (seed, execution, account settings, grid parameters, market options)
    (1, "next_open", dict(cash=10_000.0, fees=0.001), dict(sides="long"), {}),
    (2, "close", dict(cash=10_000.0, fees=0.001, min_notional=400.0), dict(sides="long"), {}),
    (3, "next_open", dict(cash=10_000.0, fees=0.0005, leverage=3.0, allow_short=True),
     dict(sides="both", leverage=3.0), {"funding": True}),
    (4, "close", dict(cash=10_000.0, fees=0.001, leverage=2.0, allow_short=True, swap_long=0.05,
                      swap_short=0.02, borrow_rate=0.03),
     dict(sides="short", sl_percent=None), {}),
    (6, "next_open", dict(cash=5_000.0, leverage=20.0, allow_short=True, maintenance_margin=0.9),
     dict(sides="both", leverage=20.0, num_levels=8, sl_percent=None), {}),
    (9, "next_open", dict(cash=10_000.0, fees=0.001, leverage=2.0, allow_short=True,
                          instruments={"S0": {"quote_currency": "JPY"}}),
     dict(sides="both", leverage=2.0), {"fx": True}),
]


@pytest.mark.parametrize("seed,execution,account,params,market", CASES)
def test_compiled_grid_equals_the_python_path(seed, execution, account, params, market):
    data = _market(seed, **market)
    grid = {**BASE, **params}
    start = data.index[30]
    compiled, python = GridATR(**grid), PythonGrid(**grid)
    a = mf.backtest(data, compiled, execution=execution, start=start, **account)
    b = mf.backtest(data, python, execution=execution, start=start, **account)
    assert len(a.fills) > 20                        # the grid traded: the comparison means something
    _same(a, b)
    assert np.array_equal(compiled.peak_filled_levels, python.peak_filled_levels)


def test_the_cases_cover_liquidations_delistings_and_conversion():
    seen = set()
    for seed, execution, account, params, market in CASES:
        data = _market(seed, **market)
        grid = {**BASE, **params}
        res = mf.backtest(data, GridATR(**grid), execution=execution, start=data.index[30], **account)
        seen |= set(res.events["kind"]) if len(res.events) else set()
        seen |= {"financing"} if len(res.financing) else set()
        seen |= {"rejected"} if (res.orders["status"] == "rejected").any() else set()
    assert {"liquidation", "delisted", "financing", "rejected"} <= seen


def test_the_simulator_takes_the_compiled_path_only_where_it_may(monkeypatch):
    calls = {"on_bar": 0, "run_bars": 0}
    on_bar, run_bars = GridATR.on_bar, GridATR.run_bars

    def count_on_bar(self, ctx):
        calls["on_bar"] += 1
        return on_bar(self, ctx)

    def count_run_bars(self, run, t0, t1):
        calls["run_bars"] += 1
        return run_bars(self, run, t0, t1)

    monkeypatch.setattr(GridATR, "on_bar", count_on_bar)
    monkeypatch.setattr(GridATR, "run_bars", count_run_bars)
    data = _market(7)
    mf.backtest(data, GridATR(ma_period=12, atr_period=5), cash=10_000.0)
    assert calls == {"on_bar": 0, "run_bars": 1}
    # a breaker that only records is replayed after the compiled run
    mf.backtest(data, GridATR(ma_period=12, atr_period=5), cash=10_000.0,
                risk=[{"rule": "kill_switch", "window": 24, "threshold": 30, "mode": "record"}])
    assert calls == {"on_bar": 0, "run_bars": 2}
    # one that acts on the account sees every bar live: the grid goes back to Python
    mf.backtest(data, GridATR(ma_period=12, atr_period=5), cash=10_000.0,
                risk=[{"rule": "kill_switch", "window": 24, "threshold": 30, "mode": "flatten"}])
    assert calls["run_bars"] == 2 and calls["on_bar"] == data.n_bars
    # and so does a recording one in close mode (the strategy's fills at the close move the equity it reads)
    mf.backtest(data, GridATR(ma_period=12, atr_period=5), cash=10_000.0, execution="close",
                risk=[{"rule": "kill_switch", "window": 24, "threshold": 30, "mode": "record"}])
    assert calls["run_bars"] == 2 and calls["on_bar"] == 2 * data.n_bars


@pytest.mark.parametrize("seed", [6, 9])
def test_recording_breakers_replayed_after_a_compiled_run_log_what_they_log_live(seed):
    data = _market(seed)
    grid = {**BASE, "sides": "both", "leverage": 5.0, "sl_percent": None}
    rules = [{"rule": "kill_switch", "window": 12, "threshold": 2, "mode": "record"},
             {"rule": "max_drawdown", "threshold": 3, "mode": "record"}]
    account = dict(cash=5_000.0, leverage=5.0, allow_short=True, fees=0.001, start=data.index[30])
    a = mf.backtest(data, GridATR(**grid), risk=rules, **account)
    b = mf.backtest(data, PythonGrid(**grid), risk=rules, **account)
    kinds = set(a.events["kind"]) if len(a.events) else set()
    assert {"kill_switch", "max_drawdown"} <= kinds          # both fired: the replay had work to do
    _same(a, b)
    assert a.metrics["kill_switch_triggers"] == b.metrics["kill_switch_triggers"] > 0


def test_progress_is_reported_across_a_compiled_run():
    seen = []
    data = _market(8)
    mf.backtest(data, GridATR(ma_period=12, atr_period=5), cash=10_000.0,
                progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (data.n_bars, data.n_bars)
    assert len(seen) > 10 and [d for d, _ in seen] == sorted(d for d, _ in seen)


class PythonTopN(TopN):
    """Top-N driven bar by bar through ``on_bar``."""

    run_bars = None


@pytest.mark.parametrize("execution", ["next_open", "close"])
@pytest.mark.parametrize("schedule", ["every_bar", "weekly", 5])
def test_compiled_top_n_equals_the_python_path(execution, schedule):
    o, h, lo, c = random_market(11, n_bars=300, n_assets=8, freq="D", delisting=True)
    data = mf.MarketData.from_frames(c, open=o, high=h, low=lo)
    a = mf.backtest(data, TopN(k=3, lookback=10, schedule=schedule), cash=10_000.0, fees=0.001,
                    execution=execution, start=data.index[15])
    b = mf.backtest(data, PythonTopN(k=3, lookback=10, schedule=schedule), cash=10_000.0, fees=0.001,
                    execution=execution, start=data.index[15])
    assert len(a.fills) > 30
    _same(a, b)


def test_compiled_portfolios_equal_the_python_ones_beside_python_portfolios():
    # compiled and Python-driven portfolios on one clock: each equals its Python-driven twin
    o, h, lo, c = random_market(12, n_bars=250, n_assets=6, freq="h", delisting=True)
    data = mf.MarketData.from_frames(c, open=o, high=h, low=lo)
    syms = list(data.symbols)

    def book(grid_cls, top_cls, sma_cls):
        return mf.backtest_portfolios(data, [
            mf.Portfolio("grid", grid_cls(**BASE), capital=10_000.0, symbols=syms[:4]),
            mf.Portfolio("top", top_cls(k=2, lookback=8, schedule="every_bar"), capital=5_000.0,
                         symbols=syms[2:]),
            mf.Portfolio("sma", sma_cls(fast=3, slow=9), capital=5_000.0)],
            fees=0.001)

    mixed = book(GridATR, PythonTopN, SmaCross)
    python = book(PythonGrid, PythonTopN, PythonSmaCross)
    compiled = book(GridATR, TopN, SmaCross)
    for pid in ("grid", "top", "sma"):
        _same(mixed.portfolios[pid], python.portfolios[pid])
        _same(compiled.portfolios[pid], python.portfolios[pid])


class PythonEqualWeight(EqualWeight):
    """Equal weight driven bar by bar through ``on_bar``."""

    run_bars = None


@pytest.mark.parametrize("execution", ["next_open", "close"])
@pytest.mark.parametrize("schedule", ["every_bar", "weekly"])
def test_compiled_equal_weight_equals_the_python_path(execution, schedule):
    # late listings, gaps and a delisting change the number of tradable assets from bar to bar
    o, h, lo, c = random_market(13, n_bars=200, n_assets=6, freq="D", delisting=True)
    data = mf.MarketData.from_frames(c, open=o, high=h, low=lo)
    a = mf.backtest(data, EqualWeight(schedule=schedule), cash=10_000.0, fees=0.001, execution=execution)
    b = mf.backtest(data, PythonEqualWeight(schedule=schedule), cash=10_000.0, fees=0.001,
                    execution=execution)
    assert len(a.fills) > 30
    _same(a, b)


def test_a_subclass_that_decides_in_python_is_never_run_compiled():
    # a TopN whose on_bar trades only every other decision: the parent's compiled rows would be wrong
    class EveryOther(TopN):
        def on_bar(self, ctx):
            if ctx.bar % 2 == 0:
                super().on_bar(ctx)

    class OwnInit(GridATR):
        def init(self, ctx):
            super().init(ctx)
            self._pa[0] *= 0.5          # half the notional per level: a decision run_bars cannot know

    assert not offers_compiled_bars(EveryOther(k=2)) and not offers_compiled_bars(OwnInit(**BASE))
    assert offers_compiled_bars(TopN(k=2)) and offers_compiled_bars(GridATR(**BASE))
    assert not offers_compiled_bars(PythonTopN(k=2)) and offers_compiled_bars(SmaCross())
    o, h, lo, c = random_market(14, n_bars=120, n_assets=5, freq="D")
    data = mf.MarketData.from_frames(c, open=o, high=h, low=lo)
    a = mf.backtest(data, EveryOther(k=2, lookback=5, schedule="every_bar"), cash=10_000.0)
    b = mf.backtest(data, PythonTopN(k=2, lookback=5, schedule="every_bar"), cash=10_000.0)
    assert len(a.fills) < len(b.fills)       # half the decisions: the subclass's on_bar ran


class PythonSmaCross(SmaCross):
    """The SMA cross driven bar by bar through ``on_bar``."""

    run_bars = None


@pytest.mark.parametrize("execution", ["next_open", "close"])
def test_compiled_sma_cross_equals_the_python_path(execution):
    o, h, lo, c = random_market(15, n_bars=400, n_assets=6, freq="h", delisting=True)
    data = mf.MarketData.from_frames(c, open=o, high=h, low=lo)
    a, b = SmaCross(fast=5, slow=20), PythonSmaCross(fast=5, slow=20)
    ra = mf.backtest(data, a, cash=10_000.0, fees=0.001, execution=execution, start=data.index[25])
    rb = mf.backtest(data, b, cash=10_000.0, fees=0.001, execution=execution, start=data.index[25])
    assert len(ra.fills) > 20
    _same(ra, rb)
    assert np.array_equal(a._held, b._held)        # the strategy ends holding what it would live
