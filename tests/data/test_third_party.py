"""Files in the shapes other tools write (tests/data/third_party/) load to the exact UTC bars, or fail
with a named error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from multifolio.data import MarketDataError, read_csv, read_parquet

HERE = Path(__file__).parent / "third_party"


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# file, reader keyword arguments, (first, last, bars, symbols)
GOOD: list[tuple[str, dict[str, Any], tuple[pd.Timestamp, pd.Timestamp, int, list[str]]]] = [
    ("dayfirst.csv", {}, (utc("2017-01-02"), utc("2017-01-16"), 15, ["dayfirst"])),
    ("dayfirst.csv", {"date_format": "dayfirst"}, (utc("2017-01-02"), utc("2017-01-16"), 15, ["dayfirst"])),
    ("dayfirst.csv", {"date_format": "%d.%m.%Y %H:%M"},
     (utc("2017-01-02"), utc("2017-01-16"), 15, ["dayfirst"])),
    ("monthfirst.csv", {}, (utc("2024-01-08"), utc("2024-01-19"), 12, ["monthfirst"])),
    ("iso_offsets.csv", {}, (utc("2024-01-01 22:00"), utc("2024-01-02 03:00"), 6, ["iso_offsets"])),
    ("epoch_ms.csv", {}, (utc("2024-01-01 00:00"), utc("2024-01-01 04:00"), 5, ["epoch_ms"])),
    ("epoch_ms.csv", {"epoch_unit": "ms"},
     (utc("2024-01-01 00:00"), utc("2024-01-01 04:00"), 5, ["epoch_ms"])),
    ("wide_close.csv", {}, (utc("2024-01-01"), utc("2024-01-05"), 5, ["AAA", "BBB", "CCC"])),
    ("wide_close.parquet", {}, (utc("2024-03-01"), utc("2024-03-03"), 3, ["AAA", "BBB"])),
    ("unnamed_index.csv", {}, (utc("2024-02-01"), utc("2024-02-04"), 4, ["unnamed_index"])),
    ("mixed_names", {}, (utc("2024-01-01"), utc("2024-01-03"), 3, ["A", "B", "C", "D", "E"])),
    ("ambiguous.csv", {"date_format": "dayfirst"}, (utc("2024-02-01"), utc("2024-02-03"), 3, ["ambiguous"])),
    ("ambiguous.csv", {"date_format": "monthfirst"},
     (utc("2024-01-02"), utc("2024-03-02"), 3, ["ambiguous"])),
    ("mixed_bar_sizes", {"timeframe": "1d"}, (utc("2024-01-01"), utc("2024-01-03"), 3, ["DAILY", "HOURLY"])),
    ("bar_numbers.csv", {"epoch_unit": "s"},
     (utc("1970-01-01 00:00:00"), utc("1970-01-01 00:00:04"), 5, ["bar_numbers"])),
]


def load(name: str, **kwargs: Any) -> Any:
    path = HERE / name
    return read_parquet(path, **kwargs) if name.endswith(".parquet") else read_csv(path, **kwargs)


@pytest.mark.parametrize("name, kwargs, expected", GOOD,
                         ids=[f"{g[0]}-{'-'.join(g[1]) or 'auto'}" for g in GOOD])
def test_third_party_file_loads_to_exact_utc_bars(name: str, kwargs: dict[str, Any],
                                                  expected: tuple[pd.Timestamp, pd.Timestamp, int, list[str]]
                                                  ) -> None:
    first, last, count, symbols = expected
    md = load(name, **kwargs)
    assert str(md.index.tz) == "UTC"
    assert (md.index[0], md.index[-1], md.n_bars) == (first, last, count)
    assert md.symbols == symbols
    assert bool(np.all(np.diff(md.index.asi8) > 0))


# file, reader keyword arguments, expected problem (substring), file named in the error
BAD = [
    ("ambiguous.csv", {}, "ambiguous dates in column 'Date'", "ambiguous.csv"),
    ("mixed_tz_daily", {}, "1d bars stamped at different times of day", "mixed_tz_daily"),
    ("mixed_bar_sizes", {}, "files have different bar sizes (1h: HOURLY.csv; 1d: DAILY.csv)",
     "mixed_bar_sizes"),
    ("bar_numbers.csv", {}, "column 'timestamp' holds numbers 0 .. 4 that are not epoch times",
     "bar_numbers.csv"),
    ("dayfirst.csv", {"date_format": "monthfirst"}, "unreadable timestamp '13.01.2017 00:00'",
     "dayfirst.csv"),
]


@pytest.mark.parametrize("name, kwargs, problem, where", BAD, ids=[b[0] for b in BAD])
def test_third_party_file_fails_with_a_named_error(name: str, kwargs: dict[str, Any], problem: str,
                                                    where: str) -> None:
    with pytest.raises(MarketDataError) as info:
        load(name, **kwargs)
    assert problem in info.value.problem
    assert where in str(info.value)


def test_dayfirst_values_land_on_their_own_dates() -> None:
    md = read_csv(HERE / "dayfirst.csv")
    # 04.01.2017 is the 4th of January (the third row), never the 1st of April.
    assert md.index[2] == utc("2017-01-04") and md.close[2, 0] == 102.5
    assert md.index.equals(pd.date_range("2017-01-02", periods=15, freq="D", tz="UTC"))


def test_ambiguous_error_asks_for_date_format() -> None:
    with pytest.raises(MarketDataError, match="pass date_format= with 'dayfirst', 'monthfirst'"):
        read_csv(HERE / "ambiguous.csv")


def test_mixed_tz_daily_names_both_files_and_times() -> None:
    with pytest.raises(MarketDataError) as info:
        read_csv(HERE / "mixed_tz_daily")
    text = str(info.value)
    assert "'CET_MIDNIGHT'" in text and "'UTC_MIDNIGHT'" in text
    assert "23:00" in text and "00:00" in text
    assert "CET_MIDNIGHT.csv" in text and "UTC_MIDNIGHT.csv" in text


def test_unnamed_index_file_reads_capitalised_ohlcv_and_ignores_adj_close() -> None:
    md = read_csv(HERE / "unnamed_index.csv")
    assert md.open[:, 0].tolist() == [5.0, 6.0, 7.0, 8.0]
    assert md.close[:, 0].tolist() == [5.5, 6.5, 7.5, 8.5]
    assert md.volume[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert md.fields == {}


def test_wide_file_keeps_gaps_as_missing_bars() -> None:
    md = read_csv(HERE / "wide_close.csv")
    bbb = md.symbol_index("BBB")
    assert np.isnan(md.close[1, bbb]) and not md.tradable[1, bbb]
    assert md.close[:, md.symbol_index("CCC")].tolist() == [100.0, 101.0, 102.0, 103.0, 104.0]


def test_mixed_bar_sizes_resample_the_hourly_file_to_days() -> None:
    md = read_csv(HERE / "mixed_bar_sizes", timeframe="1d")
    h = md.symbol_index("HOURLY")
    # 48 hourly bars -> two days: first open, max high, min low, last close of each day
    assert md.open[:2, h].tolist() == [10.0, 34.0]
    assert md.high[:2, h].tolist() == [34.0, 58.0]
    assert md.low[:2, h].tolist() == [9.0, 33.0]
    assert md.close[:2, h].tolist() == [33.5, 57.5]
    assert np.isnan(md.close[2, h])
    assert md.close[:, md.symbol_index("DAILY")].tolist() == [5.0, 6.0, 7.0]
