"""Sample data: synthetic crypto pairs and skfolio's S&P 500 closes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from multifolio.data import MarketDataError, crash_episodes, samples

EXPECTED = ["BTC/USDT", "ETH/USDT", "BNB/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT", "DOGE/USDT",
            "AVAX/USDT", "DOT/USDT", "LINK/USDT", "MATIC/USDT", "LTC/USDT", "TRX/USDT", "ATOM/USDT",
            "UNI/USDT", "ETC/USDT", "XLM/USDT", "NEAR/USDT", "FIL/USDT", "APT/USDT", "ARB/USDT"]


def test_crypto_hourly_shape_symbols_and_levels() -> None:
    md = samples.crypto_hourly()
    assert md.symbols == EXPECTED
    assert md.n_bars == 17520 and md.freq == pd.Timedelta(hours=1)
    assert md.index[0] == pd.Timestamp("2023-01-01", tz="UTC")
    assert md.index[-1] == pd.Timestamp("2024-12-30 23:00", tz="UTC")
    assert md.tradable.all()
    median = dict(zip(md.symbols, np.median(md.close, axis=0), strict=True))
    assert 20_000 < median["BTC/USDT"] < 40_000
    assert 1_500 < median["ETH/USDT"] < 2_500
    assert 0.04 < median["DOGE/USDT"] < 0.16
    assert median["BTC/USDT"] > median["ETH/USDT"] > median["BNB/USDT"] > median["SOL/USDT"]
    assert len(crash_episodes(md)) >= 10
    md.validate()


def test_crypto_hourly_is_cached_but_returns_independent_copies() -> None:
    a = samples.crypto_hourly()
    a.close[:] = 0.0
    b = samples.crypto_hourly()
    assert (b.close > 0).all()
    assert b.close is not samples.crypto_hourly().close


def test_sp500_daily_close_only() -> None:
    md = samples.sp500_daily()
    assert md.n_assets == 20 and md.n_bars > 8000
    assert md.index[0].year == 1990 and md.index[-1].year == 2022
    assert "AAPL" in md.symbols
    close = md.close
    np.testing.assert_array_equal(md.open, close)
    np.testing.assert_array_equal(md.high, close)
    np.testing.assert_array_equal(md.low, close)
    assert np.isnan(md.volume).all()


def test_sp500_missing_skfolio_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    samples._sp500_daily.cache_clear()
    monkeypatch.setitem(sys.modules, "skfolio.datasets", None)  # import fails as if not installed
    with pytest.raises(MarketDataError, match=r"multifolio\[optimize\]"):
        samples.sp500_daily()
    samples._sp500_daily.cache_clear()


def test_sample_by_name() -> None:
    assert samples.sample("crypto_hourly").n_assets == 21
    with pytest.raises(MarketDataError, match="available: crypto_hourly, sp500_daily"):
        samples.sample("nope")


def test_samples_round_trip_through_the_store(tmp_path: Path) -> None:
    from multifolio.data import CandleStore

    sp = samples.sp500_daily()
    crypto = samples.crypto_hourly().slice(end="2023-01-31 23:00")
    with CandleStore(tmp_path / "s.duckdb") as store:
        store.write(sp, exchange="skfolio")
        store.write(crypto, exchange="synthetic")
        back = store.read(sp.symbols, "1d")
        assert back.index.equals(sp.index)
        np.testing.assert_array_equal(back.close, sp.close)
        c = store.read(crypto.symbols, "1h", exchange="synthetic")
        np.testing.assert_array_equal(c.high, crypto.high)
        assert set(store.ranges().timeframe) == {"1d", "1h"}
