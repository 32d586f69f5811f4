"""``from_weights``: the whole target-weight loop in one compiled kernel call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba as nb
import numpy as np
import pandas as pd

from multifolio.engine import codes as C
from multifolio.engine import kernels as K
from multifolio.engine.raw import RawRun
from multifolio.engine.records import ORDER_DTYPE
from multifolio.engine.settings import make_settings
from multifolio.engine.state import EngineState, last_valid_rows
from multifolio.engine.validation import as_utc_index, check_prices, first_bad_cell, infer_freq

_EMPTY_BOOK = np.zeros(0, ORDER_DTYPE)


def column_names(frame: pd.DataFrame) -> list[str]:
    # tolist() first: iterating an Arrow-backed column index element by element is slow
    return [str(c) for c in frame.columns.tolist()]


def as_float_array(frame: pd.DataFrame, name: str) -> np.ndarray:
    """The frame's float64 values without a copy where possible.

    pandas keeps a float frame as one column-major block; the kernels read it in place (a bar's row is
    then strided, but each cache line serves the next bars of that asset), which saves copying inputs
    that can be larger than everything else the run allocates. A column that is not numeric is an error
    naming ``name``, the symbol and the first bad timestamp.
    """
    try:
        values = frame.to_numpy(dtype=np.float64, copy=False)
    except (TypeError, ValueError):
        for col in frame.columns:
            numeric = pd.to_numeric(frame[col], errors="coerce")
            bad = numeric.isna() & frame[col].notna()
            if bad.any():
                at = frame.index[int(np.argmax(bad.to_numpy()))]
                raise ValueError(f"{name}: {frame[col][bad].iloc[0]!r} for {col!r} at {at} is not a number"
                                 ) from None
        raise
    if values.flags.f_contiguous or values.flags.c_contiguous:
        return values
    return np.asfortranarray(values)


def _weights_array(weights: Any, panel: PricePanel, allow_short: bool) -> np.ndarray:
    symbols, index = panel.symbols, panel.index
    shape = panel.close.shape
    if isinstance(weights, pd.DataFrame):
        cols = column_names(weights)
        known = set(symbols)
        unknown = [c for c in cols if c not in known]
        if unknown:
            raise ValueError(f"weights has unknown symbol(s) {unknown}; close has {symbols}")
        if len(weights.index) != len(index) or not (
                weights.index is panel.source_index or as_utc_index(weights.index, "weights").equals(index)):
            raise ValueError("weights index must equal close's index (same timestamps, same order); "
                             f"got {len(weights.index)} rows vs {len(index)}")
        if cols == symbols:
            w = as_float_array(weights, "weights")
        else:
            w = np.full(shape, np.nan)
            where = {s: j for j, s in enumerate(symbols)}
            w[:, [where[c] for c in cols]] = as_float_array(weights, "weights")
    else:
        try:
            w = np.asarray(weights, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"weights must be numbers, got {type(weights).__name__} with non-numeric "
                             "values") from None
        if w.shape != shape:
            raise ValueError(f"weights must have close's shape {shape}, got {w.shape}")
    if not (w.flags.c_contiguous or w.flags.f_contiguous):
        w = np.ascontiguousarray(w)
    t, j = first_bad_cell(w, _flat_bad_weight(allow_short))
    if t >= 0:
        what = "infinite" if np.isinf(w[t, j]) else "negative (pass allow_short=True to short)"
        raise ValueError(f"weights: {what} weight {w[t, j]!r} for {symbols[j]!r} at {index[t]}")
    return w


@nb.njit(cache=True)
def _count_nonzero(w: np.ndarray) -> int:
    n = 0
    for i in range(w.shape[0]):
        if w[i] != 0.0 and w[i] == w[i]:
            n += 1
    return n


def _flat_bad_weight(allow_short: bool):
    return _first_bad_weight_short if allow_short else _first_bad_weight_long


@nb.njit(cache=True)
def _first_bad_weight_short(w: np.ndarray) -> int:
    for i in range(w.shape[0]):
        if w[i] == np.inf or w[i] == -np.inf:
            return i
    return -1


@nb.njit(cache=True)
def _first_bad_weight_long(w: np.ndarray) -> int:
    for i in range(w.shape[0]):
        if w[i] == np.inf or w[i] < 0.0:
            return i
    return -1


@dataclass(frozen=True)
class PricePanel:
    """Close (and execution) prices checked once: UTC index, symbols, T x N arrays, bar spacing, and each
    asset's last bar. Several weight tables (portfolios) can run on one panel without checking it again."""

    index: pd.DatetimeIndex
    symbols: list[str]
    close: np.ndarray
    execution: np.ndarray          # the open when given, else the close
    freq: pd.Timedelta | None
    last_bar: np.ndarray
    source_index: Any = None       # the caller's index object (weights sharing it need no comparison)

    def columns(self, symbols: list[str]) -> PricePanel:
        """The panel of some of its symbols (itself when they are all of them, in order)."""
        if symbols == self.symbols:
            return self
        where = {s: j for j, s in enumerate(self.symbols)}
        idx = [where[s] for s in symbols]
        return PricePanel(self.index, list(symbols), np.asfortranarray(self.close[:, idx]),
                          np.asfortranarray(self.execution[:, idx]), self.freq, self.last_bar[idx],
                          self.source_index)


