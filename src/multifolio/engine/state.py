"""The state one account's simulation updates in place: account, positions, costs, ledgers, snapshots."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from multifolio.engine.records import (
    ACCOUNT_DTYPE,
    COST_DTYPE,
    EVENT_DTYPE,
    FILL_DTYPE,
    FINANCING_DTYPE,
    FINANCING_SCHEDULE_DTYPE,
    LEDGER_COUNT_DTYPE,
    POSITION_DTYPE,
    REJECTION_DTYPE,
    SNAPSHOT_DTYPE,
    Ledgers,
)
from multifolio.engine.settings import AccountSettings, financing_schedule

_NO_FUNDING = np.zeros((1, 1))
_NO_CONVERSION = np.ones((1, 1))


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
    pos: np.ndarray = field(init=False)
    costs: np.ndarray = field(init=False)
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
        a["financed_to"] = -1
        a["has_financing"] = s.charges_rates
        self.pos = np.zeros(n, POSITION_DTYPE)
        self.pos["last_price"] = np.nan
        self.costs = np.zeros(n, COST_DTYPE)
        for name, values in (("fee_rate", s.fees), ("fixed_fee", s.fixed_fees), ("slippage", s.slippage),
                             ("leverage", s.leverage), ("min_notional", s.min_notional),
                             ("qty_step", s.qty_step), ("swap_long", s.swap_long),
                             ("swap_short", s.swap_short), ("borrow_rate", s.borrow_rate)):
            if values is not None:
                self.costs[name] = values
        self.costs["contract_size"] = 1.0 if s.contract_size is None else s.contract_size
        self.costs["mult"] = self.costs["contract_size"]
        self.costs["tick"] = 0.0 if s.tick is None else s.tick
        self.costs["fx_col"] = -1
        a["converted_to"] = -1
        self.fx = _NO_CONVERSION
        self.sched = np.zeros(self.n_bars, FINANCING_SCHEDULE_DTYPE)
        self.funding = _NO_FUNDING
        self.snap = np.full(self.n_bars, np.nan, SNAPSHOT_DTYPE)
        self.qh = np.zeros((self.n_bars, n))
        cap = max(1024, 8 * n + 64)
        self.ledgers = Ledgers(fills=np.empty(cap, FILL_DTYPE), rejections=np.empty(cap, REJECTION_DTYPE),
                               events=np.empty(256, EVENT_DTYPE),
                               financing=np.empty(16, FINANCING_DTYPE),
                               n=np.zeros(1, LEDGER_COUNT_DTYPE))
        # the same counts as plain ints (fills, rejections, events, financing): read from Python
        self._used = self.ledgers.n.view(np.int64)
        self._room = [len(self.ledgers.fills), len(self.ledgers.rejections), len(self.ledgers.events),
                      len(self.ledgers.financing)]

    def set_financing(self, index, funding: np.ndarray | None) -> None:
        """The run's financing schedule (from the bar timestamps) and the data's funding rates (T x N)."""
        s = self.settings
        if s.charges_rates:
            days, years = financing_schedule(index, s.rollover_hour, s.triple_swap_day)
            self.sched["swap_days"] = days
            self.sched["year_frac"] = years
        if funding is not None and s.funding:
            self.funding = np.ascontiguousarray(funding, dtype=np.float64)
            self.acct[0]["has_funding"] = True
            self.acct[0]["has_financing"] = True
        if self.acct[0]["has_financing"]:
            self.ensure_room(1024)

    def set_conversion(self, fx: np.ndarray | None, cols: np.ndarray) -> None:
        """The run's conversion rates (T x K, account currency per unit of quote currency) and each
        asset's column (-1: quoted in the account's currency); ``kernels.convert`` applies them."""
        if fx is None:
            return
        # two rows per bar: at the open the rate known then (the previous close), at the close its own
        rates = np.empty((2 * fx.shape[0], fx.shape[1]))
        rates[1::2] = fx
        rates[2::2] = fx[:-1]
        rates[0] = fx[0]
        self.fx = np.ascontiguousarray(rates)
        self.costs["fx_col"] = cols
        self.acct[0]["has_conversion"] = True

    @property
    def cash(self) -> float:
        return float(self.acct[0]["cash"])

    @property
    def qty(self) -> np.ndarray:
        return self.pos["qty"]

    @property
    def n_fills(self) -> int:
        return int(self._used[0])

    def ensure_room(self, rows: int) -> None:
        """Grow every ledger (doubling) so each has at least ``rows`` free rows."""
        used, room = self._used, self._room
        fin_rows = 3 * self.n_assets + rows if self.acct[0]["has_financing"] else 0
        if used[0] + rows <= room[0] and used[1] + rows <= room[1] and used[2] + rows <= room[2] \
                and used[3] + fin_rows <= room[3]:
            return
        led = self.ledgers
        n_f, n_r, n_e, n_x = (int(x) for x in used)
        self.ledgers = Ledgers(fills=_grow(led.fills, n_f, n_f + rows),
                               rejections=_grow(led.rejections, n_r, n_r + rows),
                               events=_grow(led.events, n_e, n_e + rows),
                               financing=_grow(led.financing, n_x, n_x + fin_rows), n=led.n)
        self._room = [len(self.ledgers.fills), len(self.ledgers.rejections), len(self.ledgers.events),
                      len(self.ledgers.financing)]

    def fills(self) -> np.ndarray:
        return self.ledgers.fills[: self.n_fills]

    def rejections(self) -> np.ndarray:
        return self.ledgers.rejections[: int(self._used[1])]

    def financing(self) -> np.ndarray:
        return self.ledgers.financing[: int(self._used[3])]

    def kernel_events(self) -> np.ndarray:
        return self.ledgers.events[: int(self._used[2])]


def _grow(records: np.ndarray, used: int, need: int) -> np.ndarray:
    """``records`` with room for ``need`` rows (doubling); only the ``used`` rows are copied over."""
    if need <= len(records):
        return records
    out = np.empty(max(need, 2 * len(records)), records.dtype)
    out[:used] = records[:used]
    return out
