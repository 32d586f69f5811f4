"""The JSON report: a plain, JSON-safe dict of a Result.

Top-level keys: ``initial_capital, n_assets, assets, start, end, period_days, final_equity,
total_return_pct, total_trades, win_rate, max_drawdown_pct, max_drawdown_duration_hours,
peak_margin_ratio`` (a fraction of initial capital, as in ``snapshots.margin_ratio``),
``peak_concurrent_positions, peak_concurrent_assets, kill_switch_triggers, kill_switch_events`` (list),
``per_asset_results`` ({symbol: row}), ``risk_interventions`` ({rule: orders cut, notional cut...}),
``five_answers`` ({question: figures + "answer"}), ``metrics`` (every key of ``compute_metrics``),
``recent_trades`` (the last 20 round trips), ``run`` (the run's ``RunInfo``: engine, account settings,
strategy and rules as they describe themselves, period), ``tearsheet`` (the HTML tearsheet's figures:
monthly and yearly returns, top drawdowns, VaR/CVaR, the rolling window, the benchmark;
:func:`multifolio.report.tearsheet.tearsheet_data`) and, for a run whose strategy logged ``rebalance``
events, ``allocation`` (``analytics.allocation``: per-asset return and risk contributions,
diversification ratios, VaR/CVaR, correlation matrix).

JSON-safety: NaN and infinities become ``null`` (a profit factor without losing trades is ``null``),
timestamps are ISO 8601 strings, NumPy scalars become Python numbers, dict keys become strings and
objects without a JSON form their ``repr``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from multifolio.analytics.allocation import allocation_summary
from multifolio.analytics.five_answers import five_answers
from multifolio.analytics.interventions import intervention_table
from multifolio.analytics.kill_switch import kill_switch_summary
from multifolio.analytics.metrics import compute_metrics
from multifolio.analytics.per_asset import per_asset_table

N_RECENT_TRADES = 20


def to_jsonable(obj: Any) -> Any:
    """Recursively convert ``obj`` to JSON-safe Python values (see the module docstring).

    >>> import pandas as pd
    >>> to_jsonable({"a": float("nan"), 1: pd.Timestamp("2024-01-01", tz="UTC"), "b": [np.int64(3)]})
    {'a': None, '1': '2024-01-01T00:00:00+00:00', 'b': [3]}
    """
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if obj is pd.NaT:
        return None
    if isinstance(obj, (pd.Timestamp, dt.datetime, dt.date)):
        return obj.isoformat()
    if isinstance(obj, np.datetime64):
        return None if np.isnat(obj) else pd.Timestamp(obj).isoformat()
    if isinstance(obj, (pd.Timedelta, dt.timedelta)):
        return pd.Timedelta(obj).isoformat()
    if isinstance(obj, dict):
        return {str(to_jsonable(k)) if not isinstance(k, str) else k: to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return [to_jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, pd.Series):
        return {str(to_jsonable(k)): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset, np.ndarray, pd.Index)):
        return [to_jsonable(v) for v in obj]
    return repr(obj)


def result_metrics(result: Any, close: pd.DataFrame | None) -> dict[str, Any]:
    """The metrics of a Result (its cached ones unless prices are passed)."""
    # a Result caches its metrics; with prices passed explicitly they are computed afresh so that the
    # crash-bar figures use them
    if close is None and hasattr(result, "metrics"):
        return result.metrics
    return compute_metrics(result, close)


def result_per_asset(result: Any) -> pd.DataFrame:
    """The per-asset table of a Result (cached on a Result)."""
    return result.per_asset if hasattr(result, "per_asset") else per_asset_table(result)


def recent_trades(result: Any, n: int = N_RECENT_TRADES) -> pd.DataFrame:
    """The last ``n`` closed round trips, by exit time (the most recent last)."""
    trades = result.trades
    if len(trades) == 0:
        return trades
    if "exit_time" in trades.columns:
        trades = trades.sort_values("exit_time", kind="stable")
    return trades.tail(n)


def result_to_dict(result: Any, close: pd.DataFrame | None = None) -> dict[str, Any]:
    """The JSON report of ``result`` as a JSON-safe dict (keys in the module docstring)."""
    m = result_metrics(result, close)
    table = result_per_asset(result)
    answers = five_answers(result, close, metrics=m)
    ks = kill_switch_summary(result)
    symbols = list(result.symbols)
    out = {
        "initial_capital": m["initial_capital"],
        "n_assets": len(symbols),
        "assets": symbols,
        "start": m["start"],
        "end": m["end"],
        "period_days": m["period_days"],
        "final_equity": m["final_equity"],
        "total_return_pct": m["total_return_pct"],
        "total_trades": m["total_trades"],
        "win_rate": m["win_rate"],
        "max_drawdown_pct": m["max_drawdown_pct"],
        "max_drawdown_duration_hours": m["max_drawdown_duration_hours"],
        "peak_margin_ratio": m["peak_margin_ratio"],
        "peak_concurrent_positions": m["peak_concurrent_positions"],
        "peak_concurrent_assets": m["peak_concurrent_assets"],
        "kill_switch_triggers": m["kill_switch_triggers"],
        "kill_switch_events": ks["events"],
        "per_asset_results": {str(s): row for s, row in table.to_dict(orient="index").items()},
        "risk_interventions": {str(r): row for r, row in
                               intervention_table(result).to_dict(orient="index").items()},
        "five_answers": answers,
        "metrics": m,
        "recent_trades": recent_trades(result),
        "run": result.info.to_dict(),
        "tearsheet": _tearsheet(result, close),
    }
    alloc = allocation_summary(result)
    if alloc is not None:
        out["allocation"] = {
            "per_asset": {str(s): row for s, row in alloc["per_asset"].to_dict(orient="index").items()},
            **{k: alloc[k] for k in ("n_rebalances", "diversification_ratio", "diversification_ratio_ex_ante",
                                     "var_95_pct", "cvar_95_pct")},
            "correlation": None if alloc["correlation"] is None else alloc["correlation"].to_dict(),
        }
    return to_jsonable(out)


def _tearsheet(result: Any, close: pd.DataFrame | None) -> dict[str, Any]:
    from multifolio.report.tearsheet import tearsheet_data  # it builds on this module

    return tearsheet_data(result, close)


def result_to_json(result: Any, path: str | Path | None = None, close: pd.DataFrame | None = None) -> str:
    """The JSON report as a string (indented); also written to ``path`` when given."""
    text = json.dumps(result_to_dict(result, close), indent=2, allow_nan=False)
    if path is not None:
        p = Path(path)
        if p.parent and not p.parent.exists():
            raise FileNotFoundError(f"result_to_json: directory {str(p.parent)!r} does not exist")
        p.write_text(text + "\n", encoding="utf-8")
    return text
