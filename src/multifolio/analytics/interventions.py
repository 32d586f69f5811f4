"""What the risk rules cut: the ``risk`` events of a Result, per rule and per asset.

Every order a rule cut, scaled or dropped is a ``risk`` event (symbol; details ``rule``,
``requested_qty``, ``allowed_qty``, ``reason`` and the rule's figures). The notional cut of an event is
|requested - allowed| x the asset's close at the event's bar (the decision bar: the price the rule saw),
carried forward over bars without a close; NaN when the Result has no closes for it.

* :func:`intervention_table`: one row per rule, in the order of the run's rules (``info.rules``; others,
  such as the reducing state's ``reducing``, after them in order of first appearance): ``interventions``
  (orders touched), ``dropped`` (allowed 0), ``notional_requested``, ``notional_cut`` and ``cut_pct``
  (cut / requested x 100), ``first`` and ``last`` (times).
* :func:`cuts_by_asset`: symbol x rule table of notional cut (0 where a rule never touched the asset).
* :func:`intervention_times`: the bars with at least one intervention and their notional cut (for
  marking them on an equity chart).

>>> import pandas as pd
>>> idx = pd.date_range("2024-01-01", periods=2, freq="D", tz="UTC")
>>> events = pd.DataFrame({"timestamp": [idx[1]], "kind": ["risk"], "symbol": ["A"],
...                        "details": [{"rule": "cap", "requested_qty": 4.0, "allowed_qty": 1.0}]})
>>> close = pd.DataFrame({"A": [10.0, 20.0]}, index=idx)
>>> intervention_table(risk_events(events, close))[["interventions", "notional_cut"]].to_dict("index")
{'cap': {'interventions': 1, 'notional_cut': 60.0}}
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["INTERVENTION_COLUMNS", "cuts_by_asset", "intervention_table", "intervention_times",
           "risk_events"]

INTERVENTION_COLUMNS = ["interventions", "dropped", "notional_requested", "notional_cut", "cut_pct",
                        "first", "last"]


def risk_events(events: pd.DataFrame | None, close: pd.DataFrame | None) -> pd.DataFrame:
    """The ``risk`` events flattened: ``timestamp, symbol, rule, reason, requested_qty, allowed_qty,
    price, notional_requested, notional_cut`` (one row per intervention, in time order)."""
    cols = ["timestamp", "symbol", "rule", "reason", "requested_qty", "allowed_qty", "price",
            "notional_requested", "notional_cut"]
    if events is None or len(events) == 0 or "kind" not in events.columns:
        return pd.DataFrame(columns=cols)
    ev = events[events["kind"] == "risk"]
    if len(ev) == 0:
        return pd.DataFrame(columns=cols)
    details = ev["details"].tolist()
    out = pd.DataFrame({
        "timestamp": ev["timestamp"].to_numpy(),
        "symbol": ev["symbol"].to_numpy(),
        "rule": [str(d.get("rule", "")) for d in details],
        "reason": [str(d.get("reason", "")) for d in details],
        "requested_qty": [float(d.get("requested_qty", np.nan)) for d in details],
        "allowed_qty": [float(d.get("allowed_qty", np.nan)) for d in details],
    })
    price = np.full(len(out), np.nan)
    if close is not None and len(close):
        filled = close.ffill()
        rows = filled.index.get_indexer(pd.DatetimeIndex(out["timestamp"]), method="ffill")
        for k, (r, s) in enumerate(zip(rows, out["symbol"], strict=True)):
            if r >= 0 and s in filled.columns:
                price[k] = float(filled[s].iat[r])
    out["price"] = price
    out["notional_requested"] = out["requested_qty"].abs() * price
    out["notional_cut"] = (out["requested_qty"] - out["allowed_qty"]).abs() * price
    return out


def _flat(result_or_events: Any) -> pd.DataFrame:
    if isinstance(result_or_events, pd.DataFrame) and "rule" in result_or_events.columns:
        return result_or_events
    return risk_events(getattr(result_or_events, "events", None), getattr(result_or_events, "close", None))


def intervention_table(result: Any) -> pd.DataFrame:
    """Per rule: interventions, dropped orders, notional requested and cut (see the module docstring).

    Takes a Result or the frame :func:`risk_events` returns."""
    flat = _flat(result)
    if len(flat) == 0:
        return pd.DataFrame(columns=INTERVENTION_COLUMNS, index=pd.Index([], name="rule"))
    g = flat.groupby("rule", sort=False)
    table = pd.DataFrame({
        "interventions": g.size(),
        "dropped": g["allowed_qty"].apply(lambda q: int((q == 0.0).sum())),
        "notional_requested": g["notional_requested"].sum(min_count=1),
        "notional_cut": g["notional_cut"].sum(min_count=1),
        "first": g["timestamp"].min(),
        "last": g["timestamp"].max(),
    })
    with np.errstate(divide="ignore", invalid="ignore"):
        table["cut_pct"] = table["notional_cut"] / table["notional_requested"] * 100.0
    table["interventions"] = table["interventions"].astype(int)
    table["dropped"] = table["dropped"].astype(int)
    table.index.name = "rule"
    info = getattr(result, "info", None)
    configured = [r.name for r in getattr(info, "rules", ())]
    order = [r for r in configured if r in table.index] + [r for r in table.index if r not in configured]
    return table.loc[order, INTERVENTION_COLUMNS]


def cuts_by_asset(result: Any, symbols: list[str] | None = None) -> pd.DataFrame:
    """Symbol x rule notional cut (rows: ``symbols`` or the Result's symbols; 0 where untouched)."""
    flat = _flat(result)
    if symbols is None:
        symbols = list(getattr(result, "symbols", [])) or sorted(pd.unique(flat["symbol"]))
    if len(flat) == 0:
        return pd.DataFrame(index=pd.Index(symbols, name="symbol"))
    table = flat.pivot_table(index="symbol", columns="rule", values="notional_cut", aggfunc="sum",
                             fill_value=0.0, sort=False)
    table = table.reindex(index=list(symbols) + [s for s in table.index if s not in symbols],
                          fill_value=0.0)
    table.index.name = "symbol"
    table.columns.name = None
    return table[list(pd.unique(flat["rule"]))]


def intervention_times(result: Any) -> pd.DataFrame:
    """Bars with interventions: ``timestamp``, ``interventions``, ``notional_cut``, ``rules`` (joined)."""
    flat = _flat(result)
    if len(flat) == 0:
        return pd.DataFrame(columns=["timestamp", "interventions", "notional_cut", "rules"])
    g = flat.groupby("timestamp", sort=True)
    return pd.DataFrame({
        "interventions": g.size(),
        "notional_cut": g["notional_cut"].sum(min_count=1),
        "rules": g["rule"].agg(lambda r: ", ".join(dict.fromkeys(r))),
    }).reset_index()
