"""Walk-forward windows: train on one span of bars, test on the span right after it, move on.

Rolling windows keep the train length; anchored windows all train from the period's first bar. Test
spans follow each other without gaps or overlap, so their out-of-sample equities can be stitched. A
remainder at the end shorter than a test span is left out. Windows are bar ranges on the data's index;
their ``train_end`` / ``test_end`` are the last bars they include (a run given them as ``end`` sees no
later bar).

>>> import pandas as pd
>>> idx = pd.date_range("2024-01-01", periods=10, freq="D", tz="UTC")
>>> [(w.train_start.day, w.train_end.day, w.test_start.day, w.test_end.day)
...  for w in make_windows(idx, train="4d", test="2d")]
[(1, 4, 5, 6), (3, 6, 7, 8), (5, 8, 9, 10)]
>>> [w.train_start.day for w in make_windows(idx, train="4d", test="2d", anchored=True)]
[1, 1, 1]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

_DURATION = re.compile(r"([0-9]*\.?[0-9]+)\s*(w|d|h|min|m|s)", re.IGNORECASE)
_NUMBER = re.compile(r"[0-9]*\.?[0-9]+")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "min": "minutes", "m": "minutes", "s": "seconds"}

__all__ = ["Window", "make_windows", "parse_duration"]


def parse_duration(value: Any, name: str = "duration") -> pd.Timedelta:
    """``"90d"``, ``"12h"``, ``"4w"``, a ``Timedelta``, or a number of days -> a positive Timedelta.

    >>> parse_duration("90d"), parse_duration(1.5)
    (Timedelta('90 days 00:00:00'), Timedelta('1 days 12:00:00'))
    """
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected a duration such as 90d, got {value!r}")
    try:
        if isinstance(value, (int, float)):
            out = pd.Timedelta(days=float(value))
        else:
            text = str(value).strip()
            m = _DURATION.fullmatch(text)
            if m is not None:
                out = pd.Timedelta(**{_UNITS[m.group(2).lower()]: float(m.group(1))})
            else:
                out = pd.Timedelta(days=float(text)) if _NUMBER.fullmatch(text) else pd.Timedelta(text)
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"{name}: expected a duration such as 90d, 12h or 4w, got {value!r}") from None
    if pd.isna(out) or out <= pd.Timedelta(0):
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return out


@dataclass(frozen=True)
class Window:
    """One walk-forward step: bars ``[train_start, train_end]`` then ``[test_start, test_end]``."""

    number: int
    train_start: pd.Timestamp
    train_end: pd.Timestamp
    test_start: pd.Timestamp
    test_end: pd.Timestamp
    train_bars: int
    test_bars: int


def make_windows(index: pd.DatetimeIndex, *, train: Any, test: Any, anchored: bool = False) -> list[Window]:
    """The walk-forward windows over ``index`` (the period to optimise on, increasing timestamps).

    A span of length L starting at bar t holds the bars in ``[t, t + L)``. Raises ``ValueError`` when
    the index does not hold one train span followed by one full test span.
    """
    train_td = parse_duration(train, "train")
    test_td = parse_duration(test, "test")
    if len(index) < 2:
        raise ValueError("walk-forward needs at least 2 bars")
    first, last = index[0], index[-1]
    end_excl = last + (index[-1] - index[-2])   # the period ends one bar after its last bar
    windows: list[Window] = []
    test_start = first + train_td
    while test_start + test_td <= end_excl:
        train_start = first if anchored else test_start - train_td
        i0 = int(index.searchsorted(train_start, side="left"))
        i1 = int(index.searchsorted(test_start, side="left"))
        i2 = int(index.searchsorted(test_start + test_td, side="left"))
        if i1 - i0 >= 2 and i2 > i1:
            windows.append(Window(len(windows), index[i0], index[i1 - 1], index[i1], index[i2 - 1],
                                  i1 - i0, i2 - i1))
        test_start = test_start + test_td
    if not windows:
        raise ValueError(f"the period {first} .. {last} is too short for train {train} + test {test}")
    return windows
