"""Long tables, CSV and Parquet: columns, sorting, time zones, extra fields and round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from multifolio.data import MarketData, MarketDataError, from_long, read_csv, read_parquet, synthetic


def assert_same(a: MarketData, b: MarketData, fields: bool = True, volume_rtol: float = 0.0) -> None:
    """Equal clocks, symbols and arrays (NaN where NaN); volume sums may differ in the last bit."""
    assert a.symbols == b.symbols
    assert a.index.equals(b.index)
    for f in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(a.field(f), b.field(f), err_msg=f)
    np.testing.assert_allclose(a.volume, b.volume, rtol=volume_rtol, atol=0, err_msg="volume")
    np.testing.assert_array_equal(a.tradable, b.tradable)
    if fields:
        assert set(a.fields) == set(b.fields)
        for k in a.fields:
            np.testing.assert_array_equal(a.fields[k], b.fields[k], err_msg=k)


@pytest.fixture
def small() -> MarketData:
    md = synthetic(3, 30, freq="1h", seed=11, crash_every_bars=0)
    close = md.close.copy()
    close[:5, 2] = np.nan  # listed late
    close[-3:, 0] = np.nan  # delisted early
    close[10, 1] = np.nan  # one missing bar
    mask = np.isnan(close)
    arrays = [np.where(mask, np.nan, a) for a in (md.open, md.high, md.low, close, md.volume)]
    return MarketData(md.index, md.symbols, *arrays, fields={"score": np.where(mask, np.nan, md.close / 100)})


def test_long_table_sorted_aliases_and_extra_fields() -> None:
    t = pd.DataFrame({
        "Date": ["2024-01-02", "2024-01-01", "2024-01-01", "2024-01-03"],
        "Ticker": ["X", "X", "Y", "Y"],
        "Close": [2.0, 1.0, 10.0, 12.0],
        "signal": [0.5, -0.5, 1.0, 0.0],
        "exchange": ["e", "e", "e", "e"],
    })
    md = from_long(t)
    assert md.symbols == ["X", "Y"]
    assert md.index.equals(pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-03"], tz="UTC"))
    np.testing.assert_array_equal(md.close, [[1.0, 10.0], [2.0, np.nan], [np.nan, 12.0]])
    np.testing.assert_array_equal(md.open, md.close)  # open/high/low default to close
    assert np.isnan(md.volume).all()
    np.testing.assert_array_equal(md.field("signal"), [[-0.5, 1.0], [0.5, np.nan], [np.nan, 0.0]])
    assert "exchange" not in md.fields
    np.testing.assert_array_equal(md.tradable, [[True, True], [True, False], [False, True]])


def test_timezones_naive_is_utc_and_offsets_convert() -> None:
    naive = from_long({"timestamp": ["2024-06-01 12:00"], "symbol": ["A"], "close": [1.0]})
    aware = from_long({"timestamp": ["2024-06-01 14:00+02:00"], "symbol": ["A"], "close": [1.0]})
    assert naive.index[0] == pd.Timestamp("2024-06-01 12:00", tz="UTC")
    assert aware.index.equals(naive.index)
    assert str(naive.index.tz) == "UTC"


def test_epoch_milliseconds_are_recognised() -> None:
    ms = [1_704_067_200_000, 1_704_070_800_000]  # 2024-01-01 00:00 and 01:00 UTC
    md = from_long({"timestamp": ms, "symbol": ["A", "A"], "close": [1.0, 2.0]})
    assert md.index[1] == pd.Timestamp("2024-01-01 01:00", tz="UTC")


def test_wide_long_wide_round_trip(small: MarketData) -> None:
    assert_same(from_long(small.to_long()), small)


def test_csv_long_file_round_trip(tmp_path: Path, small: MarketData) -> None:
    path = tmp_path / "candles.csv"
    small.to_long().sample(frac=1.0, random_state=3).to_csv(path, index=False)  # shuffled rows
    back = read_csv(path)
    assert back.symbols != [] and sorted(back.symbols) == sorted(small.symbols)
    assert_same(back.select(small.symbols), small, fields=False)
    np.testing.assert_allclose(back.select(small.symbols).fields["score"], small.fields["score"])


def test_csv_folder_one_file_per_symbol(tmp_path: Path, small: MarketData) -> None:
    long = small.to_long()
    for sym, part in long.groupby("symbol", sort=False):
        part.drop(columns="symbol").to_csv(tmp_path / f"{sym}.csv", index=False)
    back = MarketData.read_csv(tmp_path)
    assert back.symbols == sorted(small.symbols)  # files in name order
    assert_same(back.select(small.symbols), small)


def test_parquet_round_trip(tmp_path: Path, small: MarketData) -> None:
    path = tmp_path / "c.parquet"
    pq.write_table(pa.Table.from_pandas(small.to_long(), preserve_index=False), path)
    assert_same(read_parquet(path), small)
    assert_same(MarketData.read_parquet(path), small)


def test_parquet_without_symbol_column_uses_file_name(tmp_path: Path) -> None:
    path = tmp_path / "ETHUSDT.parquet"
    frame = pd.DataFrame({"ts": pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC"),
                          "close": [1.0, 2.0, 3.0]})
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    md = read_parquet(path)
    assert md.symbols == ["ETHUSDT"] and md.close[:, 0].tolist() == [1.0, 2.0, 3.0]


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(MarketDataError, match="no such file") as info:
        read_csv(tmp_path / "nope.csv")
    assert info.value.source == str(tmp_path / "nope.csv")


def test_on_duplicate_must_be_known() -> None:
    with pytest.raises(MarketDataError, match="on_duplicate"):
        from_long({"timestamp": ["2024-01-01"], "symbol": ["A"], "close": [1.0]}, on_duplicate="first")
