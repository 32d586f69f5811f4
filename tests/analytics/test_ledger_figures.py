"""The ledger figures the metrics read, counted on a run's raw arrays (``LazyResult.ledger_figures``),
equal their definition on the Result's frames (``metrics.ledger_figures``), bit for bit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from tests.engine.mf_testdata import random_market

import multifolio as mf
from multifolio.analytics.metrics import LedgerFigures, ledger_figures
from multifolio.assemble import LazyResult
from multifolio.strategies.grid_atr import GridATR

GRID = dict(ma_period=12, atr_period=5, num_levels=4, atr_multiplier_start=0.5, atr_multiplier_step=0.5)
CASES = {
    # min-notional rejections, rejections for other reasons (no price), resting orders open at the end
    "cash": (2, dict(cash=10_000.0, fees=0.001, min_notional=500.0), dict(sides="long")),
    # shorts, margin rejections, delistings (forced closes carry order id -1)
    "margin": (3, dict(cash=10_000.0, fees=0.0005, leverage=3.0, allow_short=True),
               dict(sides="both", leverage=3.0)),
    # liquidations
    "liquidated": (6, dict(cash=5_000.0, leverage=20.0, allow_short=True, maintenance_margin=0.9),
                   dict(sides="both", leverage=20.0, num_levels=8, sl_percent=None)),
    # financing charges on the trades
    "financed": (4, dict(cash=10_000.0, fees=0.001, leverage=2.0, allow_short=True, swap_long=0.05,
                         swap_short=0.02, borrow_rate=0.03), dict(sides="short", sl_percent=None)),
}


def _run(seed: int, account: dict, params: dict) -> LazyResult:
    o, h, lo, c = random_market(seed, n_bars=400, n_assets=5, freq="h", delisting=True)
    data = mf.MarketData.from_frames(c, open=o, high=h, low=lo)
    result = mf.backtest(data, GridATR(**{**GRID, **params}), start=data.index[30], **account)
    assert isinstance(result, LazyResult)
    return result


def _same(a: LedgerFigures, b: LedgerFigures) -> None:
    for field in dataclasses.fields(LedgerFigures):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), field.name
        else:
            assert type(x) is type(y) and x == y, field.name


@pytest.mark.parametrize("case", list(CASES))
def test_raw_figures_equal_the_frame_definition(case: str) -> None:
    result = _run(*CASES[case])
    assert result.ledger_figures.n_fills > 20            # the grid traded: the comparison means something
    _same(result.ledger_figures, ledger_figures(result))


def test_the_cases_cover_what_the_figures_count() -> None:
    figures = [_run(*args).ledger_figures for args in CASES.values()]
    assert any(f.liquidations for f in figures)
    assert any(f.rejected_margin for f in figures)
    assert any(f.rejected_min_notional for f in figures)
    assert any(f.orders_rejected > f.rejected_margin + f.rejected_min_notional for f in figures)


def test_a_run_without_trades() -> None:
    o, h, lo, c = random_market(1, n_bars=40, n_assets=2, freq="h")
    data = mf.MarketData.from_frames(c, open=o, high=h, low=lo)
    result = mf.backtest(data, GridATR(**{**GRID, "ma_period": 200}), cash=1_000.0)
    assert result.ledger_figures.n_fills == 0
    _same(result.ledger_figures, ledger_figures(result))


def test_metrics_read_the_result_figures() -> None:
    """A Result built by hand defines the figures on its frames; metrics read them from the Result."""
    result = _run(*CASES["margin"])
    frames = mf.Result(equity=result.equity, snapshots=result.snapshots, positions=result.positions,
                       fills=result.fills, trades=result.trades, orders=result.orders,
                       events=result.events, initial_capital=result.initial_capital,
                       symbols=result.symbols, info=result.info, freq=result.freq, close=result.close,
                       financing=result.financing)
    pd.testing.assert_series_equal(pd.Series(frames.metrics, dtype=object),
                                   pd.Series(result.metrics, dtype=object))
