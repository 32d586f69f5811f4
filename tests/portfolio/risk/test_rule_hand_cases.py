"""Each rule on a constructed market where it must fire and one where it must not, against hand figures.

Runs are in ``execution="close"`` so that a batch is screened and filled at the same prices: the allowed
quantity a rule logs is the quantity that fills.
"""

from __future__ import annotations

import statistics

import pytest
from risk_kit import market, risk_events, run

from multifolio.portfolio import risk as R

A = [100.0, 101.0, 99.0, 102.0, 104.0, 103.0, 105.0]
B = [50.0, 50.6, 49.4, 51.2, 52.1, 51.4, 52.6]        # moves with A
C = [20.0, 20.3, 20.1, 19.8, 20.2, 20.5, 20.4]        # does not


def rets(p: list[float]) -> list[float]:
    return [p[k] / p[k - 1] - 1.0 for k in range(1, len(p))]


def fills_at(res, bar: int) -> dict[str, float]:
    t = res.equity.index[bar]
    f = res.fills[res.fills["timestamp"] == t]
    return dict(zip(f["symbol"], f["qty"], strict=True))


# -- correlation_sizing ---------------------------------------------------------------------------
def test_correlation_sizing_factor_is_exact_against_a_hand_calculation() -> None:
    c = abs(statistics.correlation(rets(A), rets(B)))
    assert 0.7 < c < 1.0                                  # the market is built so that it must fire
    factor = 1.0 - 0.5 * (c - 0.7) / (1.0 - 0.7)
    md = market(A=A, B=B, C=C)
    res = run(md, {0: lambda ctx: ctx.order("A", 2.0), 6: lambda ctx: ctx.order("B", 4.0)},
              [R.CorrelationSizing(window=6, threshold=0.7, max_reduction=0.5)])
    [ev] = risk_events(res)
    assert ev["symbol"] == "B" and ev["correlated_with"] == "A"
    assert ev["correlation"] == pytest.approx(c, abs=1e-12)
    assert ev["factor"] == pytest.approx(factor, abs=1e-12)
    assert ev["requested_qty"] == 4.0
    assert ev["allowed_qty"] == pytest.approx(4.0 * factor, abs=1e-12)
    assert fills_at(res, 6)["B"] == pytest.approx(4.0 * factor, abs=1e-12)


def test_correlation_sizing_leaves_an_uncorrelated_order_alone() -> None:
    assert abs(statistics.correlation(rets(A), rets(C))) < 0.7
    md = market(A=A, B=B, C=C)
    res = run(md, {0: lambda ctx: ctx.order("A", 2.0), 6: lambda ctx: ctx.order("C", 4.0)},
              [R.CorrelationSizing(window=6)])
    assert risk_events(res) == []
    assert fills_at(res, 6) == {"C": 4.0}


def test_correlation_sizing_compares_with_orders_earlier_in_the_batch() -> None:
    c_ab = abs(statistics.correlation(rets(A), rets(B)))
    md = market(A=A, B=B, C=C)
    # nothing held: B (first) passes, A is cut for its correlation with B, C passes
    res = run(md, {6: lambda ctx: (ctx.order("B", 4.0), ctx.order("A", 2.0), ctx.order("C", 5.0))},
              [R.CorrelationSizing(window=6)])
    [ev] = risk_events(res)
    assert (ev["symbol"], ev["correlated_with"]) == ("A", "B")
    assert ev["allowed_qty"] == pytest.approx(2.0 * (1 - 0.5 * (c_ab - 0.7) / 0.3), abs=1e-12)
    assert fills_at(res, 6)["B"] == 4.0 and fills_at(res, 6)["C"] == 5.0


def test_correlation_sizing_cuts_only_the_opening_part() -> None:
    c = abs(statistics.correlation(rets(A), rets(B)))
    f = 1 - 0.5 * (c - 0.7) / 0.3
    md = market(A=A, B=B, C=C)
    # short 2 B held (margin account), buy 6: 2 reduce, 4 open -> 2 + 4 f
    res = run(md, {0: lambda ctx: (ctx.order("A", 2.0), ctx.order("B", -2.0)),
                   6: lambda ctx: ctx.order("B", 6.0)},
              [R.CorrelationSizing(window=6)], allow_short=True, leverage=2.0)
    [ev] = [e for e in risk_events(res) if e["timestamp"] == res.equity.index[6]]
    assert ev["allowed_qty"] == pytest.approx(2.0 + 4.0 * f, abs=1e-12)


