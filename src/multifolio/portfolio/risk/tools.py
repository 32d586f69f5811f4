"""Figures the order-screening rules share: trailing returns, correlations, and the cut of an order's
opening part (the compiled VaR search is in ``fast``).

All of them read only the causal history a rule's view gives (``view.history("close", n)``, rows
ending at the decision bar).

>>> import numpy as np
>>> r = np.array([[0.01, 0.02], [-0.01, -0.02], [0.03, 0.05]])
>>> round(float(correlations(r, [0], [1])[0, 0]), 6)
0.996616
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["check_fraction", "check_percent", "check_positive_int", "correlations", "cut_opening_many",
           "kept_opening", "symbol_array", "trailing_returns"]

_SYMBOLS: dict[int, tuple[list[str], np.ndarray]] = {}


def check_percent(value: Any, name: str, rule: str, *, upper: float = 100.0) -> float:
    """A number of percent in (0, upper], else a ValueError naming the rule and the parameter."""
    if isinstance(value, bool):
        raise ValueError(f"{rule} {name} must be a number of percent, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{rule} {name} must be a number of percent, got {value!r}") from None
    if not np.isfinite(x) or not 0.0 < x <= upper:
        raise ValueError(f"{rule} {name} must be in (0, {upper:g}], got {value!r}")
    return x


def check_fraction(value: Any, name: str, rule: str, *, low: float = 0.0, high: float = 1.0,
                   open_low: bool = False) -> float:
    """A number in [low, high] ((low, high] with ``open_low``), else a ValueError naming it."""
    if isinstance(value, bool):
        raise ValueError(f"{rule} {name} must be a number, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{rule} {name} must be a number, got {value!r}") from None
    ok = np.isfinite(x) and (low < x if open_low else low <= x) and x <= high
    if not ok:
        bracket = "(" if open_low else "["
        raise ValueError(f"{rule} {name} must be in {bracket}{low:g}, {high:g}], got {value!r}")
    return x


def check_positive_int(value: Any, name: str, rule: str, *, minimum: int = 1) -> int:
    """An integer >= ``minimum``, else a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value \
            or value < minimum:
        raise ValueError(f"{rule} {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def trailing_returns(view: Any, window: int, assets: Any = None) -> np.ndarray:
    """Simple close-to-close returns of the last ``window`` bars ending at the decision bar
    (fewer rows at the start of the data): a ``<= window`` x N array (x len(assets) with ``assets``,
    those columns only), NaN where a close is missing."""
    close = view.history("close", window + 1)
    if assets is not None:
        close = close[:, assets]
    if len(close) < 2:
        return np.empty((0, close.shape[1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        return close[1:] / close[:-1] - 1.0


def correlations(returns: np.ndarray, rows: Sequence[int], cols: Sequence[int]) -> np.ndarray:
    """Pearson correlations of the return columns ``rows`` with the columns ``cols``
    (len(rows) x len(cols)); each pair over the bars where both returns exist, NaN with fewer than
    3 such bars or a constant series."""
    rows, cols = list(rows), list(cols)
    out = np.full((len(rows), len(cols)), np.nan)
    if not rows or not cols or len(returns) < 3:
        return out
    a, b = returns[:, rows], returns[:, cols]
    fa, fb = np.isfinite(a), np.isfinite(b)
    if fa.all() and fb.all():            # the common case: one matrix product
        za = a - a.mean(axis=0)
        zb = b - b.mean(axis=0)
        sa = np.sqrt((za * za).sum(axis=0))
        sb = np.sqrt((zb * zb).sum(axis=0))
        with np.errstate(divide="ignore", invalid="ignore"):
            c = (za.T @ zb) / np.outer(sa, sb)
        c[~np.isfinite(c)] = np.nan
        return np.clip(c, -1.0, 1.0)
    for i in range(len(rows)):
        for k in range(len(cols)):
            both = fa[:, i] & fb[:, k]
            if both.sum() < 3:
                continue
            x, y = a[both, i], b[both, k]
            x, y = x - x.mean(), y - y.mean()
            den = np.sqrt((x * x).sum() * (y * y).sum())
            if den > 0:
                out[i, k] = min(1.0, max(-1.0, float((x * y).sum() / den)))
    return out


def symbol_array(view: Any) -> np.ndarray:
    """The view's symbols as an object array (to take a figure's symbols by index), kept per list."""
    symbols = view.symbols
    hit = _SYMBOLS.get(id(symbols))
    if hit is None or hit[0] is not symbols:
        if len(_SYMBOLS) > 32:
            _SYMBOLS.clear()
        hit = _SYMBOLS[id(symbols)] = (symbols, np.array(symbols, dtype=object))
    return hit[1]


def kept_opening(batch: Any) -> np.ndarray:
    """The opening part of each order still kept (0 for orders an earlier rule dropped)."""
    return np.where(batch.keep, batch.opening, 0.0)


def cut_opening_many(batch: Any, idx: Any, factor: Any, *, rule: str, reason: str,
                     want: np.ndarray | None = None, opening: np.ndarray | None = None,
                     **figures: Any) -> None:
    """Scale the opening part of orders ``idx`` by ``factor`` in [0, 1] (one for all, or an array per
    order; the reducing parts pass), in one pass through ``batch.set_qty_many``; the factor is logged.

    ``want`` / ``opening``: the batch's requested changes and opening parts (whole-batch arrays) when
    the caller has them."""
    idx = np.asarray(idx, dtype=np.intp).reshape(-1)
    if len(idx) == 0:
        return
    want = batch.requested()[idx] if want is None else np.asarray(want, dtype=np.float64)[idx]
    opening = batch.opening[idx] if opening is None else np.asarray(opening, dtype=np.float64)[idx]
    f = np.asarray(factor, dtype=np.float64)
    allowed = want - opening * (1.0 - f)
    allowed[np.abs(allowed) < 1e-12 * np.maximum(1.0, np.abs(want))] = 0.0
    batch.set_qty_many(idx, allowed, rule=rule, reason=reason,
                       factor=f.copy() if f.ndim else float(f), **figures)
