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
from typing import Any, Protocol

import numpy as np

from multifolio.data.market_data import MarketData
from multifolio.engine import kernels as K
from multifolio.engine.account import Account, AccountView
from multifolio.engine.compiled import BarRun
from multifolio.engine.context import Context
from multifolio.engine.instruments import conversion_rates
from multifolio.engine.raw import RawRun
from multifolio.engine.records import Bars
from multifolio.engine.settings import AccountSettings
from multifolio.engine.state import last_valid_rows
from multifolio.engine.strategy import Strategy, decision_mask, offers_compiled_bars
from multifolio.engine.vectorized import finish_run

ProgressFn = Callable[[int, int], None]
PortfolioSpec = tuple[AccountSettings, Strategy, Sequence[Any]]


@dataclass(frozen=True)
class PortfolioSetup:
    """One portfolio to simulate: its account settings, strategy and rules, the symbols it trades (None:
    all of the data's, in order) and its id."""

    settings: AccountSettings
    strategy: Strategy
    rules: Sequence[Any] = ()
    symbols: Sequence[str] | None = None
    id: str = "main"


class Allocator(Protocol):
    """What the simulator needs of a capital allocator (``multifolio.portfolio.allocator`` builds one).

    ``due(t)``: does it act at bar t. ``transfers(t, views)``: the moves of free cash at bar t's close,
    as ``(from_index, to_index, amount, reason)``, given the accounts' ``AccountView``s.
    """

    def due(self, t: int) -> bool: ...

    def transfers(self, t: int, views: Sequence[AccountView]) -> list[tuple[int, int, float, str]]: ...


