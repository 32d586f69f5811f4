"""Errors raised for bad market data.

Error text is always printable: control characters (terminal escapes, NUL bytes, stray bytes from a
binary file) are shown as ``\\xNN`` escapes and long snippets are cut, so a message is one short line.
"""

from __future__ import annotations

import re

# Everything that can move a terminal cursor, change colours or break a line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufffd]")
MAX_PROBLEM = 400
MAX_SNIPPET = 60


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    return "?" if ch == "\ufffd" else f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}"


def clean_text(text: object, limit: int = MAX_PROBLEM) -> str:
    """``text`` as one printable line of at most ``limit`` characters (control characters escaped)."""
    s = _CONTROL.sub(_escape, str(text))
    return s if len(s) <= limit else s[: limit - 3] + "..."


def snippet(value: object, limit: int = MAX_SNIPPET) -> str:
    """A value quoted for an error message: its repr, escaped and cut to ``limit`` characters."""
    return clean_text(repr(value), limit)


class MarketDataError(ValueError):
    """Bad or missing market data, naming the symbol, the timestamp and the problem."""

    def __init__(self, problem: str, *, symbol: str | None = None, timestamp: object = None,
                 source: str | None = None) -> None:
        self.problem = clean_text(problem)
        self.symbol = symbol
        self.timestamp = timestamp
        self.source = source
        where = []
        if source is not None:
            where.append(f"in {clean_text(source, 200)}")
        if symbol is not None:
            where.append(f"symbol {snippet(symbol)}")
        if timestamp is not None:
            where.append(f"at {clean_text(timestamp, 60)}")
        super().__init__(f"{self.problem}" + (f" ({', '.join(where)})" if where else ""))
