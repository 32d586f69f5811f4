"""Tearsheet statistics of an equity path: calendar returns, rolling risk, tail risk, drawdown periods.

Conventions (as in :mod:`multifolio.analytics.returns` and :mod:`multifolio.analytics.drawdown`):

* The path starts at the initial capital one bar before the first bar, so the first month's (and the
  first year's) return is measured from the initial capital.
* A month's return is its last equity over the previous month's last equity, minus one (the compounded
  bar returns of the month); a year's likewise. Months without a bar are missing (NaN), not zero.
* Durations follow the data: daily (or coarser) bars are counted in days, intraday bars in hours
  (:func:`duration_unit`).

>>> import pandas as pd
>>> idx = pd.to_datetime(["2024-01-15", "2024-01-31", "2024-02-10", "2024-03-31"], utc=True)
>>> eq = pd.Series([105.0, 110.0, 99.0, 108.9], index=idx)
>>> monthly_returns(eq, initial=100.0).round(6).loc[2024, [1, 2, 3]].tolist()
[10.0, -10.0, 10.0]
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from multifolio.analytics.drawdown import drawdown_episodes
from multifolio.analytics.returns import check_equity, conditional_value_at_risk, infer_freq, value_at_risk

__all__ = [
    "calendar_returns",
    "duration_unit",
    "monthly_returns",
    "rolling_sharpe",
    "rolling_volatility",
    "rolling_window",
    "top_drawdowns",
    "var_cvar",
    "yearly_returns",
]

DAY = pd.Timedelta(days=1)
HOUR = pd.Timedelta(hours=1)


def duration_unit(freq: pd.Timedelta | None) -> tuple[str, pd.Timedelta]:
    """The unit durations are shown in: ``("days", 1 day)`` for daily or coarser bars, else hours.

    >>> duration_unit(pd.Timedelta(hours=1))[0], duration_unit(pd.Timedelta(days=1))[0]
    ('hours', 'days')
    """
    if freq is not None and pd.Timedelta(freq) >= DAY:
        return "days", DAY
    return "hours", HOUR


def _path_with_initial(equity: pd.Series, initial: float | None) -> pd.Series:
    check_equity(equity, "calendar returns")
    s = equity.astype(float)
    if initial is None or len(s) == 0:
        return s
    idx = pd.DatetimeIndex(s.index)
    start = pd.Series([float(initial)], index=pd.DatetimeIndex([idx[0] - pd.Timedelta(1, "ns")]))
    return pd.concat([start, s])


def calendar_returns(equity: pd.Series, period: str, initial: float | None = None) -> pd.Series:
    """Compounded return in % per calendar period (``"M"`` month or ``"Y"`` year), indexed by the
    period's start; the first period is measured from ``initial`` when given."""
    if period not in ("M", "Y"):
        raise ValueError(f"period must be 'M' or 'Y', got {period!r}")
    path = _path_with_initial(equity, initial)
    if len(path) == 0:
        return pd.Series(dtype=float)
    idx = pd.DatetimeIndex(path.index)
    naive = idx.tz_convert("UTC").tz_localize(None) if idx.tz is not None else idx
    keys = naive.to_period(period)
    # the initial capital (1 ns before the first bar) belongs to the first bar's period
    if initial is not None:
        keys = keys.insert(0, keys[1]).delete(1)
    last = pd.Series(path.to_numpy(), index=keys).groupby(level=0).last()
    first_base = float(initial) if initial is not None else float(path.iloc[0])
    prev = np.concatenate([[first_base], last.to_numpy()[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = (last.to_numpy() / prev - 1.0) * 100.0
    out = pd.Series(ret, index=last.index, name="return_pct")
    # calendar periods with no bar at all stay missing
    full = pd.period_range(out.index[0], out.index[-1], freq=period)
    return out.reindex(full)


def monthly_returns(equity: pd.Series, initial: float | None = None) -> pd.DataFrame:
    """Monthly returns in % as a year x month table (rows: years, columns 1..12; NaN: no data)."""
    m = calendar_returns(equity, "M", initial)
    table = pd.DataFrame(
        np.nan,
        index=pd.Index(sorted({p.year for p in m.index}), name="year"),
        columns=pd.Index(range(1, 13), name="month"),
    )
    for p, v in m.items():
        table.loc[p.year, p.month] = v
    return table


def yearly_returns(equity: pd.Series, initial: float | None = None) -> pd.Series:
    """Compounded return in % per calendar year, indexed by the year (int)."""
    y = calendar_returns(equity, "Y", initial)
    return pd.Series(y.to_numpy(), index=pd.Index([p.year for p in y.index], name="year"), name="return_pct")


def rolling_window(index: pd.DatetimeIndex, freq: pd.Timedelta | None = None) -> tuple[int, str]:
    """Bars in the rolling window, chosen from the bar frequency, and its label.

    Intraday bars: 30 days of bars; daily bars: 63 bars (about three months of trading days);
    coarser bars: one year of bars. At least 2 bars.

    >>> rolling_window(pd.date_range("2024-01-01", periods=10, freq="h", tz="UTC"))
    (720, '30 days')
    >>> rolling_window(pd.bdate_range("2024-01-01", periods=10, tz="UTC"))
    (63, '63 days')
    """
    f = infer_freq(index, freq)
    if f is None or f < DAY:
        f = f or HOUR
        n = max(2, int(round(pd.Timedelta(days=30) / f)))
        return n, "30 days"
    if f == DAY:
        return 63, "63 days"
    n = max(2, int(round(pd.Timedelta(days=365.25) / f)))
    return n, "1 year"


def rolling_volatility(returns: pd.Series, window: int, ppy: float) -> pd.Series:
    """Annualised rolling standard deviation (ddof=1) of bar returns, in %; NaN until ``window`` bars."""
    return (returns.rolling(window).std(ddof=1) * math.sqrt(ppy) * 100.0).rename("volatility_pct")


def rolling_sharpe(returns: pd.Series, window: int, ppy: float) -> pd.Series:
    """Annualised rolling Sharpe ratio (zero risk-free rate, as ``sharpe_ratio``); NaN where std is 0."""
    roll = returns.rolling(window)
    sd = roll.std(ddof=1)
    out = roll.mean() / sd.where(sd > 1e-15) * math.sqrt(ppy)
    return out.rename("sharpe")


def var_cvar(returns: pd.Series | np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Historical Value at Risk and Conditional VaR of bar returns at ``level``, as positive losses in %.

    The definitions of the metrics' ``var_95_pct`` / ``cvar_95_pct`` (``returns.value_at_risk``,
    ``returns.conditional_value_at_risk``: empyrical's), signs flipped: VaR is minus the (1 - level)
    percentile of the returns, CVaR minus the mean of the lowest ``int((n - 1)(1 - level)) + 1``. NaN
    without returns.

    >>> var_cvar(pd.Series([-0.05, -0.03, 0.0, 0.01, 0.02] * 4), level=0.75)
    (3.0, 4.6)
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    # the metrics' (empyrical's) estimators, on whatever returns the caller gives (the page: bar returns)
    cutoff = round(1.0 - level, 12)       # 1 - 0.9 is 0.0999...: the tail's count must not lose a return
    return -value_at_risk(returns, cutoff) * 100.0, -conditional_value_at_risk(returns, cutoff) * 100.0


def top_drawdowns(
    equity: pd.Series, initial: float | None = None, n: int = 5, freq: pd.Timedelta | None = None
) -> pd.DataFrame:
    """The ``n`` deepest drawdown episodes, deepest first.

    Columns: ``start`` (the peak), ``trough``, ``recovery`` (NaT when not recovered), ``depth_pct``
    (positive), ``length`` (start to recovery, or to the last bar), ``to_trough`` (start to trough) and
    ``recovered``; lengths in the unit of :func:`duration_unit` (``attrs["unit"]``).
    """
    ep = drawdown_episodes(equity, initial, freq)
    unit, step = duration_unit(infer_freq(pd.DatetimeIndex(equity.index), freq))
    cols = ["start", "trough", "recovery", "depth_pct", "length", "to_trough", "recovered"]
    if len(ep) == 0:
        out = pd.DataFrame(columns=cols)
    else:
        ep = ep.sort_values("depth_pct", ascending=False, kind="stable").head(n)
        out = pd.DataFrame(
            {
                "start": ep["peak_time"],
                "trough": ep["trough_time"],
                "recovery": ep["recovery_time"],
                "depth_pct": ep["depth_pct"].astype(float),
                "length": (ep["end_time"] - ep["peak_time"]) / step,
                "to_trough": (ep["trough_time"] - ep["peak_time"]) / step,
                "recovered": ep["recovered"].astype(bool),
            }
        ).reset_index(drop=True)
    out.attrs["unit"] = unit
    return out