@dataclass
class PortfolioUnit:
    """One portfolio the simulator drives: its market view, account, strategy, rules and context."""

    id: str
    data: MarketData
    account: Account
    strategy: Strategy
    rules: list[Any]
    ctx: Context
    bars: Bars
    last_bar: np.ndarray
    px: np.ndarray                       # execution prices of one bar, NaN where not tradable
    decide: list[bool] = field(default_factory=list)
    python_bars: list[int] = field(default_factory=list)
    run: BarRun | None = None           # set when the strategy runs its bars compiled (``run_bars``)
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
    """Drives portfolios, each on its own account and view of the market, on one clock.

    ``portfolios`` are ``PortfolioSetup``s (or ``(settings, strategy, rules)`` tuples: all symbols). An
    ``allocator`` may move free cash between the accounts at the close of the bars it is due.
    """

    def __init__(self, data: MarketData, portfolios: Sequence[PortfolioSetup | PortfolioSpec],
                 start_bar: int = 0, allocator: Allocator | None = None) -> None:
        self.data = data
        self.start_bar = start_bar
        self.allocator = allocator
        self.units: list[PortfolioUnit] = []
        views: dict[tuple[str, ...], tuple[MarketData, Bars, np.ndarray]] = {}
        for k, setup in enumerate(portfolios):
            if not isinstance(setup, PortfolioSetup):
                setup = PortfolioSetup(*setup, id=str(k) if len(portfolios) > 1 else "main")
            key = tuple(setup.symbols) if setup.symbols is not None else tuple(data.symbols)
            if key not in views:          # portfolios on the same symbols share one read-only view
                md = data if list(key) == list(data.symbols) else data.select(list(key))
                bars = Bars(*(np.ascontiguousarray(a) for a in (md.open, md.high, md.low, md.close)))
                views[key] = (md, bars, last_valid_rows(bars.close))
            md, bars, last_bar = views[key]
            account = Account(data.index, md.symbols, setup.settings, setup.rules, id=setup.id)
            account.state.set_financing(data.index, md.fields.get("funding_rate"))
            if setup.settings.converts:     # rates from the whole data: the series need not be traded
                try:
                    fx, cols = conversion_rates(data, setup.settings.quote_currency,
                                                setup.settings.account_currency)
                except ValueError as exc:
                    raise ValueError(f"instruments: {exc}") from None
                account.state.set_conversion(fx, cols)
            self.units.append(PortfolioUnit(setup.id, md, account, setup.strategy, list(setup.rules),
                                            Context(account, md), bars, last_bar, np.empty(md.n_assets)))

    def _span(self, u: PortfolioUnit, t0: int, t1: int, delist_later: int = -1) -> None:
        st = u.account.state
        book = u.account.book.live
        # the kernel stops early when a ledger nears its end; grow them then and go on
        t = K.run_span(t0, t1, *u.bars, u.last_bar, book, st.acct, st.pos, st.costs, st.snap, st.qh,
                       st.ledgers, delist_later, st.sched, st.funding, st.fx)
        while t < t1:
            st.ensure_room(K.room_needed(st.n_assets, len(book)) * 8)
            t = K.run_span(t, t1, *u.bars, u.last_bar, book, st.acct, st.pos, st.costs, st.snap,
                           st.qh, st.ledgers, delist_later, st.sched, st.funding, st.fx)

    def _mark(self, u: PortfolioUnit, t: int) -> None:
        """Bar t up to the close for a portfolio that decides at t (in close mode the strategy trades at
        this close before delisted assets are closed out)."""
        self._span(u, t, t + 1, -1 if u.account.settings.execute_at_open else t)

    def _act(self, u: PortfolioUnit, t: int) -> None:
        """A decision at bar t's close: rules, strategy, and in close mode the execution."""
        acct = u.account
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
        if not acct.settings.execute_at_open:
            acct.settle_at_close(t, u.bars.open[t], u.bars.close[t], u.last_bar, u.px)

    def _allocate(self, t: int) -> None:
        """The allocator's moves of free cash at bar t's close, each logged on both accounts."""
        assert self.allocator is not None
        views = [u.account.allocator_view(t) for u in self.units]
        for i, j, amount, reason in self.allocator.transfers(t, views):
            src, dst = self.units[i], self.units[j]
            src.account.transfer(t, -amount, src.bars.close[t], counterparty=dst.id, reason=reason)
            dst.account.transfer(t, amount, dst.bars.close[t], counterparty=src.id, reason=reason)

    def _compiles(self, u: PortfolioUnit, decide: np.ndarray) -> bool:
        """Can the unit's strategy run its bars compiled, with the result Python would give? Only where
        nothing else needs Python on a bar: no allocator, no tick rounding of levels, and no risk rule
        but breakers that only record (replayed over the finished bars, ``_replay_rules``) in
        ``next_open`` execution, where every end-of-bar equity they read is final when it is written."""
        watchers_only = all(getattr(r, "replays_after_run", False) for r in u.rules)
        return (offers_compiled_bars(u.strategy) and self.allocator is None and not u.account.has_ticks
                and bool(decide.any())
                and (not u.rules or (watchers_only and u.account.settings.execute_at_open)))

    def _replay_rules(self, u: PortfolioUnit, n: int) -> None:
        """A compiled unit's recording rules, run bar by bar over its finished bars as they would have run
        live: every bar from the start, after marking (each reads that bar's end-of-bar equity)."""
        if not u.rules:
            return
        for t in range(self.start_bar, n):
            u.ctx.t = t
            for rule in u.rules:
                rule.on_bar(u.ctx)

    # -- the loop ---------------------------------------------------------------------------------
    def run(self, progress: ProgressFn | None = None) -> list[RawRun]:
        data = self.data
        n = data.n_bars
        alloc_bars: list[int] = []
        if self.allocator is not None:
            alloc_bars = [t for t in range(self.start_bar, n) if self.allocator.due(t)]
        for u in self.units:
            decide = decision_mask(data.index, u.strategy.schedule, self.start_bar)
            decide[: self.start_bar] = False
            u.decide = decide.tolist()
            python_bar = decide.copy()
            # rules watching the account run at every bar; rules that only screen orders (their
            # ``watches_bars`` is False) run with the strategy's decisions
            if any(getattr(r, "watches_bars", True) for r in u.rules):
                python_bar[self.start_bar:] = True
            python_bar[alloc_bars] = True          # every account is marked before the allocator acts
            u.python_bars = np.flatnonzero(python_bar).tolist()
            u._k = 0
            u.strategy.init(u.ctx)
            for rule in u.rules:
                rule.init(u.ctx)
            if self._compiles(u, decide):
                u.run = BarRun(u.account, u.bars, u.last_bar, decide)
                u.account.bar = int(np.flatnonzero(decide)[-1])     # the last decision, as in Python
        units = [u for u in self.units if u.run is None]            # the ones Python drives bar by bar
        compiled = [u for u in self.units if u.run is not None]
        step = max(1, n // 200)
        if compiled:
            # isolated and without an allocator: each runs on its own, in spans (progress between them)
            span = step if progress is not None and not units else n
            for t0 in range(0, n, span):
                for u in compiled:
                    u.strategy.run_bars(u.run, t0, min(n, t0 + span))
                if progress is not None and not units:
                    progress(min(n, t0 + span), n)
            for u in compiled:
                self._replay_rules(u, n)
        allocating = set(alloc_bars)
        next_report = 0
        t = 0 if units else n
        while t < n:
            for u in units:
                acct = u.account
                acct.fills_mark = acct.state.n_fills   # later fills: "since the last decision"
                if acct.has_pending and acct.settings.execute_at_open:
                    acct.execute_at_open(t, u.bars.open[t], u.bars.close[t], u.px)
            due = [u.next_python_bar(t, n) for u in units]
            nxt = min(due)
            if nxt > t:
                for u in units:
                    self._span(u, t, nxt)
                t = nxt
                continue
            deciding = [bar == t for bar in due]
            for u, d in zip(units, deciding, strict=True):
                if d:
                    self._mark(u, t)
                else:
                    self._span(u, t, t + 1)
            if t in allocating:
                self._allocate(t)
            for u, d in zip(units, deciding, strict=True):
                if d:
                    self._act(u, t)
            t += 1
            if progress is not None and t >= next_report:
                progress(t, n)
                next_report = t + step
        raws = []
        for u in self.units:
            acct = u.account
            acct.drop_pending()
            if acct.settings.close_at_end and n:
                finish_run(acct.state, u.bars.close, acct.book.live)
            raws.append(acct.raw_run(u.bars.close, self.start_bar, data.freq))
        if progress is not None:
            progress(n, n)
        return raws
