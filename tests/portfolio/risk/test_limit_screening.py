"""Rules that act on new exposure also screen resting orders (``pre_limits``): a grid's limit orders are
potential new exposure at their levels. Each rule on a constructed market where it must fire on a
grid's limits and one where it must not, against hand figures; the quantity booked is the one allowed.
"""

from __future__ import annotations

import statistics

import numpy as np
import pytest
from risk_kit import market, risk_events, run

from multifolio.portfolio import risk as R

A = [100.0, 101.0, 99.0, 102.0, 104.0, 103.0, 105.0]
B = [50.0, 50.6, 49.4, 51.2, 52.1, 51.4, 52.6]        # moves with A
C = [20.0, 20.3, 20.1, 19.8, 20.2, 20.5, 20.4]        # does not
FLAT = dict(A=[10.0] * 4, B=[10.0] * 4, C=[10.0] * 4)


def rets(p: list[float]) -> list[float]:
    return [p[k] / p[k - 1] - 1.0 for k in range(1, len(p))]


def limits(*orders: tuple[int, float, float]):
    """A step placing resting limits (asset index, signed quantity, level) in one call."""
    a, q, p = (np.array(x) for x in zip(*orders, strict=True))
    return lambda ctx: ctx.place_limits(a.astype(np.int64), q.astype(float), p.astype(float))


def booked(res, symbol: str) -> list[float]:
    """Quantities of the resting limit orders of ``symbol`` still open at the end, in id order."""
    o = res.orders
    o = o[(o["symbol"] == symbol) & (o["kind"] == "limit")].sort_values("order_id")
    return o["qty"].tolist()


# -- correlation_sizing ---------------------------------------------------------------------------
def test_correlation_sizing_cuts_a_grid_buy_correlated_with_the_book() -> None:
    c = abs(statistics.correlation(rets(A), rets(B)))
    factor = 1.0 - 0.5 * (c - 0.7) / (1.0 - 0.7)
    md = market(A=A, B=B, C=C)
    # A held; a grid buys B and C below the market: B moves with A and is cut, C passes
    res = run(md, {0: lambda ctx: ctx.order("A", 2.0), 6: limits((1, 4.0, 45.0), (2, 3.0, 18.0))},
              [R.CorrelationSizing(window=6, threshold=0.7, max_reduction=0.5)])
    [ev] = risk_events(res)
    assert (ev["symbol"], ev["correlated_with"], ev["requested_qty"]) == ("B", "A", 4.0)
    assert ev["correlation"] == pytest.approx(c, abs=1e-12)
    assert ev["factor"] == pytest.approx(factor, abs=1e-12)
    assert booked(res, "B") == [pytest.approx(4.0 * factor, abs=1e-12)]
    assert booked(res, "C") == [3.0]


def test_correlation_sizing_leaves_uncorrelated_and_closing_limits_alone() -> None:
    md = market(A=A, B=B, C=C)
    # C does not move with A; the sell of A only closes the position held
    res = run(md, {0: lambda ctx: ctx.order("A", 2.0), 6: limits((2, 3.0, 18.0), (0, -2.0, 110.0))},
              [R.CorrelationSizing(window=6, threshold=0.7)])
    assert risk_events(res) == []
    assert booked(res, "C") == [3.0] and booked(res, "A") == [-2.0]


# -- drawdown_scaling -----------------------------------------------------------------------------
DD = [100.0, 100.0, 90.0, 80.0, 80.0]


def test_drawdown_scaling_scales_the_opening_part_of_grid_limits() -> None:
    md = market(A=DD)
    # 5 held from bar 0; equity 1000 at the peak, 900 at bar 3: drawdown 10%,
    # factor 1 - 0.8 x (10 - 5) / (15 - 5) = 0.6. The grid: a buy of 2 (all opening) -> 1.2; a sell
    # of 3 closes 3 of the 5 held (passes); a sell of 7 closes the other 2 and opens 5 short -> 2 + 3
    steps = {0: lambda ctx: ctx.order("A", 5.0),
             3: limits((0, 2.0, 70.0), (0, -3.0, 95.0), (0, -7.0, 96.0))}
    res = run(md, steps, [R.DrawdownScaling(start=5, end=15, min_factor=0.2)])
    evs = risk_events(res)
    assert [(e["requested_qty"], e["allowed_qty"]) for e in evs] == [
        (2.0, pytest.approx(1.2, rel=1e-12)), (-7.0, pytest.approx(-5.0, rel=1e-12))]
    assert all(e["factor"] == pytest.approx(0.6, rel=1e-12) for e in evs)
    assert evs[0]["drawdown_pct"] == pytest.approx(10.0, rel=1e-12)
    assert booked(res, "A") == [pytest.approx(1.2), -3.0, pytest.approx(-5.0)]