# -- max_correlation ------------------------------------------------------------------------------
def test_max_correlation_refuses_a_new_asset_correlated_with_one_held() -> None:
    c = abs(statistics.correlation(rets(A), rets(B)))
    md = market(A=A, B=B, C=C)
    res = run(md, {0: lambda ctx: ctx.order("A", 2.0),
                   6: lambda ctx: (ctx.order("B", 4.0), ctx.order("C", 5.0), ctx.order("A", 1.0))},
              [R.MaxCorrelation(threshold=0.8, window=6)])
    assert c > 0.8
    [ev] = risk_events(res)
    assert (ev["symbol"], ev["allowed_qty"], ev["correlated_with"]) == ("B", 0.0, "A")
    assert ev["correlation"] == pytest.approx(c, abs=1e-12)
    assert fills_at(res, 6) == {"C": 5.0, "A": 1.0}       # uncorrelated new asset and an add-on pass


def test_max_correlation_does_not_fire_below_its_threshold() -> None:
    md = market(A=A, B=B, C=C)
    res = run(md, {0: lambda ctx: ctx.order("A", 2.0), 6: lambda ctx: ctx.order("B", 4.0)},
              [R.MaxCorrelation(threshold=0.999, window=6)])
    assert risk_events(res) == [] and fills_at(res, 6) == {"B": 4.0}


# -- var_limit ------------------------------------------------------------------------------------
VAR_RETS = [-0.10, 0.02, 0.01, -0.05, 0.03]


def _var_market() -> tuple[list[float], list[float]]:
    a = [100.0]
    for r in VAR_RETS:
        a.append(a[-1] * (1 + r))
    return a, [10.0] * len(a)


def test_var_limit_scales_an_order_down_to_the_limit() -> None:
    a, flat = _var_market()
    md = market(A=a, Z=flat)
    # 80% VaR of 5 scenarios, linear quantile at 0.2: -(-0.10 + 0.8 x 0.05) = 6% of the position value
    unit_var = 0.06
    notional = 900.0
    res = run(md, {5: lambda ctx: ctx.order("A", notional=notional)},
              [R.VarLimit(limit=3.0, confidence=80.0, window=5)])
    [ev] = risk_events(res)
    assert ev["var_before"] == pytest.approx(unit_var * notional, rel=1e-12)
    assert ev["limit"] == pytest.approx(30.0, rel=1e-12)
    # the position value allowed is 30 / 0.06 = 500: k = 500 / 900
    assert ev["factor"] == pytest.approx(500.0 / 900.0, abs=1e-8)
    assert ev["allowed_qty"] * a[5] == pytest.approx(500.0, rel=1e-8)
    assert ev["var_after"] <= 30.0
    assert fills_at(res, 5)["A"] == pytest.approx(ev["allowed_qty"], rel=1e-12)


def test_var_limit_passes_an_order_within_the_limit() -> None:
    a, flat = _var_market()
    res = run(market(A=a, Z=flat), {5: lambda ctx: ctx.order("A", notional=900.0)},
              [R.VarLimit(limit=6.0, confidence=80.0, window=5)])   # VaR 54 <= 60
    assert risk_events(res) == []
    assert fills_at(res, 5)["A"] * a[5] == pytest.approx(900.0, rel=1e-12)


def test_cvar_measure_is_the_mean_of_the_tail() -> None:
    a, flat = _var_market()
    # 60% confidence: quantile at 0.4 = -0.05 + 0.6 x 0.06 = -0.014; tail {-0.10, -0.05}: CVaR 7.5%
    res = run(market(A=a, Z=flat), {5: lambda ctx: ctx.order("A", notional=800.0)},
              [R.VarLimit(limit=3.0, confidence=60.0, window=5, measure="cvar")])
    [ev] = risk_events(res)
    assert ev["var_before"] == pytest.approx(0.075 * 800.0, rel=1e-12)
    assert ev["allowed_qty"] * a[5] == pytest.approx(30.0 / 0.075, rel=1e-8)


