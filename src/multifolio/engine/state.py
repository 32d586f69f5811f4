"""The state one account's simulation updates in place: account, positions, costs, ledgers, snapshots."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from multifolio.engine.records import (
    ACCOUNT_DTYPE,
    EVENT_DTYPE,
    FILL_DTYPE,
    LEDGER_COUNT_DTYPE,
    REJECTION_DTYPE,
    SNAPSHOT_DTYPE,
    Costs,
    Ledgers,
    Positions,
)
from multifolio.engine.settings import AccountSettings


def last_valid_rows(close: np.ndarray) -> np.ndarray:
    """Per asset, the last row with a close, or -1 when that is the final row (or no row at all).

    An asset whose data ends before the final bar is delisted there; one that trades to the end is not.
    """
    n_bars = close.shape[0]
    valid = ~np.isnan(close)
    last = n_bars - 1 - np.argmax(valid[::-1], axis=0)
    last[~valid.any(axis=0)] = -1
    last[last == n_bars - 1] = -1
    return last.astype(np.int64)


@dataclass
class EngineState:
    """One account's named state (``records``) plus its growable fill, rejection and event ledgers."""

    n_bars: int
    n_assets: int
    settings: AccountSettings
    acct: np.ndarray = field(init=False)
    pos: Positions = field(init=False)
    costs: Costs = field(init=False)
    snap: np.ndarray = field(init=False)
    qh: np.ndarray = field(init=False)
    ledgers: Ledgers = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        n = self.n_assets
        self.acct = np.zeros(1, ACCOUNT_DTYPE)
        a = self.acct[0]
        a["cash"] = a["initial_cash"] = s.cash
        a["maintenance_margin"] = s.maintenance_margin
        a["is_margin"] = s.margin_account
        a["allow_short"] = s.allow_short
        self.pos = Positions(qty=np.zeros(n), avg_price=np.zeros(n), last_price=np.full(n, np.nan))
        self.costs = Costs(*(np.ascontiguousarray(v, dtype=np.float64) for v in (
            s.fees, s.fixed_fees, s.slippage, s.leverage, s.min_notional, s.qty_step)))
        self.snap = np.full(self.n_bars, np.nan, SNAPSHOT_DTYPE)
        self.qh = np.zeros((self.n_bars, n))
        cap = max(1024, 8 * n + 64)
        self.ledgers = Ledgers(fills=np.empty(cap, FILL_DTYPE), rejections=np.empty(cap, REJECTION_DTYPE),
                               events=np.empty(256, EVENT_DTYPE), n=np.zeros(1, LEDGER_COUNT_DTYPE))

    @property
    def cash(self) -> float:
        return float(self.acct[0]["cash"])

    @property
    def qty(self) -> np.ndarray:
        return self.pos.qty

    @property
    def n_fills(self) -> int:
        return int(self.ledgers.n[0]["fills"])

    def ensure_room(self, rows: int) -> None:
        """Grow every ledger (doubling) so each has at least ``rows`` free rows."""
        led = self.ledgers
        n = led.n[0]
        if n["fills"] + rows <= len(led.fills) and n["rejections"] + rows <= len(led.rejections) \
                and n["events"] + rows <= len(led.events):
            return
        self.ledgers = Ledgers(fills=_grow(led.fills, int(n["fills"]) + rows),
                               rejections=_grow(led.rejections, int(n["rejections"]) + rows),
                               events=_grow(led.events, int(n["events"]) + rows), n=led.n)

    def fills(self) -> np.ndarray:
        return self.ledgers.fills[: self.n_fills]

    def rejections(self) -> np.ndarray:
        return self.ledgers.rejections[: int(self.ledgers.n[0]["rejections"])]

    def kernel_events(self) -> np.ndarray:
        return self.ledgers.events[: int(self.ledgers.n[0]["events"])]


def _grow(records: np.ndarray, need: int) -> np.ndarray:
    if need <= len(records):
        return records
    out = np.empty(max(need, 2 * len(records)), records.dtype)
    out[: len(records)] = records
    return out