def price_panel(close: pd.DataFrame, open: pd.DataFrame | None = None) -> PricePanel:
    """Check ``close`` (and ``open``) once: a wide DataFrame of finite positive prices or NaN."""
    if not isinstance(close, pd.DataFrame):
        raise ValueError(f"close must be a wide DataFrame (index = timestamps, columns = symbols), "
                         f"got {type(close).__name__}")
    index = as_utc_index(close.index, "close")
    symbols = column_names(close)
    if len(set(symbols)) != len(symbols):
        raise ValueError(f"close has duplicate symbols: {symbols}")
    cl = as_float_array(close, "close")
    check_prices(cl, "close", symbols, index)
    if open is not None:
        if not isinstance(open, pd.DataFrame) or open.shape != close.shape:
            raise ValueError(f"open must be a DataFrame shaped like close {close.shape}")
        if column_names(open) != symbols:
            raise ValueError("open must have close's columns in the same order")
        if not (open.index is close.index or as_utc_index(open.index, "open").equals(index)):
            raise ValueError("open index must equal close's index (same timestamps, same order)")
        ex = as_float_array(open, "open")
        check_prices(ex, "open", symbols, index)
    else:
        ex = cl
    return PricePanel(index, symbols, cl, ex, infer_freq(index), last_valid_rows(cl), close.index)


def simulate_weights(close: pd.DataFrame | PricePanel, weights: Any, *, open: pd.DataFrame | None = None,
                     cash: float = 1_000_000.0, fees: Any = 0.0, fixed_fees: Any = 0.0,
                     slippage: Any = 0.0, execution: str = "next_open", leverage: Any = 1.0,
                     allow_short: bool = False, maintenance_margin: float = 0.5, min_notional: Any = 0.0,
                     qty_step: Any = 0.0, close_at_end: bool = True) -> RawRun:
    """Run target weights through the engine; see ``multifolio.from_weights`` for the semantics.
    ``close`` may be a :class:`PricePanel` already checked (then ``open`` is the panel's)."""
    panel = close if isinstance(close, PricePanel) else price_panel(close, open)
    symbols, index = panel.symbols, panel.index
    settings = make_settings(symbols, cash=cash, fees=fees, fixed_fees=fixed_fees, slippage=slippage,
                             execution=execution, leverage=leverage, allow_short=allow_short,
                             maintenance_margin=maintenance_margin, min_notional=min_notional,
                             qty_step=qty_step, close_at_end=close_at_end)
    cl, ex = panel.close, panel.execution
    w = _weights_array(weights, panel, settings.allow_short)
    state = EngineState(len(index), len(symbols), settings)
    # first guess of the ledger size: a fill needs a non-zero target (or a position it closes)
    state.ensure_room(int(1.5 * _count_nonzero(w.ravel(order="K"))) + 4 * len(symbols) + 1024)
    at_open = settings.execute_at_open
    t = 0
    while t < len(index):
        state.ensure_room(K.room_needed(len(symbols), 0) * 4)
        t = K.run_weights(t, len(index), ex, cl, w, at_open, 0, panel.last_bar, _EMPTY_BOOK, state.acct,
                          state.pos, state.costs, state.snap, state.qh, state.ledgers)
    if close_at_end and len(index):
        finish_run(state, cl, _EMPTY_BOOK)
    return RawRun(index=index, symbols=symbols, state=state, freq=panel.freq, close=cl)


def finish_run(state: EngineState, cl: np.ndarray, book: np.ndarray) -> None:
    """Close what is still open at the last bar's close (reason ``end_of_data``) and re-mark that bar."""
    t = cl.shape[0] - 1
    if not np.any(state.qty != 0.0):
        return
    state.ensure_room(K.room_needed(state.n_assets, len(book)))
    which = np.ones(state.n_assets, dtype=np.bool_)
    K.close_positions(t, cl[t], which, C.END_OF_DATA, state.acct, state.pos, state.costs, state.ledgers)
    K.snapshot(t, cl[t], state.acct, state.pos, state.costs, book, state.snap, state.qh)
