"""Import exchange candles into a CandleStore through ccxt (optional extra ``[exchange]``).

:func:`fetch_ohlcv_to_store` pages through ``exchange.fetch_ohlcv``, waits ``exchange.rateLimit``
milliseconds between requests, retries network errors with exponential backoff, and writes every page
in its own transaction. It is resumable: for each symbol it starts after the newest candle already
stored for (exchange, symbol, timeframe), so an interrupted import is simply run again
(``backfill=True`` also fetches history older than what is stored). The candle still
forming at the time of the request is not stored (it would otherwise be frozen half-built).

Any object with ``fetch_ohlcv(symbol, timeframe, since=..., limit=...)`` and ``rateLimit`` works as the
exchange; :func:`make_exchange` builds a real ccxt one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from multifolio.data.errors import MarketDataError
from multifolio.data.store import CandleStore
from multifolio.data.timeframes import canonical_timeframe, parse_timeframe

EXTRA_HINT = "pip install 'multifolio[exchange]'"


def _retryable() -> tuple[type[BaseException], ...]:
    try:
        import ccxt
    except ImportError:
        return (ConnectionError, TimeoutError)
    return (ccxt.NetworkError, ConnectionError, TimeoutError)


def make_exchange(name: str, **config: Any) -> Any:
    """A ccxt exchange instance by id (``"binance"``, ``"kraken"``, ...).

    ccxt's own throttle is turned off because :func:`fetch_ohlcv_to_store` spaces requests by
    ``exchange.rateLimit`` itself (one mechanism, testable). Extra keyword arguments go to ccxt.
    """
    try:
        import ccxt
    except ImportError as exc:
        raise MarketDataError(f"exchange import needs ccxt: {EXTRA_HINT}") from exc
    cls = getattr(ccxt, name, None)
    if not isinstance(cls, type) or name not in getattr(ccxt, "exchanges", [name]):
        known = ", ".join(getattr(ccxt, "exchanges", [])[:12])
        raise MarketDataError(f"unknown exchange {name!r}; ccxt knows e.g. {known}, ...")
    return cls({"enableRateLimit": False, **config})


def _to_ms(value: object) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    return int(ts.value // 1_000_000)


def fetch_ohlcv_to_store(exchange: Any, store: CandleStore, symbols: Sequence[str] | str, timeframe: str,
                         since: object, until: object = None, limit: int = 1000, max_retries: int = 3,
                         sleep: Callable[[float], None] = time.sleep, *, exchange_name: str | None = None,
                         on_page: Callable[[str, int, pd.Timestamp], None] | None = None,
                         backfill: bool = False) -> dict[str, int]:
    """Fetch candles of ``symbols`` into ``store``; returns {symbol: candles written}.

    Args:
        exchange: a ccxt exchange (see :func:`make_exchange`) or an object with the same
            ``fetch_ohlcv`` / ``rateLimit`` (ms) interface.
        store: the CandleStore to upsert into, under ``exchange_name`` (default ``exchange.id``).
        symbols: exchange symbols such as ``"BTC/USDT"``. timeframe: ``"1m"``, ``"1h"``, ``"1d"``, ...
        since: first candle time (epoch ms, timestamp or string; naive = UTC). ``until``: last candle
            time (inclusive; default now).
        limit: candles per request. max_retries: retries of a request after a network error, with
            backoff rateLimit x 2^attempt. sleep: the waiting function (injectable for tests).
        on_page: called after each written page with (symbol, rows, last candle time), e.g. for a
            progress bar.
        backfill: also fetch [since, oldest stored candle) when ``since`` is older than the stored
            history. Off by default: a symbol already stored resumes after its newest candle only.

    Errors: MarketDataError naming the symbol and the request time when retries run out or the
    exchange refuses the request; pages written before stay in the store (run again to resume).
    """
    if isinstance(symbols, str):
        symbols = [symbols]
    if limit < 1 or max_retries < 0:
        raise ValueError(f"limit must be >= 1 and max_retries >= 0, got {limit} and {max_retries}")
    tf = canonical_timeframe(timeframe)
    tf_ms = int(parse_timeframe(tf).value // 1_000_000)
    name = exchange_name or str(getattr(exchange, "id", "exchange"))
    pause = max(float(getattr(exchange, "rateLimit", 0) or 0), 0.0) / 1000.0
    retryable = _retryable()
    clock = getattr(exchange, "milliseconds", None)
    now_ms = int(clock()) if callable(clock) else int(time.time() * 1000)
    since_ms = _to_ms(since)
    until_ms = now_ms if until is None else _to_ms(until)
    written: dict[str, int] = {}
    requests = 0

    def request(symbol: str, cursor: int) -> list[list[float]]:
        nonlocal requests
        for attempt in range(max_retries + 1):
            if requests:
                sleep(pause)  # honour the exchange's rate limit between any two requests
            requests += 1
            try:
                return list(exchange.fetch_ohlcv(symbol, tf, since=cursor, limit=limit) or [])
            except retryable as exc:
                if attempt == max_retries:
                    detail = " ".join(str(exc).split())[:200] or type(exc).__name__
                    raise MarketDataError(f"network unreachable: no answer from {name} after {max_retries} "
                                          f"retries ({detail})", symbol=symbol,
                                          timestamp=pd.Timestamp(cursor, unit="ms", tz="UTC"),
                                          source=name) from exc
                sleep(max(pause, 0.5) * 2**attempt)  # backoff on top of the regular spacing
            except MarketDataError:
                raise
            except Exception as exc:  # the exchange refused (bad symbol, bad timeframe, ...)
                raise MarketDataError(f"exchange error: {exc}", symbol=symbol, source=name,
                                      timestamp=pd.Timestamp(cursor, unit="ms", tz="UTC")) from exc
        raise AssertionError("unreachable")

    def fetch_span(symbol: str, cursor: int, stop: int) -> int:
        """Fetch candles with cursor <= time <= stop, page by page; returns candles written."""
        count = 0
        while cursor <= stop:
            page = request(symbol, cursor)
            if not page:
                break
            # Keep closed candles inside [cursor, stop]; exchanges may repeat the cursor candle.
            rows = [r for r in page if cursor <= int(r[0]) <= stop and int(r[0]) + tf_ms <= now_ms]
            if rows:
                frame = pd.DataFrame(rows, columns=["ms", "open", "high", "low", "close", "volume"])
                stamps = pd.to_datetime(frame.pop("ms").astype("int64"), unit="ms", utc=True)
                frame.insert(0, "timestamp", stamps)
                frame.insert(1, "symbol", symbol)
                count += store.write(frame, exchange=name, timeframe=tf, on_duplicate="last")
                if on_page is not None:
                    on_page(symbol, len(rows), frame["timestamp"].iloc[-1])
            last = max(int(r[0]) for r in page)
            if last + tf_ms <= cursor or last + tf_ms > now_ms or last >= stop:
                break  # no progress, past the span, or we reached the candle still forming
            cursor = last + tf_ms
        return count

    for symbol in symbols:
        written[symbol] = 0
        span = store.span(symbol, tf, name)
        if span is None:
            written[symbol] += fetch_span(symbol, since_ms, until_ms)
            continue
        oldest, newest = (int(t.value // 1_000_000) for t in span)
        if backfill and since_ms < oldest:  # history older than what is stored
            written[symbol] += fetch_span(symbol, since_ms, min(until_ms, oldest - tf_ms))
        written[symbol] += fetch_span(symbol, max(since_ms, newest + tf_ms), until_ms)
    return written
