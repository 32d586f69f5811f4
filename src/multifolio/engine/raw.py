"""RawRun: what a simulation hands to the Result assembler (arrays and ledgers, no pandas frames)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

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
    # resting orders still open at the end: DataFrame with the orders' columns (or None)
    open_orders: pd.DataFrame | None = None
    # T x N closes (for the Result's crash/concurrency analysis)
    close: np.ndarray | None = None
    # cash moved in (+) / out (-) by an allocator per bar (None: none ever moved)
    flows: np.ndarray | None = None
