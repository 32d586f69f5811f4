"""Each bad file under tests/data/bad/ gives its named error: problem, symbol and timestamp."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from multifolio.data import MarketData, MarketDataError, from_long, read_csv

BAD = Path(__file__).parent / "bad"


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# file, expected problem (substring), symbol, timestamp
CASES = [
    ("duplicate.csv", "duplicate timestamp", "ETH", utc("2024-01-01 01:00")),
    ("high_below_low.csv", "high below low", "BTC", utc("2024-01-01 01:00")),
    ("open_outside.csv", "open outside [low, high]", "BTC", utc("2024-01-01 01:00")),
    ("close_outside.csv", "close outside [low, high]", "BTC", utc("2024-01-01 01:00")),
    ("zero_price.csv", "non-positive close price", "SOL", utc("2024-01-01 01:00")),
    ("negative_price.csv", "non-positive open price", "SOL", utc("2024-01-01 01:00")),
    ("inf_price.csv", "infinite high price", "SOL", utc("2024-01-01 01:00")),
    ("negative_volume.csv", "negative volume", "XRP", utc("2024-01-01 01:00")),
    ("mixed_timeframes.csv", "mixed timeframes: bars 1d apart where the data is 1h", "ETH",
     utc("2024-01-02 00:00")),
    ("off_grid.csv", "mixed timeframes: bar 90m after the previous one", "BTC", utc("2024-01-01 03:30")),
    ("shifted_grid.csv", "mixed timeframes: bar off the common 1h grid", "ETH", utc("2024-01-01 00:30")),
    ("folder_high_low", "high below low", "ETH-USDT", utc("2024-01-01 01:00")),
]


@pytest.mark.parametrize("name, problem, symbol, timestamp", CASES, ids=[c[0] for c in CASES])
def test_bad_file_names_problem_symbol_and_time(name: str, problem: str, symbol: str,
                                                 timestamp: pd.Timestamp) -> None:
    with pytest.raises(MarketDataError) as info:
        read_csv(BAD / name)
    err = info.value
    assert problem in err.problem
    assert err.symbol == symbol
    assert err.timestamp == timestamp
    assert str(BAD / name) in str(err.source)  # the file (or folder member) is named
    assert symbol in str(err) and problem in str(err)


def test_folder_error_names_the_offending_file() -> None:
    with pytest.raises(MarketDataError) as info:
        read_csv(BAD / "folder_high_low")
    assert info.value.source == str(BAD / "folder_high_low" / "ETH-USDT.csv")


def test_unreadable_timestamp_is_quoted() -> None:
    with pytest.raises(MarketDataError, match="unreadable timestamp 'yesterday'"):
        read_csv(BAD / "bad_timestamp.csv")


def test_missing_close_column_lists_columns() -> None:
    with pytest.raises(MarketDataError) as info:
        read_csv(BAD / "missing_close.csv")
    assert "['close']" in info.value.problem and "'volume'" in info.value.problem


def test_non_numeric_price_names_column() -> None:
    with pytest.raises(MarketDataError, match="column 'close' holds non-numeric values"):
        read_csv(BAD / "non_numeric.csv")


def test_duplicate_last_keeps_the_last_row_in_input_order() -> None:
    md = read_csv(BAD / "duplicate.csv", on_duplicate="last")
    eth = md.symbol_index("ETH")
    assert md.close[1, eth] == 10.9 and md.volume[1, eth] == 7.0
    assert md.n_bars == 2


def test_unknown_timeframe() -> None:
    with pytest.raises(MarketDataError, match="unknown timeframe '7x'"):
        read_csv(BAD / "high_below_low.csv", timeframe="7x")


def test_declared_timeframe_coarser_than_the_bars() -> None:
    good = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=4, freq="1h"), "symbol": "A",
                         "close": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(MarketDataError, match="bar 1h after the previous one, not a multiple of 4h") as info:
        from_long(good, timeframe="4h")
    assert info.value.timestamp == utc("2024-01-01 01:00")
    assert from_long(good, timeframe="1h").n_bars == 4


def test_gaps_that_are_whole_multiples_are_fine() -> None:
    ts = pd.to_datetime(["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 05:00"])
    md = from_long(pd.DataFrame({"timestamp": ts, "symbol": "A", "close": [1.0, 2.0, 3.0]}))
    assert md.n_bars == 3 and md.tradable.all()


def test_wide_frames_are_validated_too() -> None:
    idx = pd.date_range("2024-01-01", periods=3, freq="D")
    close = pd.DataFrame({"A": [1.0, 2.0, 3.0], "B": [5.0, 5.0, 5.0]}, index=idx)
    high = close + 1
    high.loc[idx[2], "B"] = 4.0  # below the close
    with pytest.raises(MarketDataError) as info:
        MarketData.from_frames(close=close, high=high)
    assert info.value.problem == "high below low"  # low defaults to close (5) > high (4)
    assert info.value.symbol == "B" and info.value.timestamp == idx[2].tz_localize("UTC")


def test_validation_on_a_large_table_finds_the_last_bad_row() -> None:
    # 300k rows: the checks are whole-array expressions, yet the one bad row is still located.
    n_sym, n_bars = 10, 30_000
    ts = pd.date_range("2020-01-01", periods=n_bars, freq="1min").asi8
    table = {"timestamp": np.tile(ts, n_sym).view("datetime64[ns]"),
             "symbol": np.repeat(np.array([f"S{i}" for i in range(n_sym)], dtype=object), n_bars),
             "close": np.tile(np.linspace(100.0, 200.0, n_bars), n_sym)}
    table["close"][-1] = -1.0  # the very last row of the last symbol
    with pytest.raises(MarketDataError) as info:
        from_long(table)
    assert info.value.symbol == "S9" and info.value.timestamp == pd.Timestamp(ts[-1], tz="UTC")
    del table["close"]
    table["close"] = np.tile(np.linspace(100.0, 200.0, n_bars), n_sym)
    md = from_long(table)
    assert md.close.shape == (n_bars, n_sym)
    assert md.close[-1, 3] == 200.0


def test_wide_frames_with_a_stray_bar_are_mixed_timeframes() -> None:
    hours = pd.date_range("2024-01-01", periods=10, freq="h", tz="UTC")
    index = hours.append(pd.DatetimeIndex([utc("2024-01-01 01:30")])).sort_values()
    close = pd.DataFrame({"A": np.arange(1.0, 12.0)}, index=index)
    with pytest.raises(MarketDataError) as info:
        MarketData.from_frames(close)
    assert info.value.problem == "mixed timeframes: bar 30m after the previous one, not a multiple of 1h"
    assert info.value.symbol == "A" and info.value.timestamp == utc("2024-01-01 01:30")


def test_wide_frames_with_a_daily_symbol_among_hourly_ones() -> None:
    hourly = pd.DataFrame({"H": np.arange(1.0, 201.0)},
                          index=pd.date_range("2024-01-01", periods=200, freq="h", tz="UTC"))
    daily = pd.DataFrame({"D": np.arange(1.0, 9.0)},
                         index=pd.date_range("2024-01-01", periods=8, freq="D", tz="UTC"))
    close = hourly.join(daily, how="outer")
    with pytest.raises(MarketDataError) as info:
        MarketData.from_frames(close)
    assert info.value.problem == "mixed timeframes: bars 1d apart where the data is 1h"
    assert info.value.symbol == "D" and info.value.timestamp == utc("2024-01-02")


def test_wide_frames_with_gaps_and_a_late_listing_are_one_timeframe() -> None:
    index = pd.date_range("2024-01-01", periods=48, freq="h", tz="UTC")
    close = pd.DataFrame({"A": np.linspace(10, 20, 48), "B": np.linspace(5, 6, 48)}, index=index)
    close.iloc[5:9, 0] = np.nan     # a four-hour gap in A
    close.iloc[:20, 1] = np.nan     # B lists at bar 20
    md = MarketData.from_frames(close)
    assert md.n_bars == 48 and md.symbols == ["A", "B"]