# -- drawdown_scaling -----------------------------------------------------------------------------
def test_drawdown_scaling_is_linear_between_its_bounds() -> None:
    md = market(A=[100.0, 100.0, 90.0, 80.0, 80.0])
    # 6 units held from bar 1 (cash 400): equity 1000, 1000, 940, 880: a 12% drawdown at bar 3
    # -> 1 - 0.8 x (12 - 5) / (15 - 5) = 0.44
    res = run(md, {0: lambda ctx: ctx.order("A", 5.0), 1: lambda ctx: ctx.order("A", 1.0),
                   3: lambda ctx: ctx.order("A", 2.0), 4: lambda ctx: ctx.order("A", -3.0)},
              [R.DrawdownScaling(start=5, end=15, min_factor=0.2)])
    [ev] = risk_events(res)
    assert ev["timestamp"] == md.index[3] and ev["symbol"] == "A"
    assert ev["peak"] == pytest.approx(1000.0) and ev["equity"] == pytest.approx(880.0)
    assert ev["drawdown_pct"] == pytest.approx(12.0) and ev["factor"] == pytest.approx(0.44)
    assert fills_at(res, 3) == {"A": pytest.approx(0.88, rel=1e-12)}
    # bar 1 (no drawdown) and bar 4 (a pure reduction) pass untouched
    assert fills_at(res, 1) == {"A": 1.0} and fills_at(res, 4) == {"A": -3.0}


def test_drawdown_scaling_factor_by_hand() -> None:
    md = market(A=[100.0, 100.0, 90.0, 80.0, 80.0])
    res = run(md, {0: lambda ctx: ctx.order("A", 5.0), 3: lambda ctx: ctx.order("A", 2.0)},
              [R.DrawdownScaling(start=5, end=15, min_factor=0.2)])
    # equity 1000 at the peak, 5 x 80 + 500 = 900 at bar 3: drawdown 10%, factor 0.6
    [ev] = risk_events(res)
    assert ev["drawdown_pct"] == pytest.approx(10.0, rel=1e-12)
    assert ev["factor"] == pytest.approx(0.6, rel=1e-12)
    assert fills_at(res, 3) == {"A": pytest.approx(1.2, rel=1e-12)}
    # below the start: nothing
    res = run(md, {0: lambda ctx: ctx.order("A", 5.0), 3: lambda ctx: ctx.order("A", 2.0)},
              [R.DrawdownScaling(start=12, end=30)])
    assert risk_events(res) == []


# -- portfolio_stop -------------------------------------------------------------------------------
STOP = [100.0, 100.0, 90.0, 75.0, 70.0, 72.0, 74.0, 76.0]


