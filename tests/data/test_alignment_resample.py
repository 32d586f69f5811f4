"""One clock (union of timestamps), listing/delisting, selection errors and resampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from multifolio.data import MarketData, MarketDataError, from_long, synthetic

H = pd.Timedelta(hours=1)
T0 = pd.Timestamp("2024-01-01", tz="UTC")


@pytest.fixture
def staggered() -> MarketData:
    # A: bars 0..5; B: listed at 2, a gap at 4, delisted after 5... C: never has a close.
    rows = [(T0 + i * H, "A", 10.0 + i) for i in range(6)]
    rows += [(T0 + i * H, "B", 100.0 + i) for i in (2, 3, 5)]
    rows += [(T0 + 7 * H, "A", 17.0)]
    t = pd.DataFrame(rows, columns=["timestamp", "symbol", "close"])
    md = from_long(t)
    return MarketData(md.index, [*md.symbols, "C"], *(np.c_[md.field(f), np.full(md.n_bars, np.nan)]
                                                     for f in ("open", "high", "low", "close", "volume")))


def test_union_clock_nan_and_tradable(staggered: MarketData) -> None:
    md = staggered
    # The clock is the union: 00..05 and 07 (06 is missing for every asset, so it is not invented).
    assert list(md.index) == [T0 + i * H for i in (0, 1, 2, 3, 4, 5, 7)]
    b = md.symbol_index("B")
    np.testing.assert_array_equal(md.tradable[:, b], [False, False, True, True, False, True, False])
    assert np.isnan(md.close[4, b]) and np.isnan(md.open[4, b])
    assert not md.tradable[:, 2].any()


def test_first_and_last_bar(staggered: MarketData) -> None:
    np.testing.assert_array_equal(staggered.first_bar, [0, 2, -1])
    np.testing.assert_array_equal(staggered.last_bar, [6, 5, -1])
    assert staggered.first_bar.dtype == np.int64


def test_select_and_slice_errors_list_what_is_there(staggered: MarketData) -> None:
    with pytest.raises(MarketDataError) as info:
        staggered.select(["A", "ZZZ"])
    assert info.value.symbol == "ZZZ" and "available: A, B, C" in info.value.problem
    with pytest.raises(MarketDataError) as info:
        staggered.slice("2025-01-01", "2025-02-01")
    assert f"available: {T0} .. {T0 + 7 * H}" in info.value.problem
    part = staggered.slice(T0 + 2 * H, "2024-01-01 05:00").select(["B", "A"])
    assert part.symbols == ["B", "A"] and part.n_bars == 4
    np.testing.assert_array_equal(part.first_bar, [0, 0])


def test_resample_by_hand() -> None:
    idx = pd.date_range("2024-01-01 00:00", periods=6, freq="1h", tz="UTC")
    o = np.array([[1.0, 5.0], [2, 6], [3, np.nan], [4, 8], [5, np.nan], [6, np.nan]])
    h = o + 1
    lo = o - 0.5
    c = o + 0.5
    v = np.array([[1.0, 10], [2, 20], [3, np.nan], [4, 40], [5, np.nan], [6, np.nan]])
    md = MarketData(idx, ["X", "Y"], o, h, lo, c, v, fields={"sig": o * 10})
    r = md.resample("3h")
    assert list(r.index) == [idx[0], idx[3]]
    np.testing.assert_array_equal(r.open, [[1, 5], [4, 8]])
    np.testing.assert_array_equal(r.high, [[4, 7], [7, 9]])
    np.testing.assert_array_equal(r.low, [[0.5, 4.5], [3.5, 7.5]])
    np.testing.assert_array_equal(r.close, [[3.5, 6.5], [6.5, 8.5]])  # last present close
    np.testing.assert_array_equal(r.volume, [[6, 30], [15, 40]])
    np.testing.assert_array_equal(r.field("sig"), [[30, 60], [60, 80]])  # last present value


def test_resample_matches_pandas(staggered: MarketData) -> None:
    md = synthetic(3, 200, freq="1h", seed=8, start="2024-01-01 05:00")
    r = md.resample("1d")
    for f, how in (("open", "first"), ("high", "max"), ("low", "min"), ("close", "last"), ("volume", "sum")):
        expect = getattr(md.frame(f).resample("1D"), how)()
        np.testing.assert_allclose(r.field(f), expect.to_numpy(), rtol=1e-12, err_msg=f)
    assert r.index[0] == pd.Timestamp("2024-01-01", tz="UTC")  # buckets start at midnight, not at 05:00


def test_resample_keeps_missing_assets_missing(staggered: MarketData) -> None:
    r = staggered.resample("2h")
    assert list(r.index) == [T0, T0 + 2 * H, T0 + 4 * H, T0 + 6 * H]
    b = r.symbol_index("B")
    np.testing.assert_array_equal(r.tradable[:, b], [False, True, True, False])
    assert r.close[2, b] == 105.0 and r.open[2, b] == 105.0  # only bar 5 exists in that bucket


def test_resample_refuses_finer_and_unknown() -> None:
    md = synthetic(1, 10, freq="1h")
    with pytest.raises(MarketDataError, match="finer"):
        md.resample("30min")
    with pytest.raises(MarketDataError, match="unknown timeframe"):
        md.resample("1M")


def test_weekly_buckets_start_on_monday() -> None:
    md = synthetic(1, 24 * 14, freq="1h", start="2024-01-03")  # a Wednesday
    assert md.resample("1w").index[0] == pd.Timestamp("2024-01-01", tz="UTC")  # a Monday


def test_from_frames_sorts_and_unions_the_clocks() -> None:
    a = pd.DataFrame({"A": [3.0, 1.0, 2.0]}, index=pd.to_datetime(["2024-01-03", "2024-01-01", "2024-01-02"]))
    b = pd.DataFrame({"B": [20.0, 40.0]}, index=pd.to_datetime(["2024-01-02", "2024-01-04"]))
    close = a.join(b, how="outer")
    open_ = close - 0.5
    md = MarketData.from_frames(close=close, open=open_)
    assert list(md.index) == list(pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC"))
    np.testing.assert_array_equal(md.close[:, 0], [1.0, 2.0, 3.0, np.nan])
    np.testing.assert_array_equal(md.close[:, 1], [np.nan, 20.0, np.nan, 40.0])
    # high/low default to the bar body when only open and close are given
    np.testing.assert_array_equal(md.high[:, 0], [1.0, 2.0, 3.0, np.nan])
    np.testing.assert_array_equal(md.low[:, 0], [0.5, 1.5, 2.5, np.nan])
    np.testing.assert_array_equal(md.first_bar, [0, 1])
    np.testing.assert_array_equal(md.last_bar, [2, 3])
