"""The arrays one simulation updates in place: account, positions, settings, ledgers, snapshots."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from multifolio.engine import codes as C
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
    """Account state plus growable fill, rejection and event ledgers."""

    n_bars: int
    n_assets: int
    settings: AccountSettings
    acct: np.ndarray = field(init=False)
    pos: np.ndarray = field(init=False)
    cfg: np.ndarray = field(init=False)
    snap: np.ndarray = field(init=False)
    qh: np.ndarray = field(init=False)
    counts: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        n = self.n_assets
        self.acct = np.zeros(C.N_ACCOUNT)
        self.acct[C.A_CASH] = s.cash
        self.acct[C.A_INITIAL] = s.cash
        self.acct[C.A_MMR] = s.maintenance_margin
        self.acct[C.A_MARGIN] = 1.0 if s.margin_account else 0.0
        self.acct[C.A_SHORT] = 1.0 if s.allow_short else 0.0
        self.pos = np.zeros((3, n))
        self.pos[C.P_LAST] = np.nan
        self.cfg = np.ascontiguousarray(np.vstack([s.fees, s.fixed_fees, s.slippage, s.leverage,
                                                    s.min_notional, s.qty_step]))
        self.snap = np.full((self.n_bars, len(C.SNAPSHOT_COLUMNS)), np.nan)
        self.qh = np.zeros((self.n_bars, n))
        cap = max(1024, 8 * n + 64)
        self.ff = np.empty((cap, C.N_FILL_F))
        self.fi = np.empty((cap, C.N_FILL_I), dtype=np.int64)
        self.rf = np.empty((cap, C.N_REJ_F))
        self.ri = np.empty((cap, C.N_FILL_I), dtype=np.int64)
        self.ef = np.empty((256, C.N_EV_F))
        self.ei = np.empty((256, C.N_EV_I), dtype=np.int64)
        self.counts = np.zeros(3, dtype=np.int64)

    @property
    def cash(self) -> float:
        return float(self.acct[C.A_CASH])

    @property
    def qty(self) -> np.ndarray:
        return self.pos[C.P_QTY]

    def ensure_room(self, rows: int) -> None:
        """Grow every ledger (doubling) so each has at least ``rows`` free rows."""
        c = self.counts
        if c[0] + rows <= self.ff.shape[0] and c[1] + rows <= self.rf.shape[0] \
                and c[2] + rows <= self.ef.shape[0]:
            return
        self.ff, self.fi = _grow(self.ff, self.fi, int(self.counts[0]) + rows)
        self.rf, self.ri = _grow(self.rf, self.ri, int(self.counts[1]) + rows)
        self.ef, self.ei = _grow(self.ef, self.ei, int(self.counts[2]) + rows)

    def ledger_args(self) -> tuple:
        return (self.ff, self.fi, self.rf, self.ri, self.ef, self.ei, self.counts)

    def fills(self) -> tuple[np.ndarray, np.ndarray]:
        n = int(self.counts[0])
        return self.ff[:n], self.fi[:n]

    def rejections(self) -> tuple[np.ndarray, np.ndarray]:
        n = int(self.counts[1])
        return self.rf[:n], self.ri[:n]

    def kernel_events(self) -> tuple[np.ndarray, np.ndarray]:
        n = int(self.counts[2])
        return self.ef[:n], self.ei[:n]


def _grow(f: np.ndarray, i: np.ndarray, need: int) -> tuple[np.ndarray, np.ndarray]:
    if need <= f.shape[0]:
        return f, i
    cap = max(need, 2 * f.shape[0])
    f2 = np.empty((cap, f.shape[1]), dtype=f.dtype)
    i2 = np.empty((cap, i.shape[1]), dtype=i.dtype)
    f2[: f.shape[0]] = f
    i2[: i.shape[0]] = i
    return f2, i2
