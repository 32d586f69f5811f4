"""GridATR: an ATR-spaced limit-order grid around a moving average, one grid per asset, one shared pool.

For every asset, each bar:

* the *centre* is SMA(``ma_period``) of the close and the spacing unit is ATR(``atr_period``);
* long levels rest at ``centre - ATR * (atr_multiplier_start + i * atr_multiplier_step)``,
  ``i < num_levels``; short levels (``sides="short"`` or ``"both"``) mirror them above the centre;
* each level is a resting limit order of notional ``budget / num_levels * leverage`` (quantity =
  notional / level price), where ``budget`` = initial capital / N, or capital x normalised
  ``budget_weights``;
* the grids are cancelled and re-placed, re-centred, on every bar with one bulk ``place_limits`` call
  for all assets; levels that already filled in the current cycle are not placed again (the grid only
  offers its remaining, deeper levels), so an asset never holds more than ``num_levels`` levels;
* the whole position of an asset is closed (market order) when the close returns to the centre
  (reason ``take_profit``) or moves ``sl_percent`` against the average entry (reason ``stop_loss``);
* nothing is placed before SMA and ATR are warm, on a bar where the asset has no price, or while the
  ATR is zero (flat prices: every level would sit on the centre). Across a missing bar the indicators
  carry on (the SMA counts it as an unchanged close, Wilder's ATR skips it).

A level already crossed by the price (a buy level above the close, e.g. after a sharp fall, or a short
level below it once the lagging centre sits under the price) is a marketable limit order: it fills at
the next open, as it would on an exchange.

Two-sided grids (``sides="both"``) trade one side per cycle: while flat they offer the side the close
is on (the long levels when the close is below the centre, the short levels when it is at or above it),
so that one wide bar cannot fill both sides of one asset; once a side fills, only that side's remaining
levels are offered until the position is closed.

Minimum notional: a level's notional is fixed per asset (budget / num_levels x leverage), so the levels
of an asset are either all above the exchange minimum or all below it. The grid does not filter them: it
places them, and the engine rejects each one that the price reaches with reason ``min_notional`` (the
check runs at fill time, on the filled quantity x fill price). A level rejected that way is offered again
on the next bar; the count of such rejections is what a capital sweep reads to see that a capital is too
small for that many assets. Rejected fills (for margin or minimum notional) never count as filled levels.

The per-bar work runs in one numba kernel (exits, level bookkeeping and the level arrays for all assets).
Where nothing else needs Python (no risk rules, no allocator, no price tick) the simulator does not call
``on_bar`` at all: ``run_bars`` runs whole spans of bars in one compiled call that takes the same steps
through the engine's compiled bar functions (``multifolio.engine.compiled``), with the same result to the
bit. Otherwise Python is called once per bar, plus once per asset that exits on that bar.

>>> GridATR(ma_period=24, atr_period=14, num_levels=4).num_levels
4
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numba as nb
import numpy as np

from multifolio.engine import codes as C
from multifolio.engine import compiled as E
from multifolio.engine.compiled import BarRun
from multifolio.engine.strategy import Strategy
from multifolio.strategies._params import per_asset_overrides
from multifolio.strategies.indicators import atr, forward_filled, sma

__all__ = ["GridATR"]

SIDES = {"long": 1, "short": 2, "both": 3}

# Exit codes written by the kernel.
_EXIT_NONE, _EXIT_TP, _EXIT_SL = 0, 1, 2

# Rows of the packed per-asset constants and of the integer state.
_PA_NOTIONAL, _PA_SL, _PA_SIDES, _PA_LEVELS, _PA_ACTIVE = range(5)
_N_PA = 5
_ST_FILLED, _ST_PEAK, _ST_EXIT = range(3)
_N_ST = 3

#: The most levels per side a grid may have: the level arrays (and the resting orders) scale with it.
MAX_LEVELS = 1000
#: The most memory the grid's level arrays may take (bytes): above it ``init`` refuses to allocate.
MAX_GRID_BYTES = 4 * 1024**3
# Bytes per (asset, level) slot: offsets (1 float), placed quantities (2), the bulk placement's output
# buffers (2 slots per level, both sides: an int index and two floats each).
_BYTES_PER_SLOT = 8 * (1 + 2 + 2 + 4)

# Relative tolerance used to call a quantity zero (positions are floats accumulated over many fills).
_QTY_EPS = 1e-12

PARAMS: dict[str, tuple[type, Any, str]] = {
    "ma_period": (int, 48, "bars of the SMA that centres the grid"),
    "atr_period": (int, 14, "bars of the (Wilder) ATR that spaces the levels"),
    "atr_multiplier_start": (float, 1.0, "distance of the first level from the centre, in ATRs"),
    "atr_multiplier_step": (float, 0.5, "extra distance of each further level, in ATRs"),
    "num_levels": (int, 5, f"levels per side (at most {MAX_LEVELS})"),
    "leverage": (float, 1.0, "notional per level = budget / num_levels x leverage"),
    "sides": (str, "long", "long | short | both"),
    "sl_percent": (float, 10.0, "stop-loss distance from the average entry, % (None = no stop)"),
    "budget_weights": (dict, None, "{symbol: weight} budget split (normalised); default capital / N"),
    "per_asset": (dict, None, "{symbol: {param: value}} per-asset overrides of the parameters above"),
}

# Parameters that may be overridden per asset.
_PER_ASSET_PARAMS = ("ma_period", "atr_period", "atr_multiplier_start", "atr_multiplier_step",
                     "num_levels", "leverage", "sides", "sl_percent")


def _check_params(p: dict[str, Any], where: str = "") -> dict[str, Any]:
    """Validate one parameter set; errors name the parameter (and the symbol for per-asset values)."""
    out: dict[str, Any] = {}
    for name in ("ma_period", "atr_period", "num_levels"):
        v = p[name]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name}{where} must be an integer >= 1, got {v!r}")
        if name == "num_levels" and v > MAX_LEVELS:
            raise ValueError(f"num_levels{where} must be an integer in [1, {MAX_LEVELS}], got {v!r}")
        out[name] = int(v)
    for name, low, inclusive in (("atr_multiplier_start", 0.0, False), ("atr_multiplier_step", 0.0, True),
                                 ("leverage", 0.0, False)):
        v = p[name]
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"{name}{where} must be a number, got {v!r}") from None
        if isinstance(v, bool) or not math.isfinite(x) or (x < low if inclusive else x <= low):
            bound = ">= 0" if inclusive else "> 0"
            raise ValueError(f"{name}{where} must be finite and {bound}, got {v!r}")
        out[name] = x
    sides = p["sides"]
    if sides not in SIDES:
        raise ValueError(f"sides{where} must be one of {sorted(SIDES)}, got {sides!r}")
    out["sides"] = sides
    sl = p["sl_percent"]
    if sl is None:
        out["sl_percent"] = None
    else:
        try:
            x = float(sl)
        except (TypeError, ValueError):
            raise ValueError(f"sl_percent{where} must be a number or None, got {sl!r}") from None
        # A long stop 100% below the entry could never trigger; above 100 is meaningless for longs.
        if isinstance(sl, bool) or not math.isfinite(x) or not 0.0 < x < 100.0:
            raise ValueError(f"sl_percent{where} must be in (0, 100), got {sl!r}")
        out["sl_percent"] = x
    return out


def _mib(n_bytes: float) -> str:
    return f"{n_bytes / 1024**3:.1f} GiB" if n_bytes >= 1024**3 else f"{n_bytes / 1024**2:.1f} MiB"


class GridATR(Strategy):
    """ATR-spaced limit-order grid around an SMA, one per asset, all on one shared account.

    See the module docstring for the rules.

    Parameters are keyword-only; ``per_asset={"BTC/USDT": {"num_levels": 8, ...}}`` overrides any of
    ``ma_period, atr_period, atr_multiplier_start, atr_multiplier_step, num_levels, leverage, sides,
    sl_percent`` for one symbol. Symbols of ``per_asset``/``budget_weights`` that are not in the run's
    data are ignored (a run may use the first n assets of a larger configuration).

    After a run, ``peak_filled_levels`` holds, per asset, the most levels held at once.
    """

    name = "grid_atr"
    schedule = "every_bar"
    PARAMS = PARAMS

    def __init__(self, *, ma_period: int = 48, atr_period: int = 14, atr_multiplier_start: float = 1.0,
                 atr_multiplier_step: float = 0.5, num_levels: int = 5, leverage: float = 1.0,
                 sides: str = "long", sl_percent: float | None = 10.0,
                 budget_weights: Mapping[str, float] | Sequence[float] | None = None,
                 per_asset: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        base = _check_params({"ma_period": ma_period, "atr_period": atr_period,
                              "atr_multiplier_start": atr_multiplier_start,
                              "atr_multiplier_step": atr_multiplier_step, "num_levels": num_levels,
                              "leverage": leverage, "sides": sides, "sl_percent": sl_percent})
        for k, v in base.items():
            setattr(self, k, v)
        self._base = base
        self.per_asset: dict[str, dict[str, Any]] = {
            sym: _check_params({**base, **overrides}, f" for {sym!r}")
            for sym, overrides in per_asset_overrides(per_asset, _PER_ASSET_PARAMS).items()}
        self.budget_weights = self._check_weights(budget_weights)

    @staticmethod
    def _check_weights(w: Any) -> dict[str, float] | list[float] | None:
        if w is None:
            return None
        items = list(w.items()) if isinstance(w, Mapping) else list(enumerate(w))
        for key, v in items:
            try:
                x = float(v)
            except (TypeError, ValueError):
                raise ValueError(f"budget_weights[{key!r}] must be a number, got {v!r}") from None
            if not math.isfinite(x) or x < 0:
                raise ValueError(f"budget_weights[{key!r}] must be finite and >= 0, got {v!r}")
        if not items or sum(float(v) for _, v in items) <= 0:
            raise ValueError("budget_weights must hold at least one positive weight")
        if isinstance(w, Mapping):
            return {str(k): float(v) for k, v in w.items()}
        return [float(v) for v in w]

    # -- set-up ----------------------------------------------------------------------------------
    def asset_params(self, symbols: Sequence[str]) -> list[dict[str, Any]]:
        """The resolved parameter set of each symbol (base parameters plus its overrides)."""
        return [self.per_asset.get(s, self._base) for s in symbols]

    def min_capital_per_asset(self, symbols: Sequence[str], min_notional: np.ndarray) -> np.ndarray:
        """A grid's smallest order is one level, ``budget / num_levels x leverage``: the budget must be at
        least ``min_notional x num_levels / leverage`` (per-asset overrides applied).

        >>> GridATR(num_levels=5, leverage=2.0).min_capital_per_asset(["A"], np.array([5.0])).tolist()
        [12.5]
        """
        params = self.asset_params(symbols)
        levels = np.array([float(p["num_levels"]) for p in params])
        lev = np.array([float(p["leverage"]) for p in params])
        return np.asarray(min_notional, dtype=np.float64) * levels / lev

    def budgets(self, symbols: Sequence[str], capital: float) -> np.ndarray:
        """Budget of each asset: capital / N, or capital x weight / sum of the run's weights.

        >>> GridATR(budget_weights={"A": 3, "B": 1}).budgets(["A", "B"], 1000.0).tolist()
        [750.0, 250.0]
        """
        n = len(symbols)
        if self.budget_weights is None:
            return np.full(n, capital / n)
        if isinstance(self.budget_weights, dict):
            w = np.array([self.budget_weights.get(s, 0.0) for s in symbols])
        else:
            if len(self.budget_weights) != n:
                raise ValueError(f"budget_weights has {len(self.budget_weights)} values for {n} assets")
            w = np.asarray(self.budget_weights, dtype=np.float64)
        if w.sum() <= 0:
            raise ValueError(f"budget_weights give no positive weight to any of {list(symbols)}")
        return capital * w / w.sum()

    def init(self, ctx: Any) -> None:
        data = ctx.data
        symbols = list(ctx.symbols)
        n = len(symbols)
        params = self.asset_params(symbols)
        # Indicators once for the whole run, vectorised; assets sharing a period share one call.
        self._centre = np.full((data.n_bars, n), np.nan)
        self._atr = np.full((data.n_bars, n), np.nan)
        # A missing bar counts as an unchanged close for the centre, so that a one-hour gap does not
        # blank the grid (and its exits) for ma_period bars; bars without a price still trade nothing.
        filled = forward_filled(data.close)
        for period in {p["ma_period"] for p in params}:
            cols = [j for j, p in enumerate(params) if p["ma_period"] == period]
            self._centre[:, cols] = sma(filled[:, cols], period)
        for period in {p["atr_period"] for p in params}:
            cols = [j for j, p in enumerate(params) if p["atr_period"] == period]
            self._atr[:, cols] = atr(data.high[:, cols], data.low[:, cols], data.close[:, cols], period)

        n_levels = np.array([p["num_levels"] for p in params], dtype=np.int64)
        max_levels = int(n_levels.max())
        need = _BYTES_PER_SLOT * n * max_levels
        if need > MAX_GRID_BYTES:
            raise ValueError(f"num_levels={max_levels} x {n} assets needs about {_mib(need)} of level "
                             f"arrays, over the {_mib(MAX_GRID_BYTES)} limit; use fewer "
                             "levels or assets")
        # offsets[j, i] = start + i * step in ATRs; NaN beyond the asset's num_levels.
        i = np.arange(max_levels, dtype=np.float64)
        start = np.array([p["atr_multiplier_start"] for p in params])
        step = np.array([p["atr_multiplier_step"] for p in params])
        self._offsets = np.ascontiguousarray(start[:, None] + i[None, :] * step[:, None])
        self._offsets[i[None, :] >= n_levels[:, None]] = np.nan
        self._budget = self.budgets(symbols, float(ctx.capital))
        lev = np.array([p["leverage"] for p in params])
        # Per-asset constants packed in one array: the kernel call costs per argument, not per value.
        self._pa = np.empty((_N_PA, n))
        self._pa[_PA_NOTIONAL] = self._budget / n_levels * lev
        self._pa[_PA_SL] = [np.nan if p["sl_percent"] is None else p["sl_percent"] / 100.0 for p in params]
        self._pa[_PA_SIDES] = [SIDES[p["sides"]] for p in params]
        self._pa[_PA_LEVELS] = n_levels
        self._pa[_PA_ACTIVE] = self._budget > 0  # a zero budget weight switches the grid of an asset off

        # Per-bar state, updated in place by the kernel: last position, filled-level counts, the
        # quantities placed per level and side, and the output buffers of the bulk placement.
        self._last_pos = np.zeros(n)
        self._st = np.zeros((_N_ST, n), dtype=np.int64)
        self._placed = np.zeros((2, n, max_levels))
        cap = 2 * n * max_levels
        self._out_idx = np.empty(cap, dtype=np.int64)
        self._out = np.empty((2, cap))
        self._close = data.close
        self._symbols = symbols

    @property
    def level_notional(self) -> np.ndarray | None:
        """Notional of one level per asset (budget / num_levels x leverage); None before ``init``."""
        return self._pa[_PA_NOTIONAL].copy() if hasattr(self, "_pa") else None

    @property
    def n_filled_levels(self) -> np.ndarray | None:
        """Levels currently held per asset; None before ``init``."""
        return self._st[_ST_FILLED].copy() if hasattr(self, "_st") else None

    @property
    def peak_filled_levels(self) -> np.ndarray | None:
        """Most levels held at once per asset over the run so far; None before ``init``."""
        return self._st[_ST_PEAK].copy() if hasattr(self, "_st") else None

    # -- per bar ---------------------------------------------------------------------------------
    def on_bar(self, ctx: Any) -> None:
        k, n_exit, n_filled = _grid_step(int(ctx.bar), self._centre, self._atr, self._close, ctx.positions,
                                         ctx.avg_price, self._offsets, self._pa, self._last_pos, self._st,
                                         self._placed, self._out_idx, self._out)
        ctx.cancel_all()
        if n_exit:
            # one bulk close per reason (rare: only on bars where some asset exits)
            codes = self._st[_ST_EXIT]
            for code, reason in ((_EXIT_TP, "take_profit"), (_EXIT_SL, "stop_loss")):
                idx = np.flatnonzero(codes == code)
                if len(idx):
                    ctx.close_positions(idx, reason=reason)
        if k:
            ctx.place_limits(self._out_idx[:k], self._out[0, :k], self._out[1, :k], tag="grid")
        ctx.record(n_filled_levels=n_filled)

    def run_bars(self, run: BarRun, t0: int, t1: int) -> None:
        """Bars t0..t1-1 without Python: ``on_bar``'s steps, compiled (see ``multifolio.engine.compiled``)."""
        reasons = np.array([run.reason("take_profit"), run.reason("stop_loss"), run.reason("grid")])
        record = run.record("n_filled_levels")
        run.advance(lambda t: _grid_run(t, t1, run.decide, run.at_open, self._out_idx.shape[0], run.market,
                                        run.arrays(), self._centre, self._atr, self._close, self._offsets,
                                        self._pa, self._last_pos, self._st, self._placed, self._out_idx,
                                        self._out, record, reasons),
                    t0, t1, new_rows=self._out_idx.shape[0])


