"""Rules compose in the order of the config: each sees the batch as the rules before it left it."""

from __future__ import annotations

import statistics

import pytest
from risk_kit import market, risk_events, run

import multifolio as mf
from multifolio.portfolio import risk as R

A = [100.0, 97.0, 94.0, 95.0, 90.0, 86.0, 80.0]
B = [50.0, 48.6, 47.1, 47.4, 45.2, 43.0, 40.1]


def rets(p: list[float]) -> list[float]:
    return [p[k] / p[k - 1] - 1.0 for k in range(1, len(p))]


def test_three_rules_cut_in_order_and_the_final_quantity_is_the_product_of_their_factors() -> None:
    md = market(A=A, B=B)
    rules = [R.DrawdownScaling(start=5, end=15, min_factor=0.2),
             R.CorrelationSizing(window=6, threshold=0.7, max_reduction=0.5),
             R.MaxGrossLeverage(limit=0.6)]
    res = run(md, {0: lambda ctx: ctx.order("A", 5.0), 6: lambda ctx: ctx.order("B", 16.0)}, rules)
    # by hand: equity 500 + 5 x 80 = 900 at bar 6, peak 1000: drawdown 10% -> f1 = 1 - 0.8 x 5 / 10
    f1 = 0.6
    c = abs(statistics.correlation(rets(A), rets(B)))
    assert c > 0.7
    f2 = 1.0 - 0.5 * (c - 0.7) / 0.3
    # gross cap 0.6 x 900 = 540, A is worth 400: room 140 for B's 16 f1 f2 x 40.1
    o = 16.0 * f1 * f2 * B[6]
    f3 = 140.0 / o
    assert f3 < 1.0
    evs = risk_events(res)
    assert [e["rule"] for e in evs] == ["drawdown_scaling", "correlation_sizing", "max_gross_leverage"]
    assert [e["factor"] for e in evs] == [pytest.approx(f, abs=1e-12) for f in (f1, f2, f3)]
    # each rule saw what the one before allowed
    assert evs[0]["requested_qty"] == 16.0
    assert evs[1]["requested_qty"] == evs[0]["allowed_qty"]
    assert evs[2]["requested_qty"] == evs[1]["allowed_qty"]
    final = 16.0 * f1 * f2 * f3
    assert evs[2]["allowed_qty"] == pytest.approx(final, rel=1e-12)
    fill = res.fills[res.fills["timestamp"] == md.index[6]]
    assert fill["qty"].tolist() == [pytest.approx(final, rel=1e-12)]


def test_a_rule_later_in_the_list_does_not_see_an_order_an_earlier_rule_dropped() -> None:
    md = market(A=[10.0] * 3, B=[10.0] * 3, C=[10.0] * 3)
    rules = [R.MaxPositions(limit=1), R.MaxGrossLeverage(limit=0.3), R.VarLimit(limit=1, window=5)]
    res = run(md, {1: lambda ctx: (ctx.order("A", 40.0), ctx.order("B", 40.0), ctx.order("C", 40.0))},
              rules)
    evs = risk_events(res)
    assert [(e["rule"], e["symbol"]) for e in evs] == [("max_positions", "B"), ("max_positions", "C"),
                                                        ("max_gross_leverage", "A")]
    assert evs[-1]["allowed_qty"] == pytest.approx(30.0)   # 0.3 x 1000 / 10, alone in the batch


def test_rules_build_by_name_from_config_dicts_in_order() -> None:
    specs = [{"rule": "correlation_sizing", "threshold": 0.6}, {"rule": "var_limit", "limit": 4},
             {"rule": "drawdown_scaling", "start": 5, "end": 20}, {"rule": "portfolio_stop", "threshold": 25},
             {"rule": "max_positions", "limit": 3}, {"rule": "max_weight", "limit": 25},
             {"rule": "max_gross_leverage", "limit": 1.5}, {"rule": "max_correlation", "threshold": 0.9},
             {"rule": "risk_per_trade", "percent": 2}, {"rule": "kill_switch"}, {"rule": "max_drawdown"}]
    rules = [R.make_rule(s) for s in specs]
    assert [r.describe().name for r in rules] == [s["rule"] for s in specs]
    assert rules[0].describe().params == {"window": 30, "threshold": 0.6, "max_reduction": 0.5}
    with pytest.raises(ValueError, match="max_reduction"):
        R.make_rule({"rule": "correlation_sizing", "max_reduction": 2})
    with pytest.raises(ValueError, match="end"):
        R.make_rule({"rule": "drawdown_scaling", "start": 20, "end": 10})
    # the run's info lists them, in order
    res = mf.backtest(market(A=[10.0] * 3), mf.strategies.EqualWeight(), risk=specs[:3])
    assert [r.name for r in res.info.rules] == ["correlation_sizing", "var_limit", "drawdown_scaling"]
