"""RawRun: what a simulation hands to the Result assembler (arrays and ledgers, no pandas frames)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from multifolio.engine import codes as C
from multifolio.engine.state import EngineState


@dataclass
class RawRun:
    index: pd.DatetimeIndex
    symbols: list[str]
    state: EngineState
    start_bar: int = 0
    freq: pd.Timedelta | None = None
    # events logged from Python (risk rules, strategies): (bar, kind, symbol or None, details)
    events: list[tuple[int, str, str | None, dict[str, Any]]] = field(default_factory=list)
    # extra snapshot columns recorded by the strategy (name -> T values)
    records: dict[str, np.ndarray] = field(default_factory=dict)
    # reason codes >= USER_TAG_BASE -> strategy tag names
    tag_names: dict[int, str] = field(default_factory=dict)
    # resting orders still live at the end (``ORDER_DTYPE`` rows), and orders cancelled by id (frames)
    resting: np.ndarray | None = None
    cancelled: list[pd.DataFrame] = field(default_factory=list)
    # T x N closes (for the Result's crash/concurrency analysis)
    close: np.ndarray | None = None
    # cash moved in (+) / out (-) by an allocator per bar (None: none ever moved)
    flows: np.ndarray | None = None

    @cached_property
    def open_orders(self) -> pd.DataFrame | None:
        """Orders still resting at the end and orders cancelled by id, as order rows (None: none); made
        when first asked for (a sweep's thousands of runs rarely look)."""
        frames = list(self.cancelled)
        if self.resting is not None and len(self.resting):
            frames.append(orders_frame(self.resting, self.index, self.symbols, self.tag_names))
        if not frames:
            return None
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def orders_frame(orders: np.ndarray, index: pd.DatetimeIndex, symbols: list[str], tag_names: dict[int, str],
                 status: str | None = None, at: pd.Timestamp | None = None) -> pd.DataFrame:
    """Book rows (``ORDER_DTYPE``) as the Result's order rows: with their own status, or all ``status``
    at time ``at`` (cancelled)."""
    o = orders
    return pd.DataFrame({
        "order_id": o["id"],
        "timestamp": index[o["placed"]],
        "symbol": np.array(symbols, dtype=object)[o["asset"]],
        "kind": [C.KIND_NAMES[int(k)] for k in o["kind"]],
        "qty": o["qty"],
        "price": o["price"],
        "status": status if status is not None else [C.STATUS_NAMES[int(s)] for s in o["status"]],
        "reason": [C.REASON_NAMES.get(int(r), tag_names.get(int(r), "")) for r in o["reason"]],
        "filled_qty": 0.0,
        "fill_price": np.nan,
        "fill_time": pd.NaT if at is None else at,
    })