@nb.njit(cache=True)
def _grid_run(t0, t1, decide, at_open, new_rows, mk, a, centre2d, atr2d, close2d, offsets, pa, last_pos,
              st, placed, out_idx, out, record, reasons):  # pragma: no cover - numba
    """Bars t0..t1-1: the engine's bar, then on decision bars ``on_bar``'s steps (exits closed in one
    batch per reason, the grid cancelled and re-placed, the filled-level count recorded). Returns the
    first bar not processed (earlier than t1 when the ledgers or the book need room)."""
    n = a.pos.shape[0]
    which = np.zeros(n, dtype=np.bool_)
    no_mask = np.zeros(1, dtype=np.bool_)
    exit_codes = st[_ST_EXIT]
    qty, avg = a.pos.qty, a.pos.avg_price        # views taken once: the positions are never reallocated
    for t in range(t0, t1):
        deciding = decide[t]
        if not E.begin_bar(t, at_open, deciding, new_rows, mk, a):
            return t
        if not deciding:
            continue
        k, n_exit, n_filled = _grid_step(t, centre2d, atr2d, close2d, qty, avg, offsets, pa, last_pos, st,
                                         placed, out_idx, out)
        E.cancel_resting(a, no_mask, True, True)
        if n_exit:
            for e, code in ((_EXIT_TP, 0), (_EXIT_SL, 1)):
                count = 0
                for j in range(n):
                    which[j] = exit_codes[j] == e
                    count += which[j]
                if count:
                    E.cancel_resting(a, which, False, False)
                    E.queue_targets(t, a, which, C.TARGET_QTY, 0.0, reasons[code])
        if k:
            E.place_limits(t, a, out_idx[:k], out[0, :k], out[1, :k], reasons[2])
        record[t] = n_filled
        E.end_decision(t, at_open, mk, a)
    return t1


