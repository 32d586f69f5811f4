"""fetch_ohlcv_to_store against a fake exchange serving recorded pages (no network)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ccxt
import numpy as np
import pandas as pd
import pytest

from multifolio.data import CandleStore, MarketDataError, fetch_ohlcv_to_store, make_exchange

HOUR_MS = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def candle(i: int, base: float = 100.0) -> list[float]:
    p = base + i
    return [T0 + i * HOUR_MS, p, p + 2, p - 1, p + 1, 10.0 + i]


class RecordedExchange:
    """Serves candles 0..n-1 of each symbol in pages; `failures` maps a request number to an error."""

    id = "fakex"
    rateLimit = 250  # ms

    def __init__(self, n: int, failures: dict[int, Exception] | None = None, now_index: int | None = None):
        self.n = n
        self.failures = failures or {}
        self.calls: list[tuple[str, str, int, int]] = []
        # "now": inside candle now_index (still forming) unless all candles are in the past
        self.now = T0 + (now_index if now_index is not None else n + 5) * HOUR_MS + 60_000

    def milliseconds(self) -> int:
        return self.now

    def fetch_ohlcv(self, symbol: str, timeframe: str, since: int, limit: int) -> list[list[float]]:
        self.calls.append((symbol, timeframe, since, limit))
        err = self.failures.pop(len(self.calls), None)
        if err is not None:
            raise err
        first = max(0, -(-(since - T0) // HOUR_MS))
        base = 100.0 if symbol == "BTC/USDT" else 10.0
        last = min(self.n, first + limit)
        if T0 + (last - 1) * HOUR_MS > self.now:  # an exchange serves up to the forming candle
            last = (self.now - T0) // HOUR_MS + 1
        return [candle(i, base) for i in range(first, last)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CandleStore]:
    with CandleStore(tmp_path / "c.duckdb") as s:
        yield s


def test_paginates_and_writes_everything(store: CandleStore) -> None:
    ex = RecordedExchange(25)
    sleeps: list[float] = []
    out = fetch_ohlcv_to_store(ex, store, ["BTC/USDT", "ETH/USDT"], "1h", since=T0, limit=10,
                               sleep=sleeps.append)
    assert out == {"BTC/USDT": 25, "ETH/USDT": 25}
    # 10 + 10 + 5 candles, then an empty page ends each symbol: 4 requests per symbol.
    assert [c[2] for c in ex.calls[:4]] == [T0, T0 + 10 * HOUR_MS, T0 + 20 * HOUR_MS, T0 + 25 * HOUR_MS]
    assert len(ex.calls) == 8
    assert sleeps == [0.25] * 7  # rateLimit between any two requests
    md = store.read(["BTC/USDT", "ETH/USDT"], "1h", exchange="fakex")
    assert md.n_bars == 25
    np.testing.assert_array_equal(md.close[:, 0], 101.0 + np.arange(25))
    np.testing.assert_array_equal(md.high[:, 1], 12.0 + np.arange(25))
    assert md.index[0] == pd.Timestamp("2024-01-01", tz="UTC")


def test_network_error_is_retried_with_backoff(store: CandleStore) -> None:
    ex = RecordedExchange(15, failures={2: ccxt.NetworkError("timeout"), 3: ccxt.RequestTimeout("slow")})
    sleeps: list[float] = []
    out = fetch_ohlcv_to_store(ex, store, "BTC/USDT", "1h", since="2024-01-01", limit=10, sleep=sleeps.append)
    assert out == {"BTC/USDT": 15}
    # page 1 | rate, page 2 fails, backoff 0.5 s | rate, fails again, backoff 1 s | rate, page 2 |
    # rate, the empty page
    assert sleeps == [0.25, 0.5, 0.25, 1.0, 0.25, 0.25]
    assert [c[2] for c in ex.calls] == [T0, T0 + 10 * HOUR_MS, T0 + 10 * HOUR_MS, T0 + 10 * HOUR_MS,
                                        T0 + 15 * HOUR_MS]
    assert store.read(["BTC/USDT"], "1h").n_bars == 15


def test_retries_exhausted_keeps_written_pages_and_resumes(store: CandleStore) -> None:
    ex = RecordedExchange(30, failures={k: ccxt.NetworkError("down") for k in (2, 3, 4)})
    with pytest.raises(MarketDataError) as info:
        fetch_ohlcv_to_store(ex, store, ["BTC/USDT"], "1h", since=T0, limit=10, max_retries=2,
                             sleep=lambda s: None)
    err = info.value
    assert "after 2 retries" in err.problem and err.symbol == "BTC/USDT"
    assert err.timestamp == pd.Timestamp(T0 + 10 * HOUR_MS, unit="ms", tz="UTC") and err.source == "fakex"
    assert store.latest("BTC/USDT", "1h", "fakex") == pd.Timestamp("2024-01-01 09:00", tz="UTC")
    # Run again: it starts after the newest stored candle, not at `since`.
    ex.calls.clear()
    out = fetch_ohlcv_to_store(ex, store, ["BTC/USDT"], "1h", since=T0, limit=10, sleep=lambda s: None)
    assert out == {"BTC/USDT": 20}
    assert ex.calls[0][2] == T0 + 10 * HOUR_MS
    md = store.read(["BTC/USDT"], "1h")
    np.testing.assert_array_equal(md.close[:, 0], 101.0 + np.arange(30))


def test_until_and_the_forming_candle(store: CandleStore) -> None:
    ex = RecordedExchange(50, now_index=12)  # candle 12 is still forming
    out = fetch_ohlcv_to_store(ex, store, ["BTC/USDT"], "1h", since=T0, limit=100, sleep=lambda s: None)
    assert out == {"BTC/USDT": 12}  # candles 0..11; the forming one is not frozen into the store
    ex2 = RecordedExchange(50)
    out = fetch_ohlcv_to_store(ex2, store, ["ETH/USDT"], "1h", since=T0, until=T0 + 4 * HOUR_MS,
                               limit=3, sleep=lambda s: None)
    assert out == {"ETH/USDT": 5}
    assert store.latest("ETH/USDT", "1h", "fakex") == pd.Timestamp(T0 + 4 * HOUR_MS, unit="ms", tz="UTC")


def test_exchange_refusal_is_not_retried(store: CandleStore) -> None:
    ex = RecordedExchange(5, failures={1: ccxt.BadSymbol("binance does not have market symbol FOO/BAR")})
    with pytest.raises(MarketDataError, match="exchange error: .*FOO/BAR") as info:
        fetch_ohlcv_to_store(ex, store, ["FOO/BAR"], "1h", since=T0, sleep=lambda s: None)
    assert info.value.symbol == "FOO/BAR" and len(ex.calls) == 1


def test_bad_candle_from_the_exchange_is_rejected(store: CandleStore) -> None:
    class Broken(RecordedExchange):
        def fetch_ohlcv(self, symbol: str, timeframe: str, since: int, limit: int) -> list[list[float]]:
            page = super().fetch_ohlcv(symbol, timeframe, since, limit)
            if page and page[0][0] == T0 + 10 * HOUR_MS:
                page[3][2] = 1.0  # high below low
            return page

    with pytest.raises(MarketDataError, match="high below low") as info:
        fetch_ohlcv_to_store(Broken(20), store, ["BTC/USDT"], "1h", since=T0, limit=10, sleep=lambda s: None)
    assert info.value.timestamp == pd.Timestamp(T0 + 13 * HOUR_MS, unit="ms", tz="UTC")
    assert store.ranges().n_bars.tolist() == [10]  # the first page stays, the bad one is rolled back


def test_make_exchange() -> None:
    ex = make_exchange("binance")
    assert ex.id == "binance" and ex.rateLimit > 0 and not ex.enableRateLimit
    with pytest.raises(MarketDataError, match="unknown exchange 'nosuchexchange'"):
        make_exchange("nosuchexchange")


def test_backfill_fetches_history_older_than_the_store(store: CandleStore) -> None:
    ex = RecordedExchange(30)
    fetch_ohlcv_to_store(ex, store, ["BTC/USDT"], "1h", since=T0 + 10 * HOUR_MS, until=T0 + 19 * HOUR_MS,
                         limit=100, sleep=lambda s: None)
    assert store.span("BTC/USDT", "1h", "fakex") == (pd.Timestamp(T0 + 10 * HOUR_MS, unit="ms", tz="UTC"),
                                                     pd.Timestamp(T0 + 19 * HOUR_MS, unit="ms", tz="UTC"))
    ex.calls.clear()
    out = fetch_ohlcv_to_store(ex, store, ["BTC/USDT"], "1h", since=0, limit=100, sleep=lambda s: None)
    assert out == {"BTC/USDT": 10}  # by default: resume after the newest candle only (20..29)
    assert [c[2] for c in ex.calls] == [T0 + 20 * HOUR_MS, T0 + 30 * HOUR_MS]
    store.con.execute("DELETE FROM candles WHERE ts > TIMESTAMPTZ '2024-01-01 19:00:00+00'")
    ex.calls.clear()
    out = fetch_ohlcv_to_store(ex, store, ["BTC/USDT"], "1h", since=T0, limit=100, sleep=lambda s: None,
                               backfill=True)
    assert out == {"BTC/USDT": 20}  # 0..9 backfilled, 20..29 appended, 10..19 not fetched again
    assert [c[2] for c in ex.calls] == [T0, T0 + 20 * HOUR_MS, T0 + 30 * HOUR_MS]
    md = store.read(["BTC/USDT"], "1h")
    np.testing.assert_array_equal(md.close[:, 0], 101.0 + np.arange(30))
