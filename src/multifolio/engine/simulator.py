"""The Strategy-driven simulation loop.

Python runs only at decision bars (the strategy's schedule, or every bar when risk rules watch the
account); the bars in between go through one compiled ``run_span`` call. At a decision bar the order of
events is the bar cycle of ``docs/contracts.md``: pending market orders fill at the open, resting orders
match against the bar's range, positions are marked at the close (liquidation, delisting), risk rules run,
then the strategy; in ``execution="close"`` mode its market orders fill at once at the close.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from multifolio.data.market_data import MarketData
from multifolio.engine import kernels as K
from multifolio.engine.account import Account
from multifolio.engine.context import Context
from multifolio.engine.raw import RawRun
from multifolio.engine.records import Bars
from multifolio.engine.settings import AccountSettings
from multifolio.engine.state import last_valid_rows
from multifolio.engine.strategy import Strategy, decision_mask
from multifolio.engine.vectorized import finish_run

ProgressFn = Callable[[int, int], None]
PortfolioSpec = tuple[AccountSettings, Strategy, Sequence[Any]]


@dataclass
class PortfolioUnit:
    """One portfolio the simulator drives: its account, its strategy, its risk rules, their view."""

    account: Account
    strategy: Strategy
    rules: list[Any]
    ctx: Context
    decide: list[bool] = field(default_factory=list)
    python_bars: list[int] = field(default_factory=list)
    _k: int = 0          # python_bars[_k] is the next one (the clock only moves forward)

    def next_python_bar(self, t: int, n: int) -> int:
        """The first bar >= t at which Python runs for this portfolio (n: none left, or halted)."""
        if self.account.halted:
            return n
        bars, k = self.python_bars, self._k
        while k < len(bars) and bars[k] < t:
            k += 1
        self._k = k
        return bars[k] if k < len(bars) else n


class Simulator:
    """Drives ``(settings, strategy, rules)`` portfolios, each on its own account, on one clock."""

    def __init__(self, data: MarketData, portfolios: Sequence[PortfolioSpec], start_bar: int = 0) -> None:
        self.data = data
        self.start_bar = start_bar
        self.units: list[PortfolioUnit] = []
        for settings, strategy, rules in portfolios:
            account = Account(data.index, data.symbols, settings, rules)
            self.units.append(PortfolioUnit(account, strategy, list(rules), Context(account, data)))
        self._bars = Bars(*(np.ascontiguousarray(a) for a in (data.open, data.high, data.low, data.close)))
        self._op, self._cl = self._bars.open, self._bars.close
        self._last_bar = last_valid_rows(self._cl)
        self._px = np.empty(data.n_assets)         # execution prices of one bar, NaN where not tradable

    def _tradable(self, prices: np.ndarray, t: int) -> np.ndarray:
        return K.tradable_prices(prices, self._op[t], self._cl[t], self._px)

    def _span(self, acct: Account, t0: int, t1: int, delist_later: int = -1) -> None:
        st = acct.state
        book = acct.book.live
        # the kernel stops early when a ledger nears its end; grow them then and go on
        t = K.run_span(t0, t1, *self._bars, self._last_bar, book, st.acct, st.pos, st.costs, st.snap, st.qh,
                       st.ledgers, delist_later)
        while t < t1:
            st.ensure_room(K.room_needed(st.n_assets, len(book)) * 8)
            t = K.run_span(t, t1, *self._bars, self._last_bar, book, st.acct, st.pos, st.costs, st.snap,
                           st.qh, st.ledgers, delist_later)

    def _decide(self, u: PortfolioUnit, t: int) -> None:
        """One decision bar of one portfolio: mark, rules, strategy, (close mode) execution."""
        acct = u.account
        at_open = acct.settings.execute_at_open
        # in close mode the strategy trades at this close before delisted assets are closed out
        self._span(acct, t, t + 1, -1 if at_open else t)
        acct.bar = t
        acct.decided_at = t
        if u.rules:
            for rule in u.rules:
                rule.on_bar(u.ctx)
            acct.mark_screened()      # the rules' own orders (closing out) are not screened again
        if u.decide[t] and not acct.halted and t >= acct.paused_until:   # a plain list: cheap to index
            u.strategy.on_bar(u.ctx)
            if u.rules or acct.reducing:
                acct.screen_pending()
        if not at_open:
            st = acct.state
            st.ensure_room(K.room_needed(st.n_assets, acct.book.m))
            if acct.has_pending:
                acct.execute_pending(t, self._tradable(self._cl[t], t))
                K.snapshot(t, self._cl[t], st.acct, st.pos, st.costs, acct.book.live, st.snap, st.qh)
            K.close_delisted(t, self._cl[t], self._last_bar, st.acct, st.pos, st.costs, acct.book.live,
                             st.snap, st.qh, st.ledgers)

    # -- the loop ---------------------------------------------------------------------------------
    def run(self, progress: ProgressFn | None = None) -> list[RawRun]:
        data = self.data
        n = data.n_bars
        for u in self.units:
            decide = decision_mask(data.index, u.strategy.schedule, self.start_bar)
            decide[: self.start_bar] = False
            u.decide = decide.tolist()
            python_bar = decide.copy()
            if u.rules:
                python_bar[self.start_bar:] = True
            u.python_bars = np.flatnonzero(python_bar).tolist()
            u._k = 0
            u.strategy.init(u.ctx)
            for rule in u.rules:
                rule.init(u.ctx)
        step = max(1, n // 200)
        next_report = 0
        t = 0
        while t < n:
            for u in self.units:
                acct = u.account
                acct.fills_mark = acct.state.n_fills   # later fills: "since the last decision"
                if acct.has_pending and acct.settings.execute_at_open:
                    acct.execute_pending(t, self._tradable(self._op[t], t))
            due = [u.next_python_bar(t, n) for u in self.units]
            nxt = min(due)
            if nxt > t:
                for u in self.units:
                    self._span(u.account, t, nxt)
                t = nxt
                continue
            for u, bar in zip(self.units, due, strict=True):
                if bar == t:
                    self._decide(u, t)
                else:
                    self._span(u.account, t, t + 1)
            t += 1
            if progress is not None and t >= next_report:
                progress(t, n)
                next_report = t + step
        raws = []
        for u in self.units:
            acct = u.account
            acct.drop_pending()
            if acct.settings.close_at_end and n:
                finish_run(acct.state, self._cl, acct.book.live)
            raws.append(acct.raw_run(self._cl, self.start_bar, data.freq))
        if progress is not None:
            progress(n, n)
        return raws
