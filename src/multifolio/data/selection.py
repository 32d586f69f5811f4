"""Naming what a run reads: the error for a source or selection that cannot be read as described, and
symbol checks that suggest the closest known name.

>>> try:
...     check_symbols(["BTC/USD"], ["BTC/USDT", "ETH/USDT"], "data.symbols")
... except DataSourceError as exc:
...     print(exc.key, "|", exc.problem)
data.symbols | unknown symbol 'BTC/USD'; did you mean 'BTC/USDT'? (available: BTC/USDT, ETH/USDT)
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

__all__ = ["DataSourceError", "check_symbols", "did_you_mean"]


class DataSourceError(ValueError):
    """A data source that cannot be read as described (missing file, no candles, ambiguous timeframe).

    ``key`` names the setting at fault (``data.csv``, ``data.timeframe``, ...) so a configuration
    front end can point at it.
    """

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}")


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_symbols(names: Sequence[str], available: Sequence[str], where: str) -> None:
    """Every name is one of ``available``, or an error naming the unknown ones (and a close match)."""
    available = list(available)
    missing = [s for s in names if s not in available]
    if missing:
        shown = ", ".join(available[:30]) + (", ..." if len(available) > 30 else "")
        raise DataSourceError(where, f"unknown symbol{'s' if len(missing) > 1 else ''} "
                              f"{', '.join(repr(s) for s in missing)}{did_you_mean(missing[0], available)}"
                              f" (available: {shown})")
