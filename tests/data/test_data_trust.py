"""Data you can trust: one date format per column, real timestamps, one tradable rule, one timeframe,
printable errors, the file shapes other tools write (issue "Data you can trust")."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from multifolio.data import CandleStore, MarketData, MarketDataError, from_long, read_csv, read_parquet

# New helpers are imported inside the tests that use them, so that every other test here runs (and
# fails for the behaviour it pins) against the code before the fix.


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def timestamps_to_ns(*args: object, **kwargs: object) -> np.ndarray:
    from multifolio.data.timestamps import timestamps_to_ns as parse

    return parse(*args, **kwargs)


def stamps(values: list[object], **kwargs: object) -> list[pd.Timestamp]:
    ns = timestamps_to_ns(values, **kwargs)
    return list(pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC"))


# -- 1. one date format per column -----------------------------------------------------------------
def test_dayfirst_dates_are_read_day_first_in_every_row() -> None:
    # Row by row, "04.01.2017" read as April 1st while "13.01.2017" could only be January 13th.
    t = {"timestamp": ["02.01.2017 00:00", "03.01.2017 00:00", "04.01.2017 00:00", "13.01.2017 00:00"],
         "symbol": "A", "close": [1.0, 2.0, 3.0, 4.0]}
    md = from_long(pd.DataFrame(t))
    assert list(md.index) == [utc("2017-01-02"), utc("2017-01-03"), utc("2017-01-04"), utc("2017-01-13")]
    assert md.close[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_monthfirst_decided_by_the_second_field() -> None:
    assert stamps(["01/05/2024", "01/13/2024"]) == [utc("2024-01-05"), utc("2024-01-13")]


def test_day_and_month_first_in_one_column_is_an_error() -> None:
    with pytest.raises(MarketDataError) as info:
        timestamps_to_ns(["13.01.2024", "01.13.2024"], "f.csv", column="Date")
    assert "mixes day-first '13.01.2024' (row 1) and month-first '01.13.2024' (row 2)" in info.value.problem
    assert info.value.source == "f.csv"


def test_ambiguous_dates_ask_for_date_format_from_one_place() -> None:
    from multifolio.data.timestamps import date_format_hint

    with pytest.raises(MarketDataError) as info:
        from_long(pd.DataFrame({"Date": ["01.02.2024", "02.02.2024"], "symbol": "A", "close": [1.0, 2.0]}),
                  source="x.csv")
    assert "ambiguous dates in column 'Date'" in info.value.problem
    assert date_format_hint() in info.value.problem
    assert date_format_hint("--date-format").startswith("pass --date-format with")


def test_date_format_is_passed_through_every_reader(tmp_path: Path) -> None:
    frame = pd.DataFrame({"Date": ["01.02.2024", "02.02.2024"], "close": [1.0, 2.0]})
    frame.to_csv(tmp_path / "A.csv", index=False)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "A.parquet")
    first = [utc("2024-02-01"), utc("2024-02-02")]
    assert list(read_csv(tmp_path / "A.csv", date_format="dayfirst").index) == first
    assert list(MarketData.read_csv(tmp_path / "A.csv", date_format="%d.%m.%Y").index) == first
    assert list(read_parquet(tmp_path / "A.parquet", date_format="dayfirst").index) == first
    assert list(MarketData.read_parquet(tmp_path / "A.parquet", date_format="dayfirst").index) == first
    assert list(from_long(frame.assign(symbol="A"), date_format="monthfirst").index) == [
        utc("2024-01-02"), utc("2024-02-02")]
    wide = pd.DataFrame({"A": [1.0, 2.0]}, index=pd.Index(["01.02.2024", "02.02.2024"]))
    assert list(MarketData.from_frames(wide, date_format="dayfirst").index) == first
    with CandleStore(":memory:") as store:
        store.import_csv(tmp_path / "A.csv", timeframe="1d", date_format="dayfirst")
        assert list(store.read("A", "1d").index) == first


def test_explicit_format_that_does_not_fit_names_the_row() -> None:
    with pytest.raises(MarketDataError, match=r"unreadable timestamp '2024-13-01' in column 'ts' \(row 2\)"):
        timestamps_to_ns(["2024-01-01", "2024-13-01"], column="ts", date_format="%Y-%m-%d")


def test_iso_and_offsets_still_convert_to_utc() -> None:
    assert stamps(["2024-01-02T00:00:00+02:00", "2024-07-02T00:00:00+03:00", "2024-07-03 00:00Z"]) == [
        utc("2024-01-01 22:00"), utc("2024-07-01 21:00"), utc("2024-07-03")]
    assert stamps(["2024/01/02 10:00", "2024/01/13 10:00"]) == [utc("2024-01-02 10:00"),
                                                              utc("2024-01-13 10:00")]


def test_folder_files_are_each_read_in_their_own_format(tmp_path: Path) -> None:
    (tmp_path / "A.csv").write_text("Date,Close\n30.01.2024,1\n31.01.2024,2\n01.02.2024,3\n")
    (tmp_path / "B.csv").write_text("timestamp,close\n2024-01-30,1\n2024-01-31,2\n2024-02-01,3\n")
    md = read_csv(tmp_path)
    assert md.n_bars == 3 and md.tradable.all()


# -- 4. timestamps or nothing ----------------------------------------------------------------------
def test_frames_with_a_range_index_are_refused() -> None:
    close = pd.DataFrame({"A": [1.0, 2.0, 3.0]})
    with pytest.raises(MarketDataError) as info:
        MarketData.from_frames(close)
    assert "close has no timestamps: its index is a RangeIndex" in str(info.value)
    with pytest.raises(MarketDataError, match="has no timestamps"):
        MarketData(pd.RangeIndex(3), ["A"], *(np.ones((3, 1)),) * 4)


def test_frames_may_carry_a_timestamp_column_instead() -> None:
    close = pd.DataFrame({"Date": ["2024-01-01", "2024-01-02"], "A": [1.0, 2.0]})
    md = MarketData.from_frames(close)
    assert md.symbols == ["A"] and list(md.index) == [utc("2024-01-01"), utc("2024-01-02")]


@pytest.mark.parametrize("values, unit", [
    ([1_704_067_200, 1_704_070_800], "s"),
    ([1_704_067_200_000, 1_704_070_800_000], "ms"),
    ([1_704_067_200_000_000, 1_704_070_800_000_000], "us"),
    ([1_704_067_200_000_000_000, 1_704_070_800_000_000_000], "ns"),
])
def test_epoch_unit_is_inferred_from_the_magnitude(values: list[int], unit: str) -> None:
    expected = [utc("2024-01-01 00:00"), utc("2024-01-01 01:00")]
    assert stamps(values) == expected
    assert stamps(values, epoch_unit=unit) == expected


def test_integers_in_no_epoch_band_are_refused() -> None:
    with pytest.raises(MarketDataError, match="holds numbers 0 .. 2 that are not epoch times"):
        from_long(pd.DataFrame({"timestamp": [0, 1, 2], "symbol": "A", "close": [1.0, 2.0, 3.0]}))
    with pytest.raises(MarketDataError, match="not epoch times in one unit"):  # seconds mixed with ms
        timestamps_to_ns(np.array([1_704_067_200, 1_704_067_200_000]))
    assert stamps([20240102, 20240103], date_format="%Y%m%d") == [utc("2024-01-02"), utc("2024-01-03")]
    with pytest.raises(MarketDataError, match="epoch_unit must be one of"):
        timestamps_to_ns([1, 2], epoch_unit="days")


# -- 5. one tradable rule --------------------------------------------------------------------------
def test_tradable_is_open_and_close_present() -> None:
    from multifolio.data.market_data import tradable_bars

    o = np.array([[1.0, np.nan, 1.0, np.inf]])
    c = np.array([[1.0, 1.0, np.nan, 1.0]])
    assert tradable_bars(o, c).tolist() == [[True, False, False, False]]
    idx = pd.date_range("2024-01-01", periods=1, tz="UTC")
    md = MarketData(idx, list("ABCD"), np.array([[1.0, np.nan, 1.0, 1.0]]), np.full((1, 4), 2.0),
                    np.full((1, 4), 0.5), c, tradable=np.ones((1, 4), dtype=bool))
    assert md.tradable.tolist() == [[True, False, False, True]]  # an explicit mask only narrows the rule


def test_store_does_not_keep_bars_without_a_close(caplog: pytest.LogCaptureFixture) -> None:
    t = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=4, freq="h"), "symbol": "A",
                      "open": [1.0, 2.0, 3.0, 4.0], "close": [1.0, np.nan, 3.0, 4.0]})
    with CandleStore(":memory:") as store, caplog.at_level(logging.WARNING, "multifolio.data.store"):
        assert store.write(t, timeframe="1h") == 3
        assert store.dropped == 1
        assert store.con.execute("SELECT count(*), count(close) FROM candles").fetchall() == [(3, 3)]
    assert "1 bar(s) without a close not stored" in caplog.text


def test_store_counts_market_data_bars_without_a_close() -> None:
    md = MarketData(pd.date_range("2024-01-01", periods=3, freq="h", tz="UTC"), ["A"],
                    open=np.array([[1.0], [2.0], [3.0]]), high=np.array([[1.0], [2.0], [3.0]]),
                    low=np.array([[1.0], [2.0], [3.0]]), close=np.array([[1.0], [np.nan], [3.0]]))
    with CandleStore(":memory:") as store:
        assert store.write(md, timeframe="1h") == 2 and store.dropped == 1


# -- 6. one timeframe ------------------------------------------------------------------------------
def test_daily_rows_then_hourly_rows_are_mixed_timeframes() -> None:
    days = pd.date_range("2024-01-01", periods=10, freq="D", tz="UTC")
    hours = pd.date_range("2024-01-11", periods=100, freq="h", tz="UTC")
    close = pd.DataFrame({"A": np.linspace(1, 2, 110)}, index=days.append(hours))
    with pytest.raises(MarketDataError) as info:
        MarketData.from_frames(close)
    assert info.value.problem == "mixed timeframes: 11 consecutive bars 1d apart where the data is 1h"
    assert info.value.symbol == "A" and info.value.timestamp == utc("2024-01-01")


def test_daily_close_with_hourly_open_is_mixed_timeframes() -> None:
    days = pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC")
    hours = pd.date_range("2024-01-01", periods=97, freq="h", tz="UTC")
    close = pd.DataFrame({"A": np.full(5, 10.0)}, index=days)
    open_ = pd.DataFrame({"A": np.full(97, 10.0)}, index=hours)
    with pytest.raises(MarketDataError, match=r"mixed timeframes: open has 92 timestamp\(s\) close does not "
                                              r"have \(open bars 1h apart, close has 1d bars\)"):
        MarketData.from_frames(close, open=open_, high=open_ + 1, low=open_ - 1)


def test_daily_bars_at_different_times_of_day_are_named() -> None:
    a = pd.DataFrame({"A": np.arange(1.0, 6.0)},
                     index=pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC"))
    b = pd.DataFrame({"B": np.arange(1.0, 6.0)},
                     index=pd.date_range("2023-12-31 23:00", periods=5, freq="D", tz="UTC"))
    with pytest.raises(MarketDataError) as info:
        MarketData.from_frames(a.join(b, how="outer"))
    assert "1d bars stamped at different times of day: 'B' at 23:00, 'A' at 00:00 UTC" in info.value.problem


def test_legit_gaps_pass() -> None:
    # Hourly stock bars (7 a day, weekends off), daily bars with weekends, and two symbols stamped at
    # local midnight in one zone across a daylight-saving change are each one timeframe.
    hours = pd.date_range("2024-01-01", periods=24 * 21, freq="h", tz="UTC")
    hours = hours[(hours.hour >= 14) & (hours.hour <= 20) & (hours.day_of_week < 5)]
    assert MarketData.from_frames(pd.DataFrame({"A": np.linspace(1, 2, len(hours))}, index=hours)).n_bars
    days = pd.bdate_range("2024-01-01", periods=60, tz="UTC")
    assert MarketData.from_frames(pd.DataFrame({"A": np.linspace(1, 2, 60)}, index=days)).n_bars == 60
    local = pd.date_range("2024-03-20", periods=20, freq="D", tz="Europe/Berlin")
    both = pd.DataFrame({"A": np.linspace(1, 2, 20), "B": np.linspace(3, 4, 20)}, index=local)
    assert MarketData.from_frames(both).n_bars == 20


def _hourly(start: str, n: int = 6, symbol: str = "A") -> pd.DataFrame:
    return pd.DataFrame({"timestamp": pd.date_range(start, periods=n, freq="h", tz="UTC"), "symbol": symbol,
                         "close": np.linspace(1, 2, n)})


def test_store_refuses_half_hour_bars_of_an_hourly_symbol() -> None:
    with CandleStore(":memory:") as store:
        store.write(_hourly("2024-01-01 00:00"), timeframe="1h")
        with pytest.raises(MarketDataError) as info:
            store.write(_hourly("2024-01-02 00:30"), timeframe="1h")
        assert "mixed timeframes: bar off the common 1h grid" in info.value.problem
        assert "already stored" in info.value.problem and info.value.symbol == "A"
        assert store.con.execute("SELECT count(*) FROM candles").fetchall() == [(6,)]
        store.write(_hourly("2024-01-02 00:00"), timeframe="1h")  # on the grid: fine
        store.write(_hourly("2024-01-02 00:30", symbol="B"), timeframe="1h")  # another symbol: stored
        with pytest.raises(MarketDataError, match="bar off the common 1h grid"):
            store.read(["A", "B"], "1h")  # but the two cannot share a clock


def test_store_refuses_daily_bars_at_another_time_of_day(tmp_path: Path) -> None:
    def daily(start: str) -> pd.DataFrame:
        return pd.DataFrame({"timestamp": pd.date_range(start, periods=5, freq="D", tz="UTC"), "symbol": "A",
                             "close": np.linspace(1, 2, 5)})
    with CandleStore(":memory:") as store:
        store.write(daily("2024-01-01 00:00"), timeframe="1d")
        with pytest.raises(MarketDataError, match="1d bars stamped at different times of day"):
            store.write(daily("2024-01-03 23:00"), timeframe="1d")
        store.write(daily("2024-01-06 00:00"), timeframe="1d")
        assert store.read("A", "1d").n_bars == 10


# -- 11. printable errors --------------------------------------------------------------------------
@pytest.mark.parametrize("content", [
    b"timestamp,close\n\x1b[2J\x1b]0;pwned\x07\x00\xff\xfe" + b"A" * 500 + b",1\n",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x1b[31mred" + bytes(range(256)) * 4,
], ids=["escapes-in-a-field", "binary-file"])
def test_errors_from_binary_files_are_printable_and_short(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.csv"
    path.write_bytes(content)
    with pytest.raises(MarketDataError) as info:
        read_csv(path)
    text = str(info.value)
    assert not any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in text), text
    assert len(text) < 500 and "junk.csv" in text


def test_clean_text_escapes_and_truncates() -> None:
    from multifolio.data.errors import clean_text

    assert clean_text("a\x1b[31mb\nc") == "a\\x1b[31mb\\x0ac"
    assert clean_text("x" * 1000, 20) == "x" * 17 + "..."
    err = MarketDataError("bad\x07", symbol="S\x1b", source="f\x00.csv")
    assert "\x07" not in str(err) and "\x1b" not in str(err) and "\x00" not in str(err)


# -- 12. what pandas and other libraries write -----------------------------------------------------
def test_pandas_default_to_csv_round_trips(tmp_path: Path) -> None:
    idx = pd.date_range("2024-01-01", periods=3, freq="D")
    df = pd.DataFrame({"Open": [1.0, 2.0, 3.0], "High": [2.0, 3.0, 4.0], "Low": [0.5, 1.5, 2.5],
                       "Close": [1.5, 2.5, 3.5], "Volume": [10, 20, 30]}, index=idx)
    df.to_csv(tmp_path / "SPY.csv")
    df.to_parquet(tmp_path / "SPY.parquet")
    for md in (read_csv(tmp_path / "SPY.csv"), read_parquet(tmp_path / "SPY.parquet")):
        assert md.symbols == ["SPY"] and md.index.equals(idx.tz_localize("UTC"))
        assert md.high[:, 0].tolist() == [2.0, 3.0, 4.0] and md.volume[:, 0].tolist() == [10.0, 20.0, 30.0]
    wide = pd.DataFrame({"AAPL": [1.0, 2.0, 3.0], "MSFT": [4.0, 5.0, 6.0]}, index=idx)
    wide.to_csv(tmp_path / "wide.csv")
    md = read_csv(tmp_path / "wide.csv")
    assert md.symbols == ["AAPL", "MSFT"] and md.close[:, 1].tolist() == [4.0, 5.0, 6.0]


def test_wide_layout_can_be_forced_and_bad_columns_are_named(tmp_path: Path) -> None:
    (tmp_path / "w.csv").write_text("Date,C,V\n2024-01-01,1,2\n2024-01-02,3,4\n")
    assert read_csv(tmp_path / "w.csv", layout="wide").symbols == ["C", "V"]  # tickers C and V
    (tmp_path / "w.csv").write_text("Date,AAA,BBB\n2024-01-01,1,x\n2024-01-02,3,4\n")
    with pytest.raises(MarketDataError, match="column 'BBB' holds non-numeric values") as info:
        read_csv(tmp_path / "w.csv")
    assert info.value.source == str(tmp_path / "w.csv")


def test_long_file_without_a_time_column_is_named(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("when,close\n2024-01-01,1\n")
    with pytest.raises(MarketDataError, match="no timestamp column") as info:
        read_csv(tmp_path / "x.csv")
    assert info.value.source == str(tmp_path / "x.csv")


# -- 13. folders of several bar sizes --------------------------------------------------------------
def test_a_file_coarser_than_the_requested_timeframe_is_named(tmp_path: Path) -> None:
    _hourly("2024-01-01", 48).drop(columns="symbol").to_csv(tmp_path / "H.csv", index=False)
    pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=3, freq="D"), "close": [1.0, 2.0, 3.0]}
                 ).to_csv(tmp_path / "D.csv", index=False)
    with pytest.raises(MarketDataError) as info:
        read_csv(tmp_path, timeframe="1h")
    assert info.value.problem == ("file has 1d bars, coarser than the requested 1h; "
                                  "finer bars cannot be made from them")
    assert info.value.source == str(tmp_path / "D.csv")
    md = read_csv(tmp_path, timeframe="1d")  # the hourly file resampled to days
    assert md.n_bars == 3 and md.close[:, md.symbol_index("H")][:2].tolist() == [
        _hourly("2024-01-01", 48).close.iloc[23], _hourly("2024-01-01", 48).close.iloc[47]]
