"""Mean reversion: trade the z-score of the close against its rolling mean, with exact bracket levels.

z_t = (close_t - mean(close over the last ``window`` bars)) / std (population, same window), causal.
Flat: buy when z < -``entry_z`` (``side`` long/both), sell short when z > ``entry_z`` (short/both).
Held: a long exits when z >= -``exit_z``, a short when z <= ``exit_z`` (back near the mean). Each entry is
a market order of ``weight`` x capital (default 1/N) with a stop-loss and a take-profit at exact prices
from the decision's close: ``stop_loss_pct`` / ``take_profit_pct`` (fractions) or ``stop_loss_atr`` /
``take_profit_atr`` (multiples of the ``atr_period`` ATR). Every parameter may differ per asset:
``per_asset={symbol: {param: value}}`` or a JSON file of that shape (``per_asset_file``; entries of
``per_asset`` win over the file's).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from multifolio.engine.strategy import Strategy
from multifolio.strategies._params import per_asset_overrides, positive_int
from multifolio.strategies.indicators import atr

SIDES = ("long", "short", "both")
_LEVELS = ("stop_loss_pct", "take_profit_pct", "stop_loss_atr", "take_profit_atr")


def zscore(close: np.ndarray, window: int) -> np.ndarray:
    """Rolling z-score of each column (NaN until ``window`` closes, or where the window's std is 0).

    >>> zscore(np.array([[1.0], [2.0], [3.0], [0.0]]), 3)[:, 0].round(4).tolist()
    [nan, nan, 1.2247, -1.3363]
    """
    c = np.asarray(close, dtype=np.float64)
    out = np.full(c.shape, np.nan)
    if c.shape[0] < window:
        return out
    win = np.lib.stride_tricks.sliding_window_view(c, window, axis=0)     # (T - w + 1) x N x w
    mean = win.mean(axis=-1)
    std = win.std(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (c[window - 1:] - mean) / std
    z[~(std > 1e-12 * np.abs(mean))] = np.nan
    out[window - 1:] = z
    return out


def _number(name: str, value: Any, *, low: float = 0.0, optional: bool = False, where: str = "") -> float:
    if value is None and optional:
        return np.nan
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}{where} must be a number, got {value!r}") from None
    if not np.isfinite(x) or x < low or (low == 0.0 and x == 0.0 and optional):
        raise ValueError(f"{name}{where} must be finite and > {low:g}, got {value!r}")
    return x


class MeanReversion(Strategy):
    """Z-score mean reversion with stop-loss / take-profit brackets at exact price levels.

    >>> MeanReversion(window=20, entry_z=2.0, exit_z=0.5, side="both").side
    'both'
    """

    name: ClassVar[str] = "mean_reversion"
    FILE_PARAMS: ClassVar[tuple[str, ...]] = ("per_asset_file",)
    PARAMS: ClassVar[dict[str, tuple[type, Any, str]]] = {
        "window": (int, 20, "rolling window of the mean and std (bars)"),
        "entry_z": (float, 2.0, "enter when |z| exceeds this"),
        "exit_z": (float, 0.5, "exit when z is back within this of the mean"),
        "side": (str, "both", "long, short or both"),
        "weight": (float, None, "notional per position as a fraction of capital (default 1/N)"),
        "stop_loss_pct": (float, None, "stop-loss at this fraction from the entry decision's close"),
        "take_profit_pct": (float, None, "take-profit at this fraction from the entry decision's close"),
        "stop_loss_atr": (float, None, "stop-loss at this multiple of the ATR from the close"),
        "take_profit_atr": (float, None, "take-profit at this multiple of the ATR from the close"),
        "atr_period": (int, 14, "ATR period (bars) for the *_atr levels"),
        "per_asset": (dict, None, "{symbol: {param: value}} per-asset overrides"),
        "per_asset_file": (str, None, "JSON file of {symbol: {param: value}} (per_asset wins)"),
    }
    _PER_ASSET = ("window", "entry_z", "exit_z", "side", "weight", *_LEVELS, "atr_period")

    def __init__(self, *, window: int = 20, entry_z: float = 2.0, exit_z: float = 0.5, side: str = "both",
                 weight: float | None = None, stop_loss_pct: float | None = None,
                 take_profit_pct: float | None = None, stop_loss_atr: float | None = None,
                 take_profit_atr: float | None = None, atr_period: int = 14,
                 per_asset: Mapping[str, Mapping[str, Any]] | None = None,
                 per_asset_file: str | None = None, schedule: str | int = "every_bar") -> None:
        base = dict(window=window, entry_z=entry_z, exit_z=exit_z, side=side, weight=weight,
                    stop_loss_pct=stop_loss_pct, take_profit_pct=take_profit_pct,
                    stop_loss_atr=stop_loss_atr, take_profit_atr=take_profit_atr, atr_period=atr_period)
        self._base = self._check(base, "")
        for k, v in self._base.items():
            setattr(self, k, v)
        overrides: dict[str, dict[str, Any]] = {}
        if per_asset_file is not None:
            path = Path(per_asset_file).expanduser()
            try:
                loaded = json.loads(path.read_text())
            except OSError as exc:
                raise ValueError(f"per_asset_file: cannot read {str(path)!r}: {exc.strerror}") from None
            except json.JSONDecodeError as exc:
                raise ValueError(f"per_asset_file {str(path)!r} is not valid JSON: {exc}") from None
            overrides.update(per_asset_overrides(loaded, self._PER_ASSET, "per_asset_file"))
        for sym, over in per_asset_overrides(per_asset, self._PER_ASSET).items():
            overrides[sym] = {**overrides.get(sym, {}), **over}
        self.per_asset_file = per_asset_file
        self.per_asset = {sym: self._check({**base, **over}, f" for {sym!r}")
                          for sym, over in overrides.items()}
        self.schedule = schedule

    @staticmethod
    def _check(p: dict[str, Any], where: str) -> dict[str, Any]:
        out = dict(p)
        out["window"] = positive_int(f"window{where}", p["window"])
        if out["window"] < 2:
            raise ValueError(f"window{where} must be >= 2, got {p['window']!r}")
        out["atr_period"] = positive_int(f"atr_period{where}", p["atr_period"])
        out["entry_z"] = _number("entry_z", p["entry_z"], where=where)
        out["exit_z"] = _number("exit_z", p["exit_z"], where=where)
        if out["exit_z"] >= out["entry_z"]:
            raise ValueError(f"exit_z{where} ({out['exit_z']:g}) must be smaller than entry_z "
                             f"({out['entry_z']:g})")
        if p["side"] not in SIDES:
            raise ValueError(f"side{where} must be one of {SIDES}, got {p['side']!r}")
        if p["weight"] is not None:
            out["weight"] = _number("weight", p["weight"], where=where, optional=True)
        for name in _LEVELS:
            if p[name] is not None:
                out[name] = _number(name, p[name], where=where, optional=True)
        for kind in ("stop_loss", "take_profit"):
            if p[f"{kind}_pct"] is not None and p[f"{kind}_atr"] is not None:
                raise ValueError(f"give {kind}_pct or {kind}_atr{where}, not both")
        if p["stop_loss_pct"] is not None and out["stop_loss_pct"] >= 1.0:
            raise ValueError(f"stop_loss_pct{where} is a fraction and must be < 1, "
                             f"got {p['stop_loss_pct']!r}")
        return out

    def init(self, ctx: Any) -> None:
        data = ctx.data
        n = ctx.n_assets
        params = [self.per_asset.get(s, self._base) for s in ctx.symbols]

        def col(name: str, default: float = np.nan) -> np.ndarray:
            return np.array([default if p[name] is None else float(p[name]) for p in params])

        self._entry = col("entry_z")
        self._exit = col("exit_z")
        self._weight = col("weight", 1.0 / n)
        self._long_ok = np.array([p["side"] in ("long", "both") for p in params])
        self._short_ok = np.array([p["side"] in ("short", "both") for p in params])
        self._sl_pct, self._tp_pct = col("stop_loss_pct"), col("take_profit_pct")
        self._sl_atr, self._tp_atr = col("stop_loss_atr"), col("take_profit_atr")
        self._z = np.full(data.close.shape, np.nan)
        windows = np.array([p["window"] for p in params])
        for w in np.unique(windows):                       # one pass per distinct window, not per asset
            cols = np.flatnonzero(windows == w)
            self._z[:, cols] = zscore(data.close[:, cols], int(w))
        self._atr = None
        if np.isfinite(self._sl_atr).any() or np.isfinite(self._tp_atr).any():
            self._atr = np.full(data.close.shape, np.nan)
            periods = np.array([p["atr_period"] for p in params])
            for k in np.unique(periods):
                cols = np.flatnonzero(periods == k)
                self._atr[:, cols] = atr(data.high[:, cols], data.low[:, cols], data.close[:, cols], int(k))

    def on_bar(self, ctx: Any) -> None:
        t = ctx.bar
        z = self._z[t]
        held = ctx.positions
        ok = ctx.tradable & ~np.isnan(z)
        with np.errstate(invalid="ignore"):
            exit_long = ok & (held > 0) & (z >= -self._exit)
            exit_short = ok & (held < 0) & (z <= self._exit)
            go_long = ok & (held == 0) & self._long_ok & (z < -self._entry)
            go_short = ok & (held == 0) & self._short_ok & (z > self._entry)
        out = np.flatnonzero(exit_long | exit_short)
        if len(out):
            ctx.close_positions(out, reason="signal")
        enter = np.flatnonzero(go_long | go_short)
        if not len(enter):
            return
        close = ctx.close
        a = self._atr[t] if self._atr is not None else np.full(ctx.n_assets, np.nan)
        sign = np.where(go_long, 1.0, -1.0)
        # exact levels from the decision's close: below/above it for the stop, the other way for the target
        sl_dist = np.where(np.isfinite(self._sl_pct), close * self._sl_pct, self._sl_atr * a)
        tp_dist = np.where(np.isfinite(self._tp_pct), close * self._tp_pct, self._tp_atr * a)
        sl = close - sign * sl_dist
        tp = close + sign * tp_dist
        cap = ctx.capital
        for j in enter:                                    # only the assets entering at this bar
            sym = ctx.symbols[j]
            ctx.order(sym, notional=float(sign[j] * self._weight[j] * cap),
                      stop_loss=float(sl[j]) if np.isfinite(sl[j]) and sl[j] > 0 else None,
                      take_profit=float(tp[j]) if np.isfinite(tp[j]) and tp[j] > 0 else None)
