"""Errors raised for bad market data."""

from __future__ import annotations


class MarketDataError(ValueError):
    """Bad or missing market data, naming the symbol, the timestamp and the problem."""

    def __init__(self, problem: str, *, symbol: str | None = None, timestamp: object = None,
                 source: str | None = None) -> None:
        self.problem = problem
        self.symbol = symbol
        self.timestamp = timestamp
        self.source = source
        where = []
        if source is not None:
            where.append(f"in {source}")
        if symbol is not None:
            where.append(f"symbol {symbol!r}")
        if timestamp is not None:
            where.append(f"at {timestamp}")
        super().__init__(f"{problem}" + (f" ({', '.join(where)})" if where else ""))
