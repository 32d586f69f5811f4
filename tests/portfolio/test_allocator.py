"""The capital allocator: hand-computed transfers, time-weighted returns, never more than free cash."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mf_testdata import script

import multifolio as mf
from multifolio.analytics.combined import portfolio_returns
from multifolio.strategies import TopN


def flat_then_double() -> pd.DataFrame:
    """A trades at 100 until 14 Feb 2024 and at 200 from 15 Feb; B stays at 50."""
    idx = pd.date_range("2024-01-01", "2024-03-31", freq="D", tz="UTC")
    a = np.where(idx < pd.Timestamp("2024-02-15", tz="UTC"), 100.0, 200.0)
    return pd.DataFrame({"A": a, "B": np.full(len(idx), 50.0)}, index=idx)


def test_monthly_equal_weights_move_free_cash_as_computed_by_hand() -> None:
    close = flat_then_double()
    buy = script({0: lambda ctx: ctx.target_qty({"A": 10.0})})   # 10 A at 100: 1,000 of 3,000 invested
    idle = script({})
    alloc = mf.CapitalAllocator(["a", "b"], weights="equal", schedule="monthly")
    res = mf.backtest_portfolios(close, [mf.Portfolio("a", buy, 3_000.0), mf.Portfolio("b", idle, 1_000.0)],
                                 allocator=alloc, execution="close", close_at_end=False)
    tr = res.transfers
    # 31 Jan: equities 3,000 and 1,000, targets 2,000: a gives 1,000 (its free cash is 2,000).
    # 29 Feb: A doubled on 15 Feb, so a = 1,000 cash + 10 x 200 = 3,000 and b = 2,000; targets 2,500:
    #         a gives 500 (free cash 1,000). 31 Mar: 2,500 each, nothing to move.
    assert tr[["from", "to", "amount", "reason"]].values.tolist() == [
        ["a", "b", 1000.0, "rebalance"], ["a", "b", 500.0, "rebalance"]]
    assert [str(t.date()) for t in tr["timestamp"]] == ["2024-01-31", "2024-02-29"]
    a, b = res.portfolios["a"], res.portfolios["b"]
    assert float(a.equity.iloc[-1]) == 2_500.0 and float(b.equity.iloc[-1]) == 2_500.0
    assert a.snapshots["transfers"].sum() == -1_500.0 and b.snapshots["transfers"].sum() == 1_500.0
    # time-weighted: a made +50% on 15 Feb (2,000 -> 3,000); the moves are not returns
    assert a.metrics["total_return_pct"] == pytest.approx(50.0, abs=1e-9)
    assert b.metrics["total_return_pct"] == pytest.approx(0.0, abs=1e-12)
    assert float((1 + portfolio_returns(a)).prod()) == pytest.approx(1.5)
    # tail risk too: a's only loss-looking bar is the 1,000 it gave away (raw CVaR -10%), no loss at all
    assert a.metrics["var_95_pct"] == 0.0 and a.metrics["cvar_95_pct"] == 0.0
    # the book: 4,000 -> 5,000, and each portfolio's PnL adds up to it
    assert res.book["combined"]["return_pct"] == pytest.approx(25.0)
    assert res.book["per_portfolio"]["a"]["pnl"] == pytest.approx(1_000.0)
    assert res.book["per_portfolio"]["b"]["pnl"] == pytest.approx(0.0)
    # the strategies see the capital they are allotted now
    assert a.info.portfolio_id == "a"


def test_drift_trigger_rebalances_only_past_the_threshold() -> None:
    close = flat_then_double()
    buy = script({0: lambda ctx: ctx.target_qty({"A": 10.0})})
    alloc = mf.CapitalAllocator(["a", "b"], weights={"a": 0.75, "b": 0.25}, schedule=None, drift=0.06)
    ports = [mf.Portfolio("a", buy, 3_000.0), mf.Portfolio("b", script({}), 1_000.0)]
    res = mf.backtest_portfolios(close, ports, allocator=alloc, execution="close", close_at_end=False)
    tr = res.transfers
    # weights stay 0.75 / 0.25 until 15 Feb; then a = 4,000 of 5,000 (0.80, 0.05 off: within 6%) -> no move
    assert len(tr) == 0
    alloc2 = mf.CapitalAllocator(["a", "b"], weights={"a": 0.75, "b": 0.25}, schedule=None, drift=0.04)
    ports2 = [mf.Portfolio("a", script({0: lambda ctx: ctx.target_qty({"A": 10.0})}), 3_000.0),
              mf.Portfolio("b", script({}), 1_000.0)]
    res2 = mf.backtest_portfolios(close, ports2, allocator=alloc2, execution="close", close_at_end=False)
    tr2 = res2.transfers
    # with 4%: on 15 Feb a is 0.80 > 0.75 + 0.04 -> a gives 5,000 x 0.05 = 250 (drift), once
    assert tr2[["from", "to", "amount", "reason"]].values.tolist() == [["a", "b", 250.0, "drift"]]
    assert str(tr2["timestamp"].iloc[0].date()) == "2024-02-15"


def test_no_transfer_ever_exceeds_free_cash() -> None:
    md = mf.data.samples.crypto_hourly().slice("2024-01-01", "2024-03-31")
    syms = list(md.symbols)
    ports = [mf.Portfolio(f"p{k}", TopN(k=2, lookback=24 * (k + 1), schedule="daily"),
                          capital=1_000.0 * (k + 1), symbols=syms[3 * k: 3 * k + 6],
                          settings={"leverage": 2.0} if k == 1 else {})
             for k in range(3)]
    alloc = mf.CapitalAllocator([p.id for p in ports], weights="equal", schedule="weekly", drift=0.03)
    res = mf.backtest_portfolios(md, ports, allocator=alloc, fees=0.001)
    tr = res.transfers
    assert len(tr) > 5
    for pid, r in res.portfolios.items():
        out = tr[tr["from"] == pid]
        for t in out["timestamp"].unique():
            row = r.snapshots.loc[t]
            # after giving, the giver still has cash >= 0 and free margin >= 0: it gave only free cash
            assert row["cash"] >= -1e-6
            assert row["total_equity"] - row["margin_used"] >= -1e-6
    # the moves cancel in the book
    flows = sum(r.snapshots["transfers"] for r in res.portfolios.values() if "transfers" in r.snapshots)
    assert np.allclose(np.asarray(flows, dtype=float), 0.0, atol=1e-6)


def test_allocator_errors_are_named() -> None:
    with pytest.raises(ValueError, match="unknown portfolio"):
        mf.CapitalAllocator(["a"], weights={"z": 1.0})
    with pytest.raises(ValueError, match="needs a schedule, a drift threshold, or both"):
        mf.CapitalAllocator(["a", "b"], schedule=None)
    with pytest.raises(ValueError, match="drift is a fraction"):
        mf.CapitalAllocator(["a", "b"], drift=5)
    close = flat_then_double()
    with pytest.raises(ValueError, match="allocator portfolios"):
        mf.backtest_portfolios(close, [mf.Portfolio("a", script({}))], allocator=mf.CapitalAllocator(["x"]))


def test_a_portfolios_report_reads_time_weighted_returns() -> None:
    # the page's drawdown table, returns and contribution PnL do not count transfers as gains or losses
    from multifolio.report.page import ReportContext

    close = flat_then_double()
    buy = script({0: lambda ctx: ctx.target_qty({"A": 10.0})})
    alloc = mf.CapitalAllocator(["a", "b"], weights="equal", schedule="monthly")
    ports = [mf.Portfolio("a", buy, 3_000.0), mf.Portfolio("b", script({}), 1_000.0)]
    res = mf.backtest_portfolios(close, ports, allocator=alloc, execution="close", close_at_end=False)
    a = res.portfolios["a"]
    ctx = ReportContext(a)
    assert len(ctx.drawdown_periods) == 0                 # a never lost money: the 1,000 + 500 it gave
    assert a.metrics["max_drawdown_pct"] == 0.0           # away are not drawdowns
    assert float(ctx.returns.min()) == 0.0 and float(ctx.returns.max()) == pytest.approx(0.5)
    assert float(a.equity.min()) == 2_000.0               # while the account's money did fall
