"""CandleStore: round trips, upserts, atomic imports, reads, errors and SQL resampling."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from multifolio.data import CandleStore, MarketData, MarketDataError, synthetic

from .test_long_and_files import assert_same


@pytest.fixture
def md() -> MarketData:
    base = synthetic(4, 72, freq="1h", seed=5, crash_every_bars=0)
    close = base.close.copy()
    close[:6, 3] = np.nan  # listed at bar 6
    close[-10:, 1] = np.nan  # delisted 10 bars before the end
    close[20, 0] = np.nan  # a missing bar
    mask = np.isnan(close)
    arrays = [np.where(mask, np.nan, a) for a in (base.open, base.high, base.low, close, base.volume)]
    return MarketData(base.index, base.symbols, *arrays)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CandleStore]:
    with CandleStore(tmp_path / "candles.duckdb") as s:
        yield s


def count(store: CandleStore) -> int:
    return store.con.execute("SELECT count(*) FROM candles").fetchone()[0]


def test_frames_to_store_to_market_data_round_trip(store: CandleStore, md: MarketData) -> None:
    wide = {f: md.frame(f) for f in ("open", "high", "low", "close", "volume")}
    from_frames = MarketData.from_frames(**wide)
    written = store.write(from_frames, exchange="binance")
    assert written == int((~np.isnan(md.close)).sum())
    back = store.read(md.symbols, "1h")
    assert_same(back, md)
    np.testing.assert_array_equal(back.first_bar, [0, 0, 0, 6])
    np.testing.assert_array_equal(back.last_bar, [71, 61, 71, 71])


def test_store_persists_across_reopen(tmp_path: Path, md: MarketData) -> None:
    path = tmp_path / "p.duckdb"
    with CandleStore(path) as s:
        s.write(md)
    with CandleStore(path, read_only=True) as s:
        assert_same(s.read(md.symbols, "1h"), md)


def test_write_is_idempotent_and_upserts(store: CandleStore, md: MarketData) -> None:
    store.write(md)
    n = count(store)
    store.write(md)
    assert count(store) == n
    # A corrected candle replaces the stored one.
    fix = pd.DataFrame({"timestamp": [md.index[3]], "symbol": ["S001"], "open": [1.0], "high": [2.0],
                        "low": [0.5], "close": [1.5], "volume": [9.0]})
    store.write(fix, timeframe="1h")
    assert count(store) == n
    back = store.read(["S001"], "1h")
    assert back.close[3, 0] == 1.5 and back.volume[3, 0] == 9.0
    assert back.close[4, 0] == md.close[4, 1]


def test_failure_mid_import_leaves_the_store_as_it_was(store: CandleStore, md: MarketData) -> None:
    store.write(md.select(["S000"]))
    before = pd.DataFrame(store.con.execute("SELECT * FROM candles ORDER BY symbol, ts").fetchall())

    def batches() -> Iterator[MarketData]:
        yield md.select(["S001", "S002"])  # inserted inside the transaction ...
        yield md.select(["S000"]).slice(end=md.index[9])  # ... overwrites existing rows ...
        raise RuntimeError("connection lost")  # ... then the import dies

    with pytest.raises(RuntimeError, match="connection lost"):
        store.write_many(batches())
    after = pd.DataFrame(store.con.execute("SELECT * FROM candles ORDER BY symbol, ts").fetchall())
    pd.testing.assert_frame_equal(before, after)
    assert store.symbols() == ["S000"]


def test_bad_file_in_folder_rolls_back_the_whole_import(store: CandleStore, tmp_path: Path,
                                                        md: MarketData) -> None:
    folder = tmp_path / "csv"
    folder.mkdir()
    long = md.to_long()
    for sym, part in long.groupby("symbol"):
        part.drop(columns="symbol").to_csv(folder / f"{sym}.csv", index=False)
    bad = pd.read_csv(folder / "S002.csv")
    bad.loc[5, "high"] = bad.loc[5, "low"] / 2
    bad.to_csv(folder / "S002.csv", index=False)
    with pytest.raises(MarketDataError) as info:
        store.import_csv(folder, exchange="x")
    assert info.value.problem == "high below low" and info.value.symbol == "S002"
    assert info.value.source == str(folder / "S002.csv")
    assert count(store) == 0  # S000 and S001 were inserted before S002 failed, and rolled back
    (folder / "S002.csv").unlink()
    assert store.import_csv(folder, exchange="x") == int((~np.isnan(md.close[:, [0, 1, 3]])).sum())
    assert store.symbols() == ["S000", "S001", "S003"]


def test_import_parquet_and_ranges(store: CandleStore, tmp_path: Path, md: MarketData) -> None:
    path = tmp_path / "c.parquet"
    pq.write_table(pa.Table.from_pandas(md.to_long(), preserve_index=False), path)
    store.import_parquet(path, exchange="kraken")
    assert_same(store.read(md.symbols, "1h", exchange="kraken"), md)
    r = store.ranges()
    assert list(r.columns) == ["exchange", "symbol", "timeframe", "start", "end", "n_bars"]
    row = r[r.symbol == "S003"].iloc[0]
    assert (row.exchange, row.timeframe, row.n_bars) == ("kraken", "1h", 66)
    assert row.start == md.index[6] and row.end == md.index[-1]
    assert store.latest("S001", "1h", "kraken") == md.index[61]
    assert store.latest("S001", "1h", "binance") is None


def test_read_range_order_and_string_dates(store: CandleStore, md: MarketData) -> None:
    store.write(md)
    part = store.read(["S003", "S000"], "60min", start="2023-01-01 10:00", end=md.index[20])
    assert part.symbols == ["S003", "S000"]
    assert part.index[0] == pd.Timestamp("2023-01-01 10:00", tz="UTC") and part.index[-1] == md.index[20]
    np.testing.assert_array_equal(part.close[:, 1], md.close[10:21, 0])
    assert_same(store.read(None, "1h"), md)  # None = every symbol of the timeframe


def test_missing_symbol_lists_what_is_available(store: CandleStore, md: MarketData) -> None:
    store.write(md)
    with pytest.raises(MarketDataError) as info:
        store.read(["S000", "BTC/USDT"], "1h")
    assert info.value.symbol == "BTC/USDT"
    assert "not in the store" in info.value.problem and "S000, S001, S002, S003" in info.value.problem


def test_missing_range_says_what_is_stored(store: CandleStore, md: MarketData) -> None:
    store.write(md)
    with pytest.raises(MarketDataError) as info:
        store.read(["S003"], "1h", end=md.index[3])  # S003 lists at bar 6
    assert info.value.symbol == "S003" and "stored: local: " + str(md.index[6]) in info.value.problem


def test_missing_timeframe_names_the_stored_ones(store: CandleStore, md: MarketData) -> None:
    store.write(md, exchange="binance")
    with pytest.raises(MarketDataError, match="stored as binance:1h") as info:
        store.read(["S000"], "1d")
    assert info.value.symbol == "S000"


def test_symbol_on_two_exchanges_needs_exchange(store: CandleStore, md: MarketData) -> None:
    store.write(md, exchange="a")
    store.write(md, exchange="b")
    with pytest.raises(MarketDataError, match=r"several exchanges \['a', 'b'\]"):
        store.read(["S000"], "1h")
    assert_same(store.read(md.symbols, "1h", exchange="b"), md)
    assert store.symbols(exchange="a") == md.symbols


def test_sql_resample_matches_in_memory_resample(store: CandleStore, md: MarketData) -> None:
    store.write(md)
    in_memory = md.resample("4h")
    # Summation order differs between SQL and NumPy: volumes agree to rounding.
    assert_same(store.read(md.symbols, "4h", source_timeframe="1h"), in_memory, volume_rtol=1e-14)
    written = store.resample("1h", "4h")
    assert written == int((~np.isnan(in_memory.close)).sum())
    assert_same(store.read(md.symbols, "4h"), in_memory, volume_rtol=1e-14)
    assert store.resample("1h", "4h") == written  # idempotent upsert


def test_timeframe_needed_for_single_bars(store: CandleStore) -> None:
    one = pd.DataFrame({"timestamp": ["2024-01-01"], "symbol": ["A"], "close": [1.0]})
    with pytest.raises(MarketDataError, match="pass timeframe="):
        store.write(one)
    assert store.write(one, timeframe="1d") == 1


def test_closed_store_refuses_work(tmp_path: Path) -> None:
    s = CandleStore(tmp_path / "c.duckdb")
    s.close()
    s.close()
    with pytest.raises(MarketDataError, match="closed"):
        s.symbols()


def test_default_store_path_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from multifolio.data import default_store_path

    monkeypatch.setenv("MULTIFOLIO_STORE", str(tmp_path / "x.duckdb"))
    assert default_store_path() == tmp_path / "x.duckdb"
    monkeypatch.delenv("MULTIFOLIO_STORE")
    assert default_store_path() == Path.home() / ".multifolio" / "candles.duckdb"


def test_off_grid_daily_closes_round_trip(store: CandleStore) -> None:
    # US closes at 16:00 New York: 21:00 or 20:00 UTC across daylight saving (not on a 1d grid).
    idx = pd.bdate_range("2024-03-01", "2024-03-29").tz_localize("America/New_York") + pd.Timedelta(hours=16)
    close = np.linspace(100.0, 120.0, len(idx))
    md = MarketData.from_frames(close=pd.DataFrame({"SPY": close}, index=idx))
    store.write(md, timeframe="1d")
    back = store.read(["SPY"], "1d")
    assert back.index.equals(idx.tz_convert("UTC"))
    np.testing.assert_array_equal(back.close[:, 0], close)


def test_import_parquet_without_symbol_column(store: CandleStore, tmp_path: Path) -> None:
    path = tmp_path / "SOLUSDT.parquet"
    frame = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=5, freq="4h"),
                          "open": [1.0, 2, 3, 4, 5], "high": [2.0, 3, 4, 5, 6], "low": [0.5, 1, 2, 3, 4],
                          "close": [1.5, 2.5, 3.5, 4.5, 5.5], "volume": [1.0, 1, 1, 1, 1]})
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    assert store.import_parquet(path) == 5
    md = store.read("SOLUSDT", "4h")
    assert md.symbols == ["SOLUSDT"] and md.close[:, 0].tolist() == [1.5, 2.5, 3.5, 4.5, 5.5]
