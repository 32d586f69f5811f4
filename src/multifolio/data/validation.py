"""Vectorised checks of candle values and timestamps.

Every check is a whole-array NumPy expression (10 million rows take well under a second); only the first
offending element is located and reported, as a :class:`MarketDataError` naming the symbol, the
timestamp and the problem.

NaN is not an error: it means "no bar" (the asset is not tradable there). Consistency checks
(high >= low, open/close within [low, high]) apply where both sides are present.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from multifolio.data.errors import MarketDataError
from multifolio.data.timeframes import format_timeframe

# (symbol, timestamp) of a flat position in the checked arrays.
Locator = Callable[[int], tuple[str, pd.Timestamp]]

# Relative slack for open/close vs high/low: sources that round prices to a tick can leave a close a
# hair above the high; anything larger is a real inconsistency.
_REL_TOL = 1e-9
_DAY_NS = 86_400 * 10**9
_HOUR_NS = 3_600 * 10**9


def _raise_first(mask: np.ndarray, problem: str, locate: Locator, source: str | None,
                 sources: Mapping[str, str] | None = None) -> None:
    flat = mask.ravel()
    if flat.any():
        pos = int(flat.argmax())
        symbol, timestamp = locate(pos)
        where = sources.get(symbol, source) if sources else source
        raise MarketDataError(problem, symbol=symbol, timestamp=timestamp, source=where)


def check_candles(open: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,
                  volume: np.ndarray, locate: Locator, source: str | None = None,
                  sources: Mapping[str, str] | None = None) -> None:
    """Raise MarketDataError at the first bad candle (arrays of one shape; NaN = no bar).

    Problems, in the order they are checked: infinite price, non-positive price (close, then open,
    high, low), high below low,
    open outside [low, high], close outside [low, high], infinite or negative volume.
    """
    with np.errstate(invalid="ignore"):
        # The close first: with close-only data open/high/low are copies of it, and the error should
        # name the price the user actually gave.
        prices = (("close", close), ("open", open), ("high", high), ("low", low))
        for name, a in prices:
            _raise_first(np.isinf(a), f"infinite {name} price", locate, source, sources)
        for name, a in prices:
            _raise_first(a <= 0, f"non-positive {name} price", locate, source, sources)
        _raise_first(high < low, "high below low", locate, source, sources)
        slack_hi = high * (1 + _REL_TOL)
        slack_lo = low * (1 - _REL_TOL)
        _raise_first((open > slack_hi) | (open < slack_lo), "open outside [low, high]", locate, source,
                     sources)
        _raise_first((close > slack_hi) | (close < slack_lo), "close outside [low, high]", locate,
                     source, sources)
        _raise_first(np.isinf(volume), "infinite volume", locate, source, sources)
        _raise_first(volume < 0, "negative volume", locate, source, sources)


def _fmt(ns: int) -> str:
    if ns == 0:
        return "0s"
    try:
        return format_timeframe(pd.Timedelta(ns, unit="ns"))
    except MarketDataError:  # not a whole number of seconds
        return str(pd.Timedelta(ns, unit="ns"))


# A stretch of this many consecutive coarser spacings inside a symbol is another timeframe, not gaps.
COARSE_RUN = 5


def _check_coarse_runs(same: np.ndarray, diffs: np.ndarray, expected: int,
                       fail: Callable[[str, int], None]) -> None:
    coarse = same & (diffs > expected + (_HOUR_NS if expected >= _DAY_NS else 0))
    if not coarse.any():
        return
    starts = np.flatnonzero(coarse & ~np.r_[False, coarse[:-1]])
    ends = np.flatnonzero(coarse & ~np.r_[coarse[1:], False]) + 1
    long_runs = (ends - starts) >= COARSE_RUN
    for lo, hi in zip(starts[long_runs], ends[long_runs], strict=True):
        run = diffs[lo:hi]
        step = int(run.min())
        rem = run % step
        if expected >= _DAY_NS or step >= _DAY_NS:
            rem = np.minimum(rem, step - rem)
            ok = rem <= _HOUR_NS
        else:
            ok = rem == 0
        if ok.all():
            fail(f"mixed timeframes: {hi - lo + 1} consecutive bars {_fmt(step)} apart where the data "
                 f"is {_fmt(expected)}", int(lo))


def _time_of_day(ns: int) -> str:
    return pd.Timestamp(ns, tz="UTC").strftime("%H:%M")


def check_common_times(codes: np.ndarray, ts: np.ndarray, symbols: list[str], timeframe: pd.Timedelta,
                       source: str | None = None, sources: Mapping[str, str] | None = None) -> None:
    """Daily (or coarser) bars of all symbols must share their stamps: raise when two bars on the
    union clock are closer than the timeframe less an hour (the daylight-saving drift), e.g. one
    symbol's days stamped 23:00 UTC and another's 00:00 UTC — alternating rows where nothing trades.
    ``codes``/``ts`` may come in any order."""
    if len(ts) < 2:
        return
    clock, first = np.unique(ts, return_index=True)
    close = np.diff(clock) < int(timeframe.value) - _HOUR_NS
    if not close.any():
        return
    i = int(np.argmax(close))
    a, b = int(first[i]), int(first[i + 1])
    sym_a, sym_b = symbols[int(codes[a])], symbols[int(codes[b])]
    if sym_a == sym_b:  # find another symbol stamped at the second time, if any
        others = np.flatnonzero((ts == clock[i + 1]) & (codes != codes[a]))
        if len(others):
            sym_b = symbols[int(codes[others[0]])]

    def named(sym: str) -> str:
        where = sources.get(sym) if sources else None
        return f"{sym!r}" + (f" ({where})" if where else "")

    if sym_a == sym_b:
        who = (f"{named(sym_a)} has bars at {_time_of_day(int(clock[i]))} and "
               f"{_time_of_day(int(clock[i + 1]))}")
    else:
        who = (f"{named(sym_a)} at {_time_of_day(int(clock[i]))}, "
               f"{named(sym_b)} at {_time_of_day(int(clock[i + 1]))}")
    raise MarketDataError(
        f"mixed timeframes: {_fmt(int(timeframe.value))} bars stamped at different times of day: {who} UTC "
        f"({_fmt(int(clock[i + 1] - clock[i]))} apart, so they would fall on alternating rows where "
        "nothing can trade); stamp all symbols at one time of day (convert dates to one time zone)",
        symbol=sym_b, timestamp=pd.Timestamp(int(clock[i + 1]), tz="UTC"),
        source=sources.get(sym_b, source) if sources else source)


def check_timeframes(codes: np.ndarray, ts: np.ndarray, symbols: list[str],
                     timeframe: pd.Timedelta | None = None, source: str | None = None,
                     sources: Mapping[str, str] | None = None) -> pd.Timedelta | None:
    """Check that all symbols share one timeframe; return it (None when no symbol has two bars).

    ``codes`` (symbol number) and ``ts`` (int64 ns) must be sorted by code, then strictly by time.
    The data's timeframe is the most common spacing between consecutive bars (or ``timeframe`` when
    given); gaps (missing bars) are fine when they are whole multiples of it. Raised as "mixed
    timeframes": a spacing that is not a whole multiple (a stray bar half-way between two others, bars
    finer than the declared timeframe), a symbol none of whose bars are one timeframe apart (a daily
    symbol among hourly ones), a stretch of a symbol on a coarser timeframe (daily rows, then hourly
    ones: at least :data:`COARSE_RUN` consecutive spacings all coarser than the timeframe and whole
    multiples of the finest of them), bars shifted off the common grid — for daily and coarser data,
    symbols stamped at different times of day (midnight in different time zones: 23:00 and 00:00
    UTC), which would put them on alternating rows where nothing can trade (see
    :func:`check_common_times`). Daily and coarser bars of one symbol may drift by up to an hour
    (local-time closes across daylight saving changes).
    """
    n = len(ts)
    if n < 2:
        return timeframe

    def fail(problem: str, row: int) -> None:
        symbol = symbols[int(codes[row])]
        raise MarketDataError(problem, symbol=symbol, timestamp=pd.Timestamp(int(ts[row]), tz="UTC"),
                              source=sources.get(symbol, source) if sources else source)

    big = np.iinfo(np.int64).max
    same = codes[1:] == codes[:-1]
    diffs = np.where(same, np.diff(ts), big)
    padded = np.append(diffs, big)  # diff i is between rows i and i+1; padding keeps reduceat in range
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    base = np.minimum.reduceat(padded, starts)  # per symbol present, in code order
    has_base = base != big
    if not has_base.any():
        return timeframe
    if timeframe is not None:
        expected = int(timeframe.value)
    else:
        # The most common spacing between consecutive bars (ties -> the finest). A strided sample
        # of at most ~200k spacings keeps this cheap on huge tables and is exact on small ones.
        within = diffs[same]
        sample = within[:: max(1, len(within) // 200_000)]
        values, counts = np.unique(sample, return_counts=True)
        expected = int(values[np.argmax(counts)])
    expected_td = pd.Timedelta(expected, unit="ns")
    # 1. a bar off the symbol's grid (spacing not a whole multiple of the timeframe)
    if expected < 28 * _DAY_NS:  # months are not multiples of a fixed step
        rem = np.where(same, diffs % expected, 0)
        if expected >= _DAY_NS:
            rem = np.minimum(rem, expected - rem)
            off = rem > _HOUR_NS
        else:
            off = rem != 0
        if off.any():
            row = int(np.argmax(off))
            fail(f"mixed timeframes: bar {_fmt(int(diffs[row]))} after the previous "
                 f"one, not a multiple of {format_timeframe(expected_td)}", row + 1)
        # 2. a symbol on another timeframe: at least two spacings, none of them one bar of the data's
        # timeframe (a daily symbol among hourly ones). A symbol with a single spacing (two bars) is
        # not judged: a 2-bar gap and a coarser timeframe cannot be told apart.
        slack = _HOUR_NS if expected >= _DAY_NS else 0
        hit = np.append(same & (np.abs(diffs - expected) <= slack), False)
        hits = np.add.reduceat(hit.astype(np.int64), starts)
        n_spacings = np.diff(np.r_[starts, n]) - 1
        wrong = (n_spacings >= 2) & (hits == 0)
        if wrong.any():
            g = int(np.argmax(wrong))
            row = int(starts[g] + np.argmax(padded[starts[g]:] == base[g])) + 1
            fail(f"mixed timeframes: bars {_fmt(int(base[g]))} apart where the data "
                 f"is {format_timeframe(expected_td)}", row)
        # 2b. a stretch of one symbol on a coarser timeframe (daily rows, then hourly ones)
        _check_coarse_runs(same, diffs, expected, fail)
        # 3. symbols on the same spacing but shifted against each other (e.g. :00 and :30 bars)
        check_common_grid(codes, ts, symbols, expected_td, source, sources)
    return expected_td


def check_common_grid(codes: np.ndarray, ts: np.ndarray, symbols: list[str], timeframe: pd.Timedelta,
                      source: str | None = None, sources: Mapping[str, str] | None = None) -> None:
    """All bars on one grid of ``timeframe``: intraday bars at one offset (not :00 and :30 bars),
    daily and coarser ones at one time of day (:func:`check_common_times`). Any row order."""
    step = int(timeframe.value)
    if len(ts) < 2 or step >= 28 * _DAY_NS:
        return
    if step >= _DAY_NS:
        check_common_times(codes, ts, symbols, timeframe, source, sources)
        return
    phase = ts % step
    shifted = phase != phase[0]
    if shifted.any():
        row = int(np.argmax(shifted))
        symbol, first = symbols[int(codes[row])], symbols[int(codes[0])]
        also = "" if first == symbol else f"; {first!r} is at offset {_fmt(int(phase[0]))}"
        raise MarketDataError(f"mixed timeframes: bar off the common {format_timeframe(timeframe)} grid "
                              f"(offset {_fmt(int(phase[row]))}{also})", symbol=symbol,
                              timestamp=pd.Timestamp(int(ts[row]), tz="UTC"),
                              source=sources.get(symbol, source) if sources else source)
