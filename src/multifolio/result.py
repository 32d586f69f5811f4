"""Result: everything a backtest produced, with metrics and reports computed on demand."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pandas as pd

from multifolio.engine.run_info import RunInfo


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

    @cached_property
    def metrics(self) -> dict[str, Any]:
        """Portfolio metrics (returns, risk, drawdown, trades, costs, exposure)."""
        from multifolio.analytics.metrics import compute_metrics

        return compute_metrics(self)

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
