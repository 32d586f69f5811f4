"""The synthetic generator: determinism, consistent candles, fat tails, clustering and crashes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from multifolio.data import MarketData, crash_episodes, synthetic


def log_returns(md: MarketData) -> np.ndarray:
    return np.diff(np.log(md.close), axis=0)


def mean_pairwise_corr(r: np.ndarray) -> float:
    c = np.corrcoef(r.T)
    n = c.shape[0]
    return float((c.sum() - n) / (n * n - n))


@pytest.fixture(scope="module")
def hourly() -> MarketData:
    return synthetic(10, 8760, freq="1h", seed=3)


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b, c = synthetic(4, 500, seed=9), synthetic(4, 500, seed=9), synthetic(4, 500, seed=10)
    for f in ("open", "high", "low", "close", "volume", "crash"):
        np.testing.assert_array_equal(a.field(f), b.field(f))
    assert not np.allclose(a.close, c.close)


def test_shape_clock_symbols_and_start_prices() -> None:
    md = synthetic(3, 48, freq="4h", seed=1, start="2024-02-01", symbols=["A", "B", "C"],
                   start_prices=[10.0, 200.0, 0.5])
    assert md.symbols == ["A", "B", "C"] and md.close.shape == (48, 3)
    assert md.index[0] == pd.Timestamp("2024-02-01", tz="UTC") and md.freq == pd.Timedelta(hours=4)
    np.testing.assert_allclose(md.open[0], [10.0, 200.0, 0.5])
    assert synthetic(2, 5).symbols == ["S000", "S001"]


def test_candles_are_consistent_and_positive(hourly: MarketData) -> None:
    md = hourly
    assert np.isfinite(md.close).all() and (md.low > 0).all() and (md.volume > 0).all()
    assert (md.high >= np.maximum(md.open, md.close)).all()
    assert (md.low <= np.minimum(md.open, md.close)).all()
    assert (md.high > md.low).all()  # real intrabar range, not a degenerate bar
    md.validate()  # the library's own checks agree
    # Opens continue from the previous close up to a small gap.
    gap = np.abs(np.log(md.open[1:] / md.close[:-1]))
    assert np.median(gap) < 0.1 * np.median(np.abs(log_returns(md)))


def test_fat_tails_and_volatility_clustering(hourly: MarketData) -> None:
    calm = hourly.fields["crash"][1:, 0] == 0
    r = log_returns(hourly)[calm]
    z = (r - r.mean(0)) / r.std(0)
    kurtosis = (z**4).mean(0)
    assert (kurtosis > 4.0).all()  # a normal distribution gives 3
    a = np.abs(z)
    lag1 = [np.corrcoef(a[:-1, i], a[1:, i])[0, 1] for i in range(a.shape[1])]
    assert min(lag1) > 0.05  # large moves follow large moves


def test_common_factor_and_clusters() -> None:
    md = synthetic(10, 5000, seed=4, n_clusters=2, crash_every_bars=0)
    c = np.corrcoef(log_returns(md).T)
    same = [c[i, j] for i in range(10) for j in range(10) if i < j and (i < 5) == (j < 5)]
    other = [c[i, j] for i in range(10) for j in range(10) if i < j and (i < 5) != (j < 5)]
    assert min(other) > 0.1  # the market factor links every pair
    assert np.mean(same) > np.mean(other) + 0.1  # clusters co-move more


def test_crash_episodes_match_the_schedule() -> None:
    md = synthetic(5, 1000, seed=2, crash_every_bars=200, crash_bars=4, recovery_bars=12)
    eps = crash_episodes(md)
    assert len(eps) == 5
    crash = md.fields["crash"]
    assert (crash == crash[:, :1]).all()  # the same bars for every asset
    assert int(crash[:, 0].sum()) == 5 * 4
    for start, end in eps:
        assert end - start == pd.Timedelta(hours=3)
        i, j = md.index.get_loc(start), md.index.get_loc(end)
        fall = np.log(md.close[j] / md.close[i - 1])
        assert (fall < 0).all()  # every asset falls together
        rebound = np.log(md.close[j + 12] / md.close[j])
        assert np.mean(rebound) > 0  # and partly recovers
        assert np.mean(rebound) < -np.mean(fall)


def test_correlation_inside_crashes_exceeds_outside(hourly: MarketData) -> None:
    r = log_returns(hourly)
    crash = hourly.fields["crash"][1:, 0] == 1.0
    assert crash.sum() >= 20
    inside, outside = mean_pairwise_corr(r[crash]), mean_pairwise_corr(r[~crash])
    assert inside > outside + 0.2
    assert inside > 0.6


def test_no_crashes_when_disabled() -> None:
    md = synthetic(2, 3000, seed=1, crash_every_bars=0)
    assert crash_episodes(md) == [] and (md.fields["crash"] == 0).all()


def test_anchor_keeps_levels_near_the_start() -> None:
    free = synthetic(20, 17520, seed=6, crash_every_bars=0)
    anchored = synthetic(20, 17520, seed=6, crash_every_bars=0, anchor_halflife_bars=500)
    spread = lambda md: np.abs(np.log(md.close[-1] / md.close[0])).mean()  # noqa: E731
    assert spread(anchored) < spread(free) / 2


def test_daily_benchmark_shape() -> None:
    md = synthetic(500, 2520, freq="1d", seed=42)
    assert md.close.shape == (2520, 500) and md.freq == pd.Timedelta(days=1)
    assert len(crash_episodes(md)) > 10


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="tail_df"):
        synthetic(2, 10, tail_df=2)
    with pytest.raises(ValueError, match="annual_vol"):
        synthetic(2, 10, annual_vol=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="3 symbols for 2 assets"):
        synthetic(2, 10, symbols=["a", "b", "c"])