@nb.njit(cache=True)
def _grid_step(t, centre2d, atr2d, close2d, pos, avg, offsets, pa, last_pos, st, placed,
               out_idx, out):  # pragma: no cover - numba
    """One bar for every asset: count newly filled levels, decide exits, write the levels to place.

    Returns (levels written to ``out_idx``/``out``, assets to close, levels held in total).
    Filled levels are counted from the position change since the previous call: the levels placed then
    fill in order (the nearest first), so the new levels are the prefix of the placed quantities whose
    running sum covers the change (half a level of tolerance absorbs quantity rounding).
    """
    n, max_levels = offsets.shape
    centre = centre2d[t]
    atr_t = atr2d[t]
    close = close2d[t]
    n_filled = st[_ST_FILLED]
    peak = st[_ST_PEAK]
    exit_code = st[_ST_EXIT]
    k = 0
    n_exit = 0
    total = 0
    for j in range(n):
        exit_code[j] = _EXIT_NONE
        n_levels = int(pa[_PA_LEVELS, j])
        p = pos[j]
        scale = abs(p) + abs(last_pos[j]) + 1.0
        flat = abs(p) <= _QTY_EPS * scale
        if flat:
            n_filled[j] = 0
        else:
            side = 0 if p > 0 else 1
            prev = last_pos[j] if p * last_pos[j] > 0 else 0.0
            delta = abs(p) - abs(prev)
            if delta > 0:
                cum = 0.0
                for i in range(max_levels):
                    q = placed[side, j, i]
                    if q <= 0:
                        continue
                    cum += q
                    if cum - 0.5 * q <= delta:
                        n_filled[j] += 1
                    else:
                        break
                if n_filled[j] > n_levels:
                    n_filled[j] = n_levels
        if n_filled[j] > peak[j]:
            peak[j] = n_filled[j]
        total += n_filled[j]
        last_pos[j] = p
        for i in range(max_levels):
            placed[0, j, i] = 0.0
            placed[1, j, i] = 0.0

        c = close[j]
        m = centre[j]
        a = atr_t[j]
        if not (np.isfinite(c) and np.isfinite(m) and np.isfinite(a)):
            continue  # no price or indicators not warm: hold, place nothing
        sl = pa[_PA_SL, j]
        if not flat:
            if (p > 0 and c >= m) or (p < 0 and c <= m):
                exit_code[j] = _EXIT_TP
            elif np.isfinite(sl) and ((p > 0 and c <= avg[j] * (1.0 - sl))
                                      or (p < 0 and c >= avg[j] * (1.0 + sl))):
                exit_code[j] = _EXIT_SL
            if exit_code[j] != _EXIT_NONE:
                n_exit += 1
                continue
        if pa[_PA_ACTIVE, j] == 0.0 or a <= 0.0:
            continue  # a zero ATR (flat prices) gives no spacing: every level would sit on the centre
        sides = int(pa[_PA_SIDES, j])
        # A two-sided grid that is flat offers the side the close is on (long levels when it is below the
        # centre, short ones otherwise), so one bar never fills both sides of one asset.
        both = sides == 3
        do_long = (sides & 1) != 0 and (p > 0 or (flat and (not both or c < m)))
        do_short = (sides & 2) != 0 and (p < 0 or (flat and (not both or c >= m)))
        notional = pa[_PA_NOTIONAL, j]
        for i in range(n_filled[j], n_levels):
            off = a * offsets[j, i]
            if do_long:
                price = m - off
                if price > 0:
                    q = notional / price
                    placed[0, j, i] = q
                    out_idx[k] = j
                    out[0, k] = q
                    out[1, k] = price
                    k += 1
            if do_short:
                price = m + off
                q = notional / price
                placed[1, j, i] = q
                out_idx[k] = j
                out[0, k] = -q
                out[1, k] = price
                k += 1
    return k, n_exit, total
