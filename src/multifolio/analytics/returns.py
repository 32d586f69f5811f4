"""Return-based statistics: bar returns, annualisation, CAGR, volatility, Sharpe and Sortino.

Conventions (the README quotes them):

* The equity path starts at the initial capital, *before* the first bar, so the first bar return is
  ``equity[0] / initial_capital - 1`` (fees paid on the first bar count).
* Annualisation uses the bar frequency: 252 periods per year for daily bars whose index skips weekends
  (business-day data), otherwise ``365.25 days / freq`` (8766 for 24/7 hourly data, 365.25 for 24/7
  daily data).
* Sharpe and Sortino use a zero risk-free rate; Sortino's downside deviation is
  ``sqrt(mean(min(r, 0)^2))`` over all bars.

>>> import pandas as pd
>>> idx = pd.date_range("2024-01-01", periods=3, freq="h", tz="UTC")
>>> bar_returns(pd.Series([110.0, 99.0, 108.9], index=idx), initial=100.0).round(6).tolist()
[0.1, -0.1, 0.1]
>>> periods_per_year(idx)
8766.0
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from multifolio.engine.validation import infer_freq as bar_spacing

DAY = pd.Timedelta(days=1)
YEAR = pd.Timedelta(days=365.25)


def check_equity(equity: pd.Series, where: str) -> None:
    if not isinstance(equity, pd.Series):
        raise TypeError(f"{where}: equity must be a pandas Series, got {type(equity).__name__}")
    if len(equity) and not isinstance(equity.index, pd.DatetimeIndex):
        raise ValueError(f"{where}: equity must have a DatetimeIndex, got {type(equity.index).__name__}")
    values = equity.to_numpy(dtype=float)
    if len(values) and not np.isfinite(values).all():
        bad = equity.index[~np.isfinite(values)][0]
        raise ValueError(f"{where}: equity has a non-finite value at {bad}")


def infer_freq(index: pd.DatetimeIndex, freq: pd.Timedelta | None = None) -> pd.Timedelta | None:
    """The bar spacing: ``freq`` when given, else the median gap of ``index`` (None for < 2 bars)."""
    if freq is not None:
        freq = pd.Timedelta(freq)
        if freq <= pd.Timedelta(0):
            raise ValueError(f"freq must be positive, got {freq}")
        return freq
    return bar_spacing(index)


def rolling_max(values: np.ndarray, window: int) -> np.ndarray:
    """The max of each value and the ``window - 1`` values before it (fewer at the start), as
    ``pd.Series(values).rolling(window, min_periods=1).max()`` gives it for values without NaN.

    Windows double (1, 2, 4, ... values) and two overlapping ones cover ``window``: log2(window) passes
    over the array, cheap for the minutes of a day as for a few hours, with no pandas object to build.

    >>> rolling_max(np.array([3.0, 1.0, 2.0, 0.0, 0.5]), 2).tolist()
    [3.0, 3.0, 2.0, 2.0, 0.5]
    """
    if window < 1:
        raise ValueError(f"rolling_max: window must be >= 1, got {window}")
    span, out = 1, np.array(values, dtype=float)
    while 2 * span <= window:
        out = np.concatenate([out[:span], np.maximum(out[span:], out[:-span])])
        span *= 2
    if span < window:
        shift = window - span
        out = np.concatenate([out[:shift], np.maximum(out[shift:], out[:-shift])])
    return out


def periods_per_year(index: pd.DatetimeIndex, freq: pd.Timedelta | None = None) -> float:
    """Bars per year used to annualise volatility, Sharpe and Sortino.

    252 when bars are one day apart and the index has no Saturday or Sunday (business-day data);
    otherwise ``365.25 days / freq``. NaN when the frequency cannot be known (fewer than 2 bars and
    no ``freq``).

    >>> import pandas as pd
    >>> periods_per_year(pd.bdate_range("2024-01-01", periods=10, tz="UTC"))
    252.0
    >>> periods_per_year(pd.date_range("2024-01-01", periods=10, freq="D", tz="UTC"))
    365.25
    """
    f = infer_freq(index, freq)
    if f is None:
        return math.nan
    if f == DAY and len(index) and not bool((index.day_of_week >= 5).any()):
        return 252.0
    return float(YEAR / f)


def period_days(index: pd.DatetimeIndex, freq: pd.Timedelta | None = None) -> float:
    """Length of the result period in days: last bar - first bar + one bar.

    The extra bar accounts for the first bar's own interval (the equity path starts at the initial
    capital one bar before the first end-of-bar value): 2160 hourly bars are exactly 90 days.
    """
    if len(index) == 0:
        return 0.0
    f = infer_freq(index, freq) or pd.Timedelta(0)
    return float((index[-1] - index[0] + f) / DAY)


def bar_returns(equity: pd.Series, initial: float | None = None) -> pd.Series:
    """Simple returns per bar; with ``initial`` the first bar's return is taken from it."""
    check_equity(equity, "bar_returns")
    if initial is None:
        return equity.pct_change().iloc[1:]
    if not initial > 0:
        raise ValueError(f"bar_returns: initial capital must be > 0, got {initial}")
    prev = np.concatenate([[float(initial)], equity.to_numpy(dtype=float)[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        r = equity.to_numpy(dtype=float) / prev - 1.0
    return pd.Series(r, index=equity.index, name="return")


def time_weighted_equity(equity: pd.Series, flows: pd.Series, initial: float) -> pd.Series:
    """The equity an account would have had without the cash moved in or out (time-weighted).

    ``flows[t]`` is the cash moved in (+) or out (-) at bar t's close, included in ``equity[t]``. The
    bar's return is ``(equity[t] - flows[t]) / equity[t-1] - 1`` (``initial`` before the first bar), and
    the index compounds those returns from ``initial``: flows are not returns.

    >>> import pandas as pd
    >>> idx = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")
    >>> eq = pd.Series([110.0, 160.0, 176.0], index=idx)      # +10%, then +50 moved in, then +10%
    >>> time_weighted_equity(eq, pd.Series([0.0, 50.0, 0.0], index=idx), 100.0).round(6).tolist()
    [110.0, 110.0, 121.0]
    """
    e = equity.to_numpy(dtype=float)
    f = flows.reindex(equity.index).fillna(0.0).to_numpy(dtype=float)
    prev = np.concatenate([[float(initial)], e[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.where(prev > 0, (e - f) / prev, 1.0)
    return pd.Series(float(initial) * np.cumprod(growth), index=equity.index, name=equity.name)


def cash_flows(result: Any) -> pd.Series | None:
    """The cash an allocator moved in (+) or out (-) per bar, or None when none moved (a Result says it
    without building its snapshots; a Result-like view, from its snapshots' ``transfers``)."""
    if hasattr(result, "cash_flows"):
        return result.cash_flows
    return snapshot_flows(getattr(result, "snapshots", None))


def snapshot_flows(snapshots: pd.DataFrame | None) -> pd.Series | None:
    """The ``transfers`` column of a run's snapshots (None without one)."""
    return snapshots["transfers"] if snapshots is not None and "transfers" in snapshots.columns else None


def performance_equity(result: Any) -> pd.Series:
    """A result's equity as performance sees it: time-weighted when its snapshots record cash moved in or
    out (an allocator's transfers are not gains or losses), else the equity itself."""
    flows = cash_flows(result)
    if flows is None:
        return result.equity
    return time_weighted_equity(result.equity, flows, float(result.initial_capital))


def total_return_pct(final: float, initial: float) -> float:
    """``(final / initial - 1) x 100``."""
    return (final / initial - 1.0) * 100.0


def cagr_pct(final: float, initial: float, days: float) -> float:
    """Compound annual growth rate in %, over ``days`` calendar days (365.25 per year).

    -100 when the equity is wiped out; NaN for an empty period. Short periods extrapolate
    aggressively (a 10% gain in 30 days is a ~219% CAGR): read it together with ``period_days``.
    NaN, never an error, when the annualised growth factor is beyond floating point (+10% in one hour
    compounds to e^835); ``compute_metrics`` then says why in ``metrics["notes"]``.

    >>> round(cagr_pct(121.0, 100.0, 2 * 365.25), 6)
    10.0
    >>> cagr_pct(110.0, 100.0, 1 / 24)
    nan
    """
    if days <= 0 or initial <= 0:
        return math.nan
    if final <= 0:
        return -100.0
    log_growth = math.log(final / initial) * (365.25 / days) if final / initial > 0 else -math.inf
    if not log_growth < MAX_LOG_GROWTH:
        return math.nan
    return ((final / initial) ** (365.25 / days) - 1.0) * 100.0


# the largest annual log growth whose CAGR in % is a finite float (e^709 ~ 8e307, times 100 < 1.8e308)
MAX_LOG_GROWTH = 704.0


def volatility_pct(returns: pd.Series, ppy: float) -> float:
    """Annualised standard deviation of bar returns (ddof=1) in %."""
    if len(returns) < 2:
        return math.nan
    return float(np.std(returns.to_numpy(dtype=float), ddof=1) * math.sqrt(ppy) * 100.0)


def sharpe_ratio(returns: pd.Series, ppy: float) -> float:
    """``mean(r) / std(r, ddof=1) x sqrt(ppy)`` with a zero risk-free rate; NaN when std is 0."""
    r = returns.to_numpy(dtype=float)
    if len(r) < 2:
        return math.nan
    sd = np.std(r, ddof=1)
    if not sd > 1e-15:
        return math.nan
    return float(np.mean(r) / sd * math.sqrt(ppy))


def sortino_ratio(returns: pd.Series, ppy: float) -> float:
    """``mean(r) / sqrt(mean(min(r, 0)^2)) x sqrt(ppy)``; +inf when no bar lost and the mean is > 0."""
    r = returns.to_numpy(dtype=float)
    if len(r) < 2:
        return math.nan
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    mean = float(np.mean(r))
    if downside <= 1e-15:
        return math.inf if mean > 0 else math.nan
    return mean / downside * math.sqrt(ppy)


def value_at_risk(returns: np.ndarray | pd.Series, cutoff: float = 0.05) -> float:
    """Historical VaR as empyrical: the ``cutoff`` percentile of the returns (NaN without data).

    >>> round(value_at_risk(np.arange(-10, 10) / 100.0), 6)      # between -0.10 and -0.09
    -0.0905
    """
    r = np.asarray(returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    return float(np.percentile(r, 100.0 * cutoff)) if len(r) else math.nan


def conditional_value_at_risk(returns: np.ndarray | pd.Series, cutoff: float = 0.05) -> float:
    """Historical CVaR (expected shortfall) as empyrical: mean of the lowest ``int((n-1) cutoff) + 1``.

    >>> conditional_value_at_risk(np.arange(-10, 10) / 100.0)
    -0.1
    """
    r = np.asarray(returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    if not len(r):
        return math.nan
    k = int((len(r) - 1) * cutoff)
    return float(np.mean(np.partition(r, k)[: k + 1]))