def test_drawdown_scaling_leaves_limits_alone_above_its_start() -> None:
    md = market(A=DD)
    steps = {0: lambda ctx: ctx.order("A", 5.0), 3: limits((0, 2.0, 70.0), (0, -7.0, 96.0))}
    res = run(md, steps, [R.DrawdownScaling(start=12, end=30)])
    assert risk_events(res) == [] and booked(res, "A") == [2.0, -7.0]


# -- var_limit ------------------------------------------------------------------------------------
VAR_RETS = [-0.10, 0.02, 0.01, -0.05, 0.03]


def _var_market() -> dict[str, list[float]]:
    a = [100.0]
    for r in VAR_RETS:
        a.append(a[-1] * (1 + r))
    return dict(A=a, Z=[10.0] * len(a))


def test_var_limit_scales_grid_buys_valued_at_their_levels() -> None:
    md = market(**_var_market())
    # 80% VaR of the 5 scenarios: 6% of the position value. Two buys of 5 at 90 and 5 at 80 are
    # worth 850 at their levels: VaR 51 > 30 (3% of 1000) -> both scaled by k = 500 / 850
    res = run(md, {5: limits((0, 5.0, 90.0), (0, 5.0, 80.0))},
              [R.VarLimit(limit=3.0, confidence=80.0, window=5)])
    evs = risk_events(res)
    k = 500.0 / 850.0
    assert [e["allowed_qty"] for e in evs] == [pytest.approx(5.0 * k, abs=1e-7)] * 2
    assert evs[0]["var_before"] == pytest.approx(0.06 * 850.0, rel=1e-12)
    assert evs[0]["var_after"] <= 30.0 + 1e-9
    assert booked(res, "A") == [pytest.approx(5.0 * k, abs=1e-7)] * 2


def test_var_limit_passes_grid_limits_within_the_limit() -> None:
    md = market(**_var_market())
    res = run(md, {5: limits((0, 5.0, 90.0), (0, 5.0, 80.0))},
              [R.VarLimit(limit=6.0, confidence=80.0, window=5)])          # VaR 51 <= 60
    assert risk_events(res) == [] and booked(res, "A") == [5.0, 5.0]


# -- max_weight -----------------------------------------------------------------------------------
def test_max_weight_caps_the_position_a_grid_would_build() -> None:
    md = market(**FLAT)
    # 20 A held (cash 800, equity 1000); cap 30% = 300. Buys of A add up: 30 at 9.5 is 285 (passes),
    # 40 at 9 is 360 -> 300 / 9 = 33.33 units at most: +3.33. A short of 50 B at 11 (550) -> 300 / 11
    steps = {0: lambda ctx: ctx.order("A", 20.0),
             1: limits((0, 10.0, 9.5), (0, 10.0, 9.0), (1, -50.0, 11.0))}
    res = run(md, steps, [R.MaxWeight(limit=30)])
    got = [(e["symbol"], e["requested_qty"], e["allowed_qty"]) for e in risk_events(res)]
    assert got == [("A", 10.0, pytest.approx(300.0 / 9.0 - 30.0, rel=1e-12)),
                   ("B", -50.0, pytest.approx(-300.0 / 11.0, rel=1e-12))]
    assert booked(res, "A") == [10.0, pytest.approx(300.0 / 9.0 - 30.0)]


def test_max_weight_passes_a_grid_within_the_cap() -> None:
    md = market(**FLAT)
    steps = {0: lambda ctx: ctx.order("A", 20.0),
             1: limits((0, 10.0, 9.5), (0, 10.0, 9.0), (1, -50.0, 11.0))}
    res = run(md, steps, [R.MaxWeight(limit=60)])                          # 360 and 550 <= 600
    assert risk_events(res) == []


# -- max_gross_leverage ---------------------------------------------------------------------------
def test_max_gross_leverage_scales_grid_limits_together() -> None:
    md = market(**FLAT)
    # 20 A held (200); the sell of 5 A only closes (150 left); the new legs are 30 B at 9 and 30 C
    # short at 11: 600 at their levels; cap 0.5 x 1000 -> k = (500 - 150) / 600
    steps = {0: lambda ctx: ctx.order("A", 20.0),
             1: limits((1, 30.0, 9.0), (2, -30.0, 11.0), (0, -5.0, 10.5))}
    res = run(md, steps, [R.MaxGrossLeverage(limit=0.5)])
    k = 350.0 / 600.0
    evs = risk_events(res)
    assert [(e["symbol"], e["allowed_qty"]) for e in evs] == [("B", pytest.approx(30 * k, rel=1e-12)),
                                                              ("C", pytest.approx(-30 * k, rel=1e-12))]
    assert evs[0]["gross_after"] == pytest.approx(0.5, rel=1e-12)
    assert booked(res, "A") == [-5.0]


def test_max_gross_leverage_passes_grid_limits_under_the_cap() -> None:
    md = market(**FLAT)
    steps = {0: lambda ctx: ctx.order("A", 20.0),
             1: limits((1, 30.0, 9.0), (2, -30.0, 11.0), (0, -5.0, 10.5))}
    assert risk_events(run(md, steps, [R.MaxGrossLeverage(limit=1.0)])) == []
