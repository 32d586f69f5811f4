"""The trace of a run: every order, fill, rejection, risk intervention and transfer, one JSON line each.

Each line has ``time``, ``portfolio_id``, ``type`` (``order`` — with its status, ``rejected`` among them —,
``fill`` or an event kind: ``risk``, ``transfer``, ``kill_switch``, ``liquidation``, ...) and the row's
fields, in time order (at one time: orders, then fills, then events, each in ledger order).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from multifolio.report.json_report import to_jsonable

__all__ = ["trace_records", "write_trace"]

_ORDER = {"order": 0, "fill": 1}


def _rows(frame: pd.DataFrame, kind: str | None, pid: str) -> list[dict[str, Any]]:
    out = []
    for rec in frame.to_dict(orient="records"):
        rec = dict(rec)
        rec.pop("portfolio_id", None)
        time = rec.pop("timestamp")
        typ = kind if kind is not None else str(rec.pop("kind"))
        details = rec.pop("details", None) if kind is None else None
        row = {"time": time, "portfolio_id": pid, "type": typ, **rec}
        if isinstance(details, dict):
            row.update(details)
        out.append(row)
    return out


def trace_records(result: Any) -> list[dict[str, Any]]:
    """The trace of a Result or a MultiResult as JSON-safe dicts, in time order."""
    parts = getattr(result, "portfolios", None)
    if parts is None:
        parts = {result.info.portfolio_id or "main": result}
    rows: list[dict[str, Any]] = []
    for pid, r in parts.items():
        rows += _rows(r.orders, "order", pid)
        rows += _rows(r.fills, "fill", pid)
        ev = r.events
        if len(ev):
            # a transfer is on both accounts' events: trace it once, from the giver
            incoming = np.array([isinstance(d, dict) and d.get("to") == pid for d in ev["details"]],
                                dtype=bool)
            ev = ev[~((ev["kind"] == "transfer").to_numpy() & incoming)]
        rows += _rows(ev, None, pid)
    rows.sort(key=lambda row: (pd.Timestamp(row["time"]), _ORDER.get(row["type"], 2)))
    return [to_jsonable(row) for row in rows]


def write_trace(result: Any, path: str | Path) -> int:
    """Write the trace as JSON lines; returns the number of lines."""
    records = trace_records(result)
    with Path(path).open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, allow_nan=False) + "\n")
    return len(records)
