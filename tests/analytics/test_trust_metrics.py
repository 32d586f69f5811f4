"""Issue "Data you can trust": metrics that crashed, misled or were not pinned (hand-computed)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

import multifolio as mf
from multifolio.analytics import returns as R
from multifolio.analytics.drawdown import drawdown_summary
from multifolio.analytics.metrics import margin_peak_summary
from multifolio.report.terminal import render_report

NAN = float("nan")


def frame(values: dict[str, list[float]], freq: str = "D") -> pd.DataFrame:
    n = len(next(iter(values.values())))
    return pd.DataFrame(values, index=pd.date_range("2024-03-04", periods=n, freq=freq, tz="UTC"),
                        dtype=float)


# ------------------------------------------------------------------------------------------------
# item 7: annualised metrics of short, fast runs
# ------------------------------------------------------------------------------------------------
def test_cagr_of_a_return_that_cannot_be_annualised_is_nan_not_a_crash():
    # +10% in one hour: (1.1)^(365.25 x 24) = e^(8766 x 0.0953) = e^835 > the largest float
    assert math.isnan(R.cagr_pct(110.0, 100.0, 1.0 / 24.0))
    assert math.isnan(R.cagr_pct(100.0, 1e-300, 100.0))      # a factor beyond float over 100 days
    # representable figures are unchanged: +10% over 30 days = 1.1^(365.25 / 30) - 1
    assert R.cagr_pct(110.0, 100.0, 30.0) == pytest.approx((1.1 ** (365.25 / 30.0) - 1.0) * 100.0)
    assert R.cagr_pct(90.0, 100.0, 1.0 / 24.0) == pytest.approx((0.9 ** 8766.0 - 1.0) * 100.0)


def test_metrics_of_one_hour_of_minute_bars_with_ten_percent_do_not_crash():
    # 60 minute bars, all in at the first close, price +10% over the hour
    idx = pd.date_range("2024-03-04 09:00", periods=60, freq="min", tz="UTC")
    close = pd.DataFrame({"A": np.linspace(100.0, 110.0, 60)}, index=idx)
    w = pd.DataFrame({"A": [1.0] + [NAN] * 59}, index=idx)
    res = mf.from_weights(close, w, cash=10_000.0, execution="close", close_at_end=False)
    m = res.metrics
    assert m["total_return_pct"] == pytest.approx(10.0)
    assert math.isnan(m["cagr_pct"]) and math.isnan(m["calmar"])
    assert any("cagr_pct" in note for note in m["notes"])
    # the other annualised figures stay finite and match an independent computation
    eq = 100.0 * np.linspace(100.0, 110.0, 60)          # 100 shares
    r = np.diff(np.concatenate([[10_000.0], eq])) / np.concatenate([[10_000.0], eq[:-1]])
    ppy = 365.25 * 24 * 60
    assert m["periods_per_year"] == pytest.approx(ppy)
    assert m["volatility_pct"] == pytest.approx(np.std(r, ddof=1) * math.sqrt(ppy) * 100.0)
    assert m["sharpe"] == pytest.approx(np.mean(r) / np.std(r, ddof=1) * math.sqrt(ppy))
    # and the reports render it (a dash for the CAGR)
    text = _report_text(res)
    assert "CAGR %" in text


def test_metrics_notes_are_empty_for_an_ordinary_run():
    close = frame({"A": [100.0, 101.0, 102.0]})
    res = mf.from_weights(close, frame({"A": [1.0, NAN, NAN]}), cash=1_000.0, execution="close")
    assert res.metrics["notes"] == []
    assert math.isfinite(res.metrics["cagr_pct"])


# ------------------------------------------------------------------------------------------------
# item 14: "margin peak" of a cash account vs a margin account
# ------------------------------------------------------------------------------------------------
def _report_text(res) -> str:
    console = Console(record=True, width=120)
    render_report(res, console)
    return console.export_text()


def test_cash_account_reports_exposure_of_current_equity_and_no_margin():
    # equal weight, two assets that both go 100 -> 700: 50 shares each, fully invested throughout.
    # bar 0: equity 10,000, gross 10,000; bar 1: equity 70,000, gross 70,000. Margin used / initial
    # capital is 700% (the contract's margin_ratio), but nothing is borrowed: exposure is 100% of
    # the equity at every bar.
    close = frame({"A": [100.0, 700.0], "B": [100.0, 700.0]})
    w = frame({"A": [0.5, NAN], "B": [0.5, NAN]})
    res = mf.from_weights(close, w, cash=10_000.0, execution="close", close_at_end=False)
    m = res.metrics
    assert m["margin_account"] is False
    assert m["peak_margin_pct"] == pytest.approx(700.0)          # the contract's definition, kept
    assert m["peak_exposure_pct"] == pytest.approx(100.0)
    assert m["peak_exposure_time"] == close.index[0]
    mp = margin_peak_summary(m)
    assert "no margin" in mp["answer"] and "100.00% of equity" in mp["answer"]
    assert "700" not in mp["answer"]
    text = _report_text(res)
    assert "Peak exposure % of equity" in text and "no margin" in text
    assert "Peak margin % of capital" not in text and "700.00%" not in text


def test_margin_account_reports_margin_of_capital_and_of_equity_at_that_bar():
    # leverage 2, cash 10,000: buy 150 A at 100 (bar 0 close): margin 150 x 100 / 2 = 7,500.
    # bar 1 (120): equity 10,000 + 150 x 20 = 13,000, margin 150 x 120 / 2 = 9,000 -> 90% of the
    #   initial capital, 9,000 / 13,000 = 69.23% of that bar's equity.
    # bar 2 (80): equity 10,000 - 150 x 20 = 7,000, margin 6,000 (60% of capital), gross 12,000 =
    #   171.4% of equity, the exposure peak (bar 0: 150%, bar 1: 18,000 / 13,000 = 138.5%).
    close = frame({"A": [100.0, 120.0, 80.0]})
    w = frame({"A": [1.5, NAN, NAN]})
    res = mf.from_weights(close, w, cash=10_000.0, leverage=2.0, execution="close", close_at_end=False)
    assert res.equity.tolist() == [pytest.approx(10_000), pytest.approx(13_000), pytest.approx(7_000)]
    m = res.metrics
    assert m["margin_account"] is True
    assert m["peak_margin_pct"] == pytest.approx(90.0)
    assert m["peak_margin_time"] == close.index[1]
    assert m["peak_margin_equity_pct"] == pytest.approx(9_000 / 13_000 * 100.0)
    assert m["peak_exposure_pct"] == pytest.approx(12_000 / 7_000 * 100.0)
    assert m["peak_exposure_time"] == close.index[2]
    mp = margin_peak_summary(m)
    assert "90.00% of initial capital" in mp["answer"] and "69.23% of equity" in mp["answer"]
    text = _report_text(res)
    assert "Peak margin % of capital" in text and "Peak margin % of equity" in text
    assert "90.00% of initial capital" in text


# ------------------------------------------------------------------------------------------------
# rule (d): a loss on the first bar is a drawdown
# ------------------------------------------------------------------------------------------------
def test_loss_on_the_first_bar_counts_in_max_drawdown():
    # cash 10,000, fee 1%, all in at the close of bar 0 (price 100): k x 100 x 1.01 = 10,000, so the
    # first end-of-bar equity is 10,000 / 1.01 = 9,900.99: 1 - 1 / 1.01 = 0.990099% below the
    # capital the account started with. Then 100 -> 110: a new high, recovered at bar 2.
    close = frame({"A": [100.0, 100.0, 110.0]})
    res = mf.from_weights(close, frame({"A": [1.0, NAN, NAN]}), cash=10_000.0, fees=0.01,
                          execution="close", close_at_end=False)
    want = (1.0 - 1.0 / 1.01) * 100.0
    assert res.equity.iloc[0] == pytest.approx(10_000.0 / 1.01)
    summary = drawdown_summary(res.equity, initial=10_000.0)
    assert summary["max_drawdown_pct"] == pytest.approx(want, rel=1e-9)
    assert summary["max_drawdown_recovery_time"] == close.index[2]
    assert summary["max_drawdown_peak_time"] == close.index[0] - pd.Timedelta(days=1)
    assert res.metrics["max_drawdown_pct"] == pytest.approx(want, rel=1e-9)
    assert res.metrics["max_drawdown_recovery_time"] == close.index[2]
