"""Instrument specs: contract size, lots, price tick, minimum notional, margin, quote currency.

A symbol's spec says how its quantity and price become money: notional = quantity x ``contract_size`` x
price, in its ``quote_currency``. Quantities are rounded down to ``qty_step`` (lots), limit and stop
levels to the nearest ``tick`` and fill prices to the tick against the order (a buy up, a sell down).
``min_notional`` (account currency) and ``leverage`` / ``margin_rate`` (= 1 / leverage) override the
account's settings for the symbol. An instrument quoted in another currency than the account's has
its PnL, margin, fees and financing converted at each bar's rate, read from a conversion series of
the data: for quote Q and account A, the close of ``AQ`` (``USDJPY`` for a JPY-quoted instrument in a
USD account: divide by it) or of ``QA`` (``GBPUSD`` for EURGBP: multiply), with or without a ``/``.

>>> spec = Instrument(contract_size=100_000, qty_step=0.01, tick=0.001, quote_currency="JPY")
>>> spec.margin_fraction, Instrument(margin_rate=0.05).margin_fraction
(None, 0.05)
>>> conversion_symbol("JPY", "USD", ["EURUSD", "USDJPY"])
('USDJPY', True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

__all__ = ["Instrument", "conversion_rates", "conversion_symbol", "make_instruments"]


@dataclass(frozen=True)
class Instrument:
    """One symbol's spec; None leaves the account's setting (and 1 / no tick / the account currency)."""

    contract_size: float = 1.0
    qty_step: float | None = None
    tick: float = 0.0
    min_notional: float | None = None
    leverage: float | None = None
    margin_rate: float | None = None
    quote_currency: str | None = None

    @property
    def margin_fraction(self) -> float | None:
        """The margin rate this spec asks for (from ``margin_rate`` or ``leverage``), or None."""
        if self.margin_rate is not None:
            return self.margin_rate
        return None if self.leverage is None else 1.0 / self.leverage

    def to_dict(self) -> dict[str, Any]:
        """The fields that differ from the defaults (what a config would write)."""
        default = Instrument()
        return {k: v for k, v in asdict(self).items() if v != getattr(default, k)}


_FIELDS = tuple(f.name for f in fields(Instrument))


def _positive(symbol: str, name: str, value: Any, *, allow_zero: bool = False) -> float:
    try:
        if isinstance(value, bool):
            raise TypeError
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"instruments[{symbol!r}].{name} must be a number, got {value!r}") from None
    if not math.isfinite(x) or x < 0 or (x == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"instruments[{symbol!r}].{name} must be finite and {bound}, got {value!r}")
    return x


def _one(symbol: str, spec: Any) -> Instrument:
    if isinstance(spec, Instrument):
        spec = asdict(spec)
    if not isinstance(spec, Mapping):
        raise ValueError(f"instruments[{symbol!r}] must be a mapping of {list(_FIELDS)} or an Instrument, "
                         f"got {type(spec).__name__}")
    unknown = [k for k in spec if k not in _FIELDS]
    if unknown:
        raise ValueError(f"instruments[{symbol!r}] has unknown key(s) {unknown}; known: {list(_FIELDS)}")
    out: dict[str, Any] = {}
    for name, value in spec.items():
        if value is None:
            continue
        if name == "quote_currency":
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"instruments[{symbol!r}].quote_currency must be a currency code such as "
                                 f"'JPY', got {value!r}")
            out[name] = value.strip().upper()
        else:
            out[name] = _positive(symbol, name, value,
                                  allow_zero=name in ("qty_step", "tick", "min_notional"))
    if "leverage" in out and "margin_rate" in out:
        raise ValueError(f"instruments[{symbol!r}]: give leverage or margin_rate, not both")
    if out.get("margin_rate", 0.0) > 1.0:
        raise ValueError(f"instruments[{symbol!r}].margin_rate is a fraction of the notional (0.05 = 5%), "
                         f"got {out['margin_rate']!r}")
    return Instrument(**out)


def make_instruments(instruments: Mapping[str, Any] | None, symbols: Sequence[str]) -> dict[str, Instrument]:
    """Validate ``{symbol: spec}`` (a mapping of the spec's keys or an ``Instrument``) against the run's
    symbols; a bad key, value or symbol raises ``ValueError`` naming it."""
    if instruments is None:
        return {}
    if not isinstance(instruments, Mapping):
        raise ValueError(f"instruments must be a {{symbol: spec}} mapping, got {type(instruments).__name__}")
    unknown = [s for s in instruments if s not in symbols]
    if unknown:
        raise ValueError(f"instruments has unknown symbol(s) {unknown}; known: {list(symbols)}")
    return {str(s): _one(str(s), spec) for s, spec in instruments.items()}


def conversion_symbol(quote: str, account: str, available: Sequence[str]) -> tuple[str, bool]:
    """The symbol whose close converts ``quote`` into ``account`` and whether to divide by it
    (``AQ``: divide; ``QA``: multiply). Raises ``ValueError`` naming the series looked for."""
    for name, divide in ((f"{account}{quote}", True), (f"{account}/{quote}", True),
                         (f"{quote}{account}", False), (f"{quote}/{account}", False)):
        if name in available:
            return name, divide
    raise ValueError(f"no conversion series for {quote} into the account currency {account}: the data "
                     f"needs the close of {account}{quote} (or {quote}{account})")


def conversion_rates(closes: Mapping[str, np.ndarray] | Any, quotes: Sequence[str | None], account: str
                     ) -> tuple[np.ndarray | None, np.ndarray]:
    """Per asset (``quotes``: its quote currency, None = the account's), the column of a T x K array of
    rates (account currency per unit of quote currency) and that array (None when nothing converts).

    ``closes`` maps a symbol to its T closes (a ``MarketData`` works: ``symbols`` and ``close``). A
    rate where the series has no bar is its last known one (its first one before it starts).
    """
    if hasattr(closes, "symbols") and hasattr(closes, "close"):
        md = closes
        available = list(md.symbols)

        def series(name: str) -> np.ndarray:
            return md.close[:, available.index(name)]
    else:
        available = list(closes)

        def series(name: str) -> np.ndarray:
            return np.asarray(closes[name], dtype=np.float64)

    cols = np.full(len(quotes), -1, dtype=np.int64)
    columns: list[np.ndarray] = []
    seen: dict[str, int] = {}
    for j, quote in enumerate(quotes):
        if quote is None or quote == account:
            continue
        if quote not in seen:
            name, divide = conversion_symbol(quote, account, available)
            raw = np.asarray(series(name), dtype=np.float64)
            valid = ~np.isnan(raw)
            if not valid.any():
                raise ValueError(f"the conversion series {name} ({quote} into {account}) has no prices")
            idx = np.where(valid, np.arange(len(raw)), 0)
            np.maximum.accumulate(idx, out=idx)
            filled = np.where(np.maximum.accumulate(valid), raw[idx], raw[valid][0])
            if np.any(filled <= 0):
                raise ValueError(f"the conversion series {name} has prices <= 0")
            seen[quote] = len(columns)
            columns.append(1.0 / filled if divide else filled)
        cols[j] = seen[quote]
    if not columns:
        return None, cols
    return np.ascontiguousarray(np.column_stack(columns)), cols
