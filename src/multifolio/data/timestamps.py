"""Timestamps of any common form as int64 nanoseconds since the epoch, UTC — one format per column.

Rules (a column is never parsed row by row, so no file loads half of its bars on swapped dates):

- Datetime values: timezone-naive ones are taken as UTC, aware ones are converted.
- ISO 8601 text (``2024-01-02``, ``2024-01-02 09:30``, ``2024-01-02T00:00:00+02:00``, ``...Z``): read
  as ISO, offsets converted to UTC.
- ``dd.mm.yyyy`` / ``mm/dd/yyyy`` text (any of ``. / -`` as separator, optional time after it): whether
  the day or the month comes first is decided on the whole column — a first field above 12 anywhere
  means day-first, a second field above 12 means month-first; both is an error, and neither (every
  field at most 12) is ambiguous and an error asking for ``date_format``.
- Other text: one format inferred from the column (pandas), applied to every row.
- Integers (or whole floats) are epoch times. Their unit is ``epoch_unit`` when given, else inferred
  from the magnitude: about 1e9 is seconds, 1e12 milliseconds, 1e15 microseconds, 1e18 nanoseconds
  (:data:`EPOCH_BANDS`); values outside every band, or spanning two, are an error — never a silent 1970.

``date_format`` is an explicit ``strftime`` format (``"%d.%m.%Y %H:%M"``), ``"dayfirst"`` or
``"monthfirst"``; it applies to text (and to integers such as ``20240102`` with ``"%Y%m%d"``).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from multifolio.data.errors import MarketDataError, snippet

DAYFIRST = "dayfirst"
MONTHFIRST = "monthfirst"
EPOCH_UNITS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
# Magnitude bands [lo, hi) of epoch times per unit: years ~1973 .. ~5000 in each unit.
EPOCH_BANDS = (("s", 1e8, 1e11), ("ms", 1e11, 1e14), ("us", 1e14, 1e17), ("ns", 1e17, 1e20))

_DMY = re.compile(r"^\s*(\d{1,2})([./-])(\d{1,2})\2(\d{4})(.*)$", re.S)


def date_format_hint(option: str = "date_format=") -> str:
    """The advice given when dates cannot be read unambiguously; ``option`` names the setting.

    The library says ``date_format=``; a command line or config layer can substitute its own spelling
    (``--date-format``, ``data.date_format``) by replacing ``date_format_hint()`` with
    ``date_format_hint("--date-format")`` in the error text.
    """
    return (f"pass {option} with 'dayfirst', 'monthfirst' or an explicit format "
            "such as '%d.%m.%Y %H:%M'")


def _where(column: str | None) -> str:
    return f"column {column!r}" if column else "the timestamp column"


def epoch_unit_of(ints: np.ndarray, source: str | None = None, column: str | None = None) -> str:
    """The unit (s, ms, us, ns) of integer epoch times, from their magnitude; error if no band fits."""
    if len(ints) == 0:
        return "ns"
    mags = np.abs(ints.astype(np.float64))
    lo, hi = float(mags.min()), float(mags.max())
    for unit, band_lo, band_hi in EPOCH_BANDS:
        if band_lo <= lo and hi < band_hi:
            return unit
    raise MarketDataError(
        f"{_where(column)} holds numbers {snippet(ints.min().item())} .. {snippet(ints.max().item())} "
        "that are not "
        "epoch times in one unit (about 1e9 s, 1e12 ms, 1e15 us, 1e18 ns); pass epoch_unit= "
        "('s', 'ms', 'us' or 'ns'), or date_format= if they are dates such as 20240102", source=source)


def _epoch_to_ns(arr: np.ndarray, epoch_unit: str | None, source: str | None,
                 column: str | None) -> np.ndarray:
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        row = int(np.argmax(~np.isfinite(arr)))
        raise MarketDataError(f"missing timestamp in {_where(column)} (row {row + 1})", source=source)
    if epoch_unit is None:
        unit = epoch_unit_of(arr, source, column)
    elif epoch_unit in EPOCH_UNITS:
        unit = epoch_unit
    else:
        raise MarketDataError(f"epoch_unit must be one of {list(EPOCH_UNITS)}, got {snippet(epoch_unit)}",
                              source=source)
    scale = EPOCH_UNITS[unit]
    if arr.dtype.kind == "f":
        return np.round(arr * scale).astype(np.int64)
    return arr.astype(np.int64) * scale


def _row(text: pd.Series, pos: int) -> int:
    """The 1-based data row of position ``pos`` (``text`` may hold each distinct value once, indexed by
    the row where it first occurs)."""
    return int(text.index[pos]) + 1


def _fail_unreadable(text: pd.Series, parsed: pd.Series, source: str | None, column: str | None,
                     how: str = "") -> None:
    bad = (parsed.isna() & text.notna()).to_numpy() | text.isna().to_numpy()
    if bad.any():
        row = int(bad.argmax())
        raise MarketDataError(f"unreadable timestamp {snippet(text.iloc[row])} in {_where(column)} "
                              f"(row {_row(text, row)}){how}", source=source)


def _day_month_order(first: np.ndarray, second: np.ndarray, text: pd.Series, source: str | None,
                     column: str | None) -> str:
    """'dayfirst' or 'monthfirst' for dd.mm.yyyy-like text, decided on the whole column."""
    day_first = first > 12
    month_first = second > 12
    if day_first.any() and month_first.any():
        i, j = int(day_first.argmax()), int(month_first.argmax())
        raise MarketDataError(
            f"{_where(column)} mixes day-first {snippet(text.iloc[i])} (row {_row(text, i)}) and "
            f"month-first {snippet(text.iloc[j])} (row {_row(text, j)}) dates", source=source)
    if day_first.any():
        return DAYFIRST
    if month_first.any():
        return MONTHFIRST
    raise MarketDataError(
        f"ambiguous dates in {_where(column)}: day and month are both at most 12 in every row "
        f"(e.g. {snippet(text.iloc[0])}), so day-first and month-first read differently; "
        + date_format_hint(), source=source)


def _parse_text(text: pd.Series, date_format: str | None, source: str | None,
                column: str | None) -> pd.Series:
    if date_format is not None and date_format not in (DAYFIRST, MONTHFIRST):
        parsed = pd.to_datetime(text, format=date_format, utc=True, errors="coerce")
        _fail_unreadable(text, parsed, source, column, f" with date_format {date_format!r}")
        return parsed
    parts = text.str.extract(_DMY)
    if text.notna().all() and parts[0].notna().all():
        first = parts[0].astype(np.int64).to_numpy()
        second = parts[2].astype(np.int64).to_numpy()
        order = date_format or _day_month_order(first, second, text, source, column)
        day, month = (parts[0], parts[2]) if order == DAYFIRST else (parts[2], parts[0])
        iso = parts[3] + "-" + month.str.zfill(2) + "-" + day.str.zfill(2) + parts[4].str.rstrip()
        parsed = pd.to_datetime(iso, format="ISO8601", utc=True, errors="coerce")
        _fail_unreadable(text, parsed, source, column, f" read {order}")
        return parsed
    if date_format is not None:  # dayfirst/monthfirst given for text that is not dd.mm.yyyy-like
        bad = parts[0].isna().to_numpy()
        row = int(bad.argmax())
        raise MarketDataError(f"timestamp {snippet(text.iloc[row])} in {_where(column)} "
                              f"(row {_row(text, row)}) "
                              f"is not a dd.mm.yyyy / mm/dd/yyyy date, so date_format={date_format!r} "
                              "does not apply; pass an explicit format", source=source)
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    if parsed.notna().all() or text.isna().any():
        _fail_unreadable(text, parsed, source, column)
        return parsed
    try:  # one format inferred from the column, applied to every row
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(text, utc=True, errors="coerce")
    except (ValueError, TypeError):
        parsed = pd.Series(pd.NaT, index=text.index)
    _fail_unreadable(text, parsed, source, column)
    return parsed


def timestamps_to_ns(values: Any, source: str | None = None, *, date_format: str | None = None,
                     epoch_unit: str | None = None, column: str | None = None) -> np.ndarray:
    """Timestamps as int64 nanoseconds since the epoch, UTC; see the module docstring for the rules."""
    try:
        import pyarrow as pa

        if isinstance(values, pa.ChunkedArray | pa.Array):
            if pa.types.is_timestamp(values.type):
                if values.null_count:
                    raise MarketDataError(f"missing timestamp in {_where(column)}", source=source)
                return values.cast(pa.timestamp("ns", values.type.tz)).cast(pa.int64()).to_numpy()
            values = values.to_pandas()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(values, pd.Series | pd.Index) and isinstance(values.dtype, pd.DatetimeTZDtype):
        idx = pd.DatetimeIndex(values)
        if idx.hasnans:
            raise MarketDataError(f"missing timestamp in {_where(column)}", source=source)
        return idx.tz_convert("UTC").as_unit("ns").asi8
    arr = np.asarray(values)
    if arr.dtype.kind == "M":
        if np.isnat(arr).any():
            raise MarketDataError(f"missing timestamp in {_where(column)}", source=source)
        return arr.astype("datetime64[ns]").view(np.int64)
    if arr.dtype.kind in "iuf":
        if date_format is not None and date_format not in (DAYFIRST, MONTHFIRST):
            if arr.dtype.kind == "f":
                arr = arr.astype(np.int64)
            text = pd.Series(arr.astype(str), dtype=object)
            return pd.DatetimeIndex(_parse_text(text, date_format, source, column)).as_unit("ns").asi8
        return _epoch_to_ns(arr, epoch_unit, source, column)
    if arr.dtype.kind == "b":
        raise MarketDataError(f"{_where(column)} holds booleans, not timestamps", source=source)
    text = pd.Series(arr, dtype=object)
    is_str = text.map(lambda v: isinstance(v, str))
    if not is_str.all():
        # Python datetimes / pandas Timestamps in an object column (possibly mixed offsets).
        try:
            parsed = pd.to_datetime(text, utc=True, errors="coerce")
        except (ValueError, TypeError, UnicodeDecodeError):  # bytes from a binary file, odd objects
            parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
        _fail_unreadable(text.where(text.notna()), parsed, source, column)
        return pd.DatetimeIndex(parsed).as_unit("ns").asi8
    # Timestamps repeat across symbols: parse each distinct text once (indexed by its first row).
    codes, uniques = pd.factorize(text)
    first_rows = np.full(len(uniques), len(text), dtype=np.int64)
    np.minimum.at(first_rows, codes, np.arange(len(text)))
    distinct = pd.Series(np.asarray(uniques, dtype=object), index=first_rows, dtype=object).str.strip()
    parsed = _parse_text(distinct, date_format, source, column)
    return pd.DatetimeIndex(parsed).as_unit("ns").asi8[codes]
