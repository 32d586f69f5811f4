"""A scheduled strategy decides at the run's first bar, not at the first period end (item 16).

A monthly run starting on 4 January invests at the next open (5 January) instead of waiting for the
close of 31 January; a strategy that lacks history at that bar places nothing and waits for its next
scheduled bar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import multifolio as mf
from multifolio.strategies import EqualWeight, TopN


def _close(start: str, n_bars: int, n_assets: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    idx = pd.date_range(start, periods=n_bars, freq="D", tz="UTC")
    rets = rng.normal(0.0, 0.02, size=(n_bars, n_assets))
    return pd.DataFrame(100.0 * np.exp(np.cumsum(rets, axis=0)), index=idx,
                        columns=[f"A{j}" for j in range(n_assets)])


def _fill_days(res: mf.Result) -> list[str]:
    ts = res.fills.loc[res.fills["reason"] != "end_of_data", "timestamp"]
    return sorted({t.strftime("%m-%d") for t in ts})


@pytest.mark.parametrize(("schedule", "expected"), [
    ("monthly", ["01-05", "02-01"]),     # decided 4 Jan (first bar) and 31 Jan
    ("weekly", ["01-05", "01-08", "01-15", "01-22", "01-29", "02-05"]),   # 4 Jan, then Sundays
])
def test_equal_weight_invests_at_the_first_bar(schedule: str, expected: list[str]) -> None:
    close = _close("2024-01-04", 35)         # Thu 4 Jan .. Wed 7 Feb
    res = mf.backtest(close, EqualWeight(schedule=schedule), cash=9_000.0)
    assert _fill_days(res) == expected
    first = res.fills[res.fills["timestamp"] == pd.Timestamp("2024-01-05", tz="UTC")]
    # 1/3 of 9,000 in each asset at 5 Jan's open (close-only data: open = close), no fees
    np.testing.assert_allclose(first["qty"].to_numpy() * first["price"].to_numpy(), [3_000.0] * 3)


def test_top_n_without_history_at_the_first_bar_waits() -> None:
    close = _close("2024-01-04", 35)
    res = mf.backtest(close, TopN(k=1, lookback=5, schedule="monthly"), cash=1_000.0)
    # 4 Jan has no 5-bar momentum yet: nothing placed; the next decision (31 Jan) trades on 1 Feb
    assert _fill_days(res) == ["02-01"]
    mom = close.iloc[27] / close.iloc[22] - 1.0          # 31 Jan vs 26 Jan
    assert res.fills.iloc[0]["symbol"] == mom.idxmax()


def test_the_first_bar_after_a_warm_up_is_a_decision() -> None:
    close = _close("2024-01-01", 38)         # warm-up 1-3 Jan, the run from 4 Jan
    res = mf.backtest(close, EqualWeight(schedule="monthly"), cash=9_000.0, start="2024-01-04")
    assert res.equity.index[0] == pd.Timestamp("2024-01-04", tz="UTC")
    assert _fill_days(res) == ["01-05", "02-01"]


def test_a_config_run_with_warm_up_invests_at_its_first_bar(tmp_path) -> None:
    """The CLI path (500 warm-up bars by default): a monthly equal-weight run starting mid-month buys at
    the open after its first bar, not at the next month end."""
    from multifolio.cli.config import load_config, run_config

    path = tmp_path / "ew.yaml"
    path.write_text("data: {sample: crypto_hourly, symbols: [BTC/USDT, ETH/USDT], start: 2024-03-10, "
                    "end: 2024-03-20}\nstrategy: {name: equal_weight, params: {schedule: monthly}}\n")
    res = run_config(load_config(path))
    first = res.equity.index[0]
    assert first == pd.Timestamp("2024-03-10", tz="UTC")
    # decided at the first bar's close, filled at the next bar's open
    assert res.fills["timestamp"].min() == res.equity.index[1]
    assert set(res.fills["symbol"]) == {"BTC/USDT", "ETH/USDT"}