def test_portfolio_stop_closes_everything_and_halts() -> None:
    md = market(A=STOP)
    # equity with 5 A bought at 100 from 1000: 1000, 1000, 950, 875 (12.5% down: above 10%)
    res = run(md, {0: lambda ctx: ctx.order("A", 5.0), 5: lambda ctx: ctx.order("A", 1.0)},
              [R.PortfolioStop(threshold=10)])
    ev = res.events[res.events["kind"] == "portfolio_stop"]
    assert ev["timestamp"].tolist() == [md.index[3]]
    d = ev["details"].iloc[0]
    assert d["drawdown_pct"] == pytest.approx(12.5, rel=1e-12) and d["action"] == "close"
    assert res.positions["A"].tolist() == [5.0, 5.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    closing = res.fills[res.fills["timestamp"] == md.index[3]]
    assert closing["reason"].tolist() == ["portfolio_stop"]
    assert res.equity.iloc[-1] == pytest.approx(875.0)    # halted: the bar-5 buy never happened


def test_portfolio_stop_reducing_mode_rearms_after_the_cooldown() -> None:
    md = market(A=STOP)
    steps = {0: lambda ctx: ctx.order("A", 5.0),
             4: lambda ctx: ctx.order("A", 1.0),
             5: lambda ctx: ctx.order("A", -2.0),
             6: lambda ctx: ctx.order("A", 1.0)}
    res = run(md, steps, [R.PortfolioStop(threshold=10, mode="reduce", cooldown=72)])
    # fires at bar 3 (no close), reducing from then: the bar-4 buy is dropped, the bar-5 sale passes;
    # 72 h = 3 daily bars: re-armed at bar 6, whose buy passes
    assert res.positions["A"].tolist() == [5.0, 5.0, 5.0, 5.0, 5.0, 3.0, 4.0, 4.0]
    risk = risk_events(res)
    assert [(e["rule"], e["requested_qty"], e["allowed_qty"]) for e in risk] == [("reducing", 1.0, 0.0)]
    kinds = res.events["kind"].tolist()
    assert kinds.count("portfolio_stop") == 1 and kinds.count("portfolio_stop_rearm") == 1


def test_portfolio_stop_does_not_fire_within_its_threshold() -> None:
    md = market(A=STOP)
    res = run(md, {0: lambda ctx: ctx.order("A", 5.0)}, [R.PortfolioStop(threshold=20)])
    assert not (res.events["kind"] == "portfolio_stop").any()
    assert (res.positions["A"] == 5.0).all()


# -- max_positions, max_weight, max_gross_leverage, risk_per_trade --------------------------------
FLAT = dict(A=[10.0] * 4, B=[10.0] * 4, C=[10.0] * 4)


def test_max_positions_admits_new_assets_in_batch_order_and_frees_closed_slots() -> None:
    md = market(**FLAT)
    steps = {0: lambda ctx: (ctx.order("A", 1.0), ctx.order("B", 1.0), ctx.order("C", 1.0)),
             1: lambda ctx: (ctx.close_position("A"), ctx.order("C", 2.0))}
    res = run(md, steps, [R.MaxPositions(limit=2)])
    [ev] = risk_events(res)
    assert (ev["symbol"], ev["allowed_qty"], ev["positions"], ev["limit"]) == ("C", 0.0, 2, 2)
    assert res.positions.iloc[1].to_dict() == {"A": 0.0, "B": 1.0, "C": 2.0}
    assert risk_events(run(md, steps, [R.MaxPositions(limit=3)])) == []


def test_max_weight_caps_the_position_after_the_order() -> None:
    md = market(**FLAT)
    steps = {0: lambda ctx: ctx.target_weights({"A": 0.5, "B": 0.2}),
             1: lambda ctx: ctx.order("B", 20.0)}
    res = run(md, steps, [R.MaxWeight(limit=30)])
    # 30% of 1000 at 10 = 30 units: A asks 50 -> 30; B holds 20 and asks +20 -> +10
    got = [(e["symbol"], e["requested_qty"], e["allowed_qty"]) for e in risk_events(res)]
    assert got == [("A", pytest.approx(50.0), pytest.approx(30.0)), ("B", 20.0, pytest.approx(10.0))]
    assert res.positions.iloc[1]["B"] == pytest.approx(30.0)
    assert risk_events(run(md, steps, [R.MaxWeight(limit=60)])) == []


def test_max_gross_leverage_scales_the_opening_parts_together() -> None:
    md = market(**FLAT)
    steps = {0: lambda ctx: ctx.order("A", 20.0),
             1: lambda ctx: (ctx.order("B", 30.0), ctx.order("C", 30.0), ctx.order("A", -5.0))}
    res = run(md, steps, [R.MaxGrossLeverage(limit=0.5)])
    # after the A sale: 150 held; 600 asked; cap 500 -> k = 350 / 600
    k = 350.0 / 600.0
    evs = risk_events(res)
    assert [(e["symbol"], e["allowed_qty"]) for e in evs] == [("B", pytest.approx(30 * k, rel=1e-12)),
                                                              ("C", pytest.approx(30 * k, rel=1e-12))]
    assert evs[0]["gross_after"] == pytest.approx(0.5, rel=1e-12)
    assert fills_at(res, 1)["A"] == -5.0
    assert risk_events(run(md, steps, [R.MaxGrossLeverage(limit=1.0)])) == []


def test_risk_per_trade_caps_new_positions_at_the_base_size() -> None:
    md = market(**FLAT)
    steps = {0: lambda ctx: ctx.order("A", 50.0), 1: lambda ctx: (ctx.order("A", 10.0),
                                                                   ctx.order("B", 5.0))}
    res = run(md, steps, [R.RiskPerTrade(percent=10)])
    # 10% of 1000 = 100 at 10 = 10 units for a new position; adding to A and a small B pass
    [ev] = risk_events(res)
    assert (ev["symbol"], ev["allowed_qty"], ev["base_notional"]) == ("A", 10.0, 100.0)
    assert fills_at(res, 1) == {"A": 10.0, "B": 5.0}
    res = run(md, {0: lambda ctx: ctx.order("A", 50.0)}, [R.RiskPerTrade(percent=1, by="stop", stop_pct=5)])
    assert risk_events(res)[0]["allowed_qty"] == pytest.approx(20.0)   # 10 / 5% = 200 of value


def test_risk_per_trade_by_volatility() -> None:
    md = market(A=A, B=B, C=C)
    sigma = statistics.stdev(rets(C)[-5:])
    res = run(md, {6: lambda ctx: ctx.order("C", 40.0)}, [R.RiskPerTrade(percent=1, by="volatility",
                                                                           window=5)])
    [ev] = risk_events(res)
    assert ev["volatility"] == pytest.approx(sigma, rel=1e-12)
    assert ev["allowed_qty"] * C[6] == pytest.approx(10.0 / sigma, rel=1e-12)


# -- resting orders: max_correlation and risk_per_trade screen them too ---------------------------
def test_max_correlation_drops_resting_orders_that_would_open_a_correlated_asset() -> None:
    import numpy as np

    md = market(A=A, B=B, C=C)
    # A held; at bar 6 a buy limit in B (moves with A) and one in C (does not), and a limit adding to A
    steps = {0: lambda ctx: ctx.order("A", 2.0),
             6: lambda ctx: ctx.place_limits(np.array([1, 2, 0]), np.array([3.0, 4.0, 1.0]),
                                             np.array([50.0, 20.0, 100.0]))}
    res = run(md, steps, [R.MaxCorrelation(threshold=0.8, window=6)])
    [ev] = risk_events(res)
    assert (ev["symbol"], ev["requested_qty"], ev["allowed_qty"]) == ("B", 3.0, 0.0)
    assert ev["correlated_with"] == "A"
    assert ev["correlation"] == pytest.approx(abs(statistics.correlation(rets(A), rets(B))), abs=1e-12)
    resting = res.orders[res.orders["status"] == "open"]
    assert sorted(resting["symbol"]) == ["A", "C"]          # the C level and the add-on to A rest


def test_risk_per_trade_caps_a_new_assets_resting_levels_together() -> None:
    import numpy as np

    md = market(**FLAT)
    # 10% of 1000 = 100 of new position in A: buy levels 4 @ 10, 4 @ 9, 4 @ 8, 4 @ 7 add up to
    # 40, 76, 108 -> the third is cut to the 24 left (3 units), the fourth dropped; a sell above is its
    # own side (40 of 100: kept); B is held, so its level passes whole
    steps = {0: lambda ctx: ctx.order("B", 1.0),
             1: lambda ctx: ctx.place_limits(np.array([0, 0, 0, 0, 0, 1]),
                                             np.array([4.0, 4.0, 4.0, 4.0, -4.0, 50.0]),
                                             np.array([10.0, 9.0, 8.0, 7.0, 11.0, 9.0]))}
    res = run(md, steps, [R.RiskPerTrade(percent=10)], allow_short=True, leverage=2.0)
    evs = risk_events(res)
    assert [(e["symbol"], e["requested_qty"], e["allowed_qty"]) for e in evs] == [
        ("A", 4.0, pytest.approx(3.0)), ("A", 4.0, 0.0)]
    assert all(e["base_notional"] == pytest.approx(100.0, rel=1e-12) for e in evs)
    placed = res.orders[res.orders["timestamp"] == res.equity.index[1]]
    assert sorted(zip(placed["symbol"], placed["qty"], strict=True)) == [
        ("A", -4.0), ("A", pytest.approx(3.0)), ("A", 4.0), ("A", 4.0), ("B", 50.0)]
