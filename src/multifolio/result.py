"""Result: everything a backtest produced, with metrics and reports computed on demand."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pandas as pd

from multifolio.engine.run_info import RunInfo

if TYPE_CHECKING:
    from multifolio.analytics.metrics import LedgerFigures


@dataclass(eq=False)
class Result:
    """The outcome of one portfolio backtest.

    Attributes follow ``docs/contracts.md``: ``equity`` (Series), ``snapshots`` (one row per bar),
    ``positions`` (T x N quantities), ``fills``, ``trades`` (round trips), ``orders`` (with rejections
    and reasons) and ``events`` (liquidations, kill switch, scaled batches, risk interventions...).
    ``info`` says what the run was (:class:`~multifolio.engine.run_info.RunInfo`).
    """

    equity: pd.Series
    snapshots: pd.DataFrame
    positions: pd.DataFrame
    fills: pd.DataFrame
    trades: pd.DataFrame
    orders: pd.DataFrame
    events: pd.DataFrame
    initial_capital: float
    symbols: list[str]
    info: RunInfo
    freq: pd.Timedelta | None = None
    close: pd.DataFrame | None = None   # the result period's closes (crash and concurrency analysis)
    # swap, funding and borrow charges: timestamp, symbol, qty, price, rate, days, amount (cash moved), kind
    financing: pd.DataFrame | None = None

    @cached_property
    def metrics(self) -> dict[str, Any]:
        """Portfolio metrics (returns, risk, drawdown, trades, costs, exposure)."""
        from multifolio.analytics.metrics import compute_metrics

        return compute_metrics(self)

    @cached_property
    def cash_flows(self) -> pd.Series | None:
        """Cash an allocator moved in (+) or out (-) at each bar (the snapshots' ``transfers``); None
        when none ever moved."""
        from multifolio.analytics.returns import snapshot_flows

        return snapshot_flows(self.snapshots)

    @cached_property
    def ledger_figures(self) -> LedgerFigures:
        """The counts and sums of the ledgers that the metrics read (fills, orders, events, trades)."""
        from multifolio.analytics.metrics import ledger_figures

        return ledger_figures(self)

    @cached_property
    def per_asset(self) -> pd.DataFrame:
        """One row per symbol: trades, win rate, PnL, contribution, fees, rejected orders."""
        from multifolio.analytics.per_asset import per_asset_table

        return per_asset_table(self)

    def to_dict(self) -> dict[str, Any]:
        from multifolio.report.json_report import result_to_dict

        return result_to_dict(self)

    def to_json(self, path: str | None = None) -> str:
        """The JSON report; written to ``path`` when given."""
        from multifolio.report.json_report import result_to_json

        return result_to_json(self, path)

    def to_html(self, path: str) -> str:
        """A self-contained HTML report (plotly.js embedded, works offline); returns the path."""
        from multifolio.report.html import write_html_report

        return write_html_report(self, path)

    def __repr__(self) -> str:
        if len(self.equity) == 0:
            return "Result(empty)"
        return (f"Result({len(self.equity)} bars x {len(self.symbols)} assets, "
                f"equity {self.initial_capital:,.2f} -> {float(self.equity.iloc[-1]):,.2f})")


@dataclass(eq=False)
class MultiResult:
    """Several portfolios run on one clock: each one's ``Result`` (``portfolios[id]``), the combined book
    (``combined``: equity, cash, margin and positions summed; ledgers with a ``portfolio_id`` column) and
    the allocator's settings when one moved capital.
    """

    portfolios: dict[str, Result]
    combined: Result
    allocator: dict[str, Any] | None = None

    @property
    def ids(self) -> list[str]:
        return list(self.portfolios)

    @property
    def transfers(self) -> pd.DataFrame:
        """Cash moved between portfolios: ``timestamp, from, to, amount, reason`` (one row per move)."""
        from multifolio.analytics.combined import transfers_table

        return transfers_table(self.combined.events)

    @cached_property
    def book(self) -> dict[str, Any]:
        """Book-level figures: combined drawdown and margin, per-portfolio attribution, correlation of
        portfolio returns, diversification benefit (see ``multifolio.analytics.combined``)."""
        from multifolio.analytics.combined import book_summary

        return book_summary(self.portfolios, self.combined)

    @property
    def metrics(self) -> dict[str, Any]:
        """The combined book's metrics."""
        return self.combined.metrics

    def to_dict(self) -> dict[str, Any]:
        from multifolio.report.multi import multi_to_dict

        return multi_to_dict(self)

    def to_json(self, path: str | None = None) -> str:
        from multifolio.report.multi import multi_to_json

        return multi_to_json(self, path)

    def to_html(self, path: str) -> str:
        from multifolio.report.multi import write_multi_html

        return write_multi_html(self, path)

    def __repr__(self) -> str:
        eq = self.combined.equity
        end = f"{float(eq.iloc[-1]):,.2f}" if len(eq) else "-"
        return (f"MultiResult({len(self.portfolios)} portfolios {self.ids}, {len(eq)} bars, combined equity "
                f"{self.combined.initial_capital:,.2f} -> {end})")
