"""Which part of the data a run trades: its symbols, its period and the warm-up before it.

>>> import pandas as pd
>>> idx = pd.date_range("2024-01-01", periods=10, freq="D", tz="UTC")
>>> [str(t.date()) for t in select_window(idx, days=3)]
['2024-01-08', '2024-01-10']
>>> [str(t) for t in select_window(idx, start="2024-01-02", end="2024-01-03")]
['2024-01-02 00:00:00+00:00', '2024-01-03 23:59:59.999999+00:00']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from multifolio.data.market_data import MarketData, is_date_only
from multifolio.data.selection import DataSourceError, check_symbols

__all__ = ["check_symbols", "is_date_only", "pick_symbols", "select_window", "trading_window"]

def pick_symbols(available: Sequence[str], wanted: Sequence[str] | None,
                 assets: Sequence[str] | int | None = None) -> list[str]:
    """The configured symbols (or all), then the ``assets`` override: a list, or an int = the first n."""
    chosen = list(available)
    if wanted is not None:
        check_symbols(wanted, available, "data.symbols")
        chosen = list(wanted)
    if assets is None:
        return chosen
    if isinstance(assets, bool) or not isinstance(assets, (int, list, tuple)):
        raise DataSourceError("assets", f"must be a list of symbols or a count, got {assets!r}")
    if isinstance(assets, int):
        if not 1 <= assets <= len(chosen):
            raise DataSourceError("assets", f"asked for the first {assets} assets, there are {len(chosen)}")
        return chosen[:assets]
    names = [str(a) for a in assets]
    if not names:
        raise DataSourceError("assets", "the list is empty")
    check_symbols(names, available, "assets")
    return names


def select_window(index: pd.DatetimeIndex, *, start: Any = None, end: Any = None,
                  days: float | None = None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The result period ``(start, end)`` (UTC Timestamps, both inclusive) for a data index.

    ``end`` given as a date without a time includes that whole day. ``days`` alone: the last N days of
    bars (ending at ``end`` when given); with ``start``: the N days from ``start`` (``start=2024-01-01,
    days=10`` is 240 hourly bars, the same count as ``days=10`` alone).
    """
    def ts(value: Any, key: str) -> pd.Timestamp:
        try:
            t = pd.Timestamp(value)
        except (ValueError, TypeError) as exc:
            raise DataSourceError(key, f"not a date: {value!r}") from exc
        return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")

    if len(index) == 0:
        raise DataSourceError("data", "no bars to run on")
    first, last = index[0], index[-1]
    step = index[1] - index[0] if len(index) > 1 else pd.Timedelta(0)
    tick = pd.Timedelta(1, unit=getattr(index, "unit", "ns"))  # the index's resolution
    s = ts(start, "start") if start is not None else None
    e = ts(end, "end") if end is not None else None
    if e is not None and is_date_only(end):
        e = e + pd.Timedelta(days=1) - tick  # a date (no time of day): through the end of that day
    if days is not None:
        if not days > 0:
            raise DataSourceError("days", f"must be > 0, got {days}")
        try:
            span = pd.Timedelta(days=days)
            if s is not None and e is None:
                e = s + span - tick
            elif s is None:
                e = e if e is not None else last
                # The last N days of bars: exactly N days x bars-per-day bars ending at the last bar <= e.
                at = int(index.searchsorted(e, side="right")) - 1
                s = (index[at] if at >= 0 else e) - span + step
        except (OverflowError, ValueError):  # pandas' OutOfBounds errors are ValueErrors
            raise DataSourceError("days", f"{days:g} days reaches beyond the dates pandas can represent "
                                          f"(data runs {first} .. {last})") from None
    s = first if s is None else max(s, first)
    e = last if e is None else min(e, last)
    if s > e:
        raise DataSourceError("period", f"{s} .. {e} holds no data (data runs {first} .. {last})")
    return s, e


def trading_window(md: MarketData, *, start: Any = None, end: Any = None, days: float | None = None,
                   warmup_bars: int = 0, symbols: list[str] | None = None) -> tuple[MarketData, pd.Timestamp]:
    """The data a run needs — its period plus up to ``warmup_bars`` bars before it, of ``symbols``
    (default all) — and its first traded timestamp (the bars before it are warm-up: seen by
    indicators, never traded)."""
    s, e = select_window(md.index, start=start, end=end, days=days)
    i0 = int(md.index.searchsorted(s, side="left"))
    w0 = md.index[max(0, i0 - int(warmup_bars))]
    return md.window(symbols, w0, e), s
