"""GridATR on synthetic candles: levels, sizes, warm-up, exits, filled-level counting, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import multifolio as mf
from multifolio.data import MarketData
from multifolio.strategies.grid_atr import PARAMS, GridATR
from multifolio.strategies.indicators import atr, sma


def candles(close: np.ndarray, wick: float = 0.002, start: str = "2024-01-01") -> MarketData:
    """Hourly OHLC from a T x N close path: open = previous close, wicks a fraction beyond the body."""
    close = np.asarray(close, dtype=np.float64)
    if close.ndim == 1:
        close = close[:, None]
    open_ = np.vstack([close[:1], close[:-1]])
    high = np.maximum(open_, close) * (1.0 + wick)
    low = np.minimum(open_, close) * (1.0 - wick)
    idx = pd.date_range(start, periods=len(close), freq="h", tz="UTC")
    cols = [f"A{j}" for j in range(close.shape[1])]
    frame = lambda a: pd.DataFrame(a, index=idx, columns=cols)  # noqa: E731
    return MarketData.from_frames(close=frame(close), open=frame(open_), high=frame(high), low=frame(low))


def wiggle(n: int, level: float = 100.0, amp: float = 0.5) -> np.ndarray:
    """A price that alternates around ``level`` (non-zero ATR, centre at ``level``)."""
    return level + amp * np.where(np.arange(n) % 2 == 0, 1.0, -1.0)


def dip_then(n_warm: int, after: np.ndarray, level: float = 100.0) -> np.ndarray:
    return np.concatenate([wiggle(n_warm, level), after])


SMALL = dict(ma_period=10, atr_period=5, atr_multiplier_start=1.0, atr_multiplier_step=0.5, num_levels=3,
             leverage=1.0, sl_percent=10.0)


def run(md: MarketData, strategy: GridATR, **kw):
    settings = dict(cash=10_000.0, leverage=2.0)
    settings.update(kw)
    return mf.backtest(md, strategy, **settings)


# -- parameters --------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad, name", [
    ({"ma_period": 0}, "ma_period"), ({"atr_period": 2.5}, "atr_period"), ({"num_levels": -1}, "num_levels"),
    ({"atr_multiplier_start": 0}, "atr_multiplier_start"), ({"atr_multiplier_step": -0.1},
                                                             "atr_multiplier_step"),
    ({"leverage": 0}, "leverage"), ({"sides": "up"}, "sides"), ({"sl_percent": 100}, "sl_percent"),
    ({"sl_percent": "x"}, "sl_percent"), ({"per_asset": {"A0": {"num_levels": 0}}}, "num_levels for 'A0'"),
    ({"per_asset": {"A0": {"levels": 3}}}, r"unknown parameter\(s\) \['levels'\]"),
    ({"budget_weights": {"A0": -1}}, "budget_weights"), ({"budget_weights": {"A0": 0}}, "budget_weights"),
])
def test_bad_parameters_raise_naming_the_parameter(bad, name):
    with pytest.raises(ValueError, match=name):
        GridATR(**bad)


def test_params_table_lists_every_keyword():
    import inspect

    sig = inspect.signature(GridATR).parameters
    assert set(PARAMS) == set(sig)
    for name, (typ, default, doc) in PARAMS.items():
        assert isinstance(typ, type) and isinstance(doc, str) and doc
        assert sig[name].default == default, name


def test_budgets_split_capital_equally_or_by_weights():
    assert GridATR().budgets(["A", "B"], 10_000.0).tolist() == [5000.0, 5000.0]
    g = GridATR(budget_weights={"A": 1, "B": 3, "Z": 5})  # Z is not in this run: ignored
    assert g.budgets(["A", "B"], 10_000.0).tolist() == [2500.0, 7500.0]


# -- behaviour on the engine -------------------------------------------------------------------------

def test_flat_prices_place_nothing_and_keep_equity():
    md = candles(np.full((200, 2), 50.0), wick=0.0)
    res = run(md, GridATR(**SMALL))
    assert len(res.fills) == 0 and len(res.trades) == 0
    np.testing.assert_array_equal(res.equity.to_numpy(), 10_000.0)
    assert (res.snapshots["n_filled_levels"] == 0).all()


def test_fills_happen_at_the_level_prices_of_the_previous_bar_with_budget_over_levels_size():
    rng = np.random.default_rng(3)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, size=(400, 2)), axis=0))
    md = candles(close)
    g = GridATR(**{**SMALL, "leverage": 1.5, "sl_percent": None})
    res = run(md, g, leverage=3.0)
    centre = sma(md.close, 10)
    spacing = atr(md.high, md.low, md.close, 5)
    buys = res.fills[(res.fills["qty"] > 0) & (res.fills["reason"] == "grid")]
    assert len(buys) > 20
    offsets = np.array([1.0, 1.5, 2.0])
    level_notional = 10_000.0 / 2 / 3 * 1.5  # budget = capital / N, split over the levels, x leverage
    pos_of = {s: j for j, s in enumerate(md.symbols)}
    for row in buys.itertuples():
        t = md.index.get_loc(row.timestamp)
        j = pos_of[row.symbol]
        levels = centre[t - 1, j] - spacing[t - 1, j] * offsets  # placed at the close of t-1
        k = int(np.argmin(np.abs(row.qty * levels - level_notional)))
        # the order's quantity is notional / level price; it fills at the level or, on a gap, at the open
        assert row.qty == pytest.approx(level_notional / levels[k], rel=1e-9)
        if md.open[t, j] <= levels[k]:
            assert row.base_price == pytest.approx(md.open[t, j])
        else:
            assert row.base_price == pytest.approx(levels[k])
            assert md.low[t, j] <= levels[k]


def test_nothing_is_placed_before_the_indicators_are_warm():
    md = candles(dip_then(0, np.r_[np.linspace(100, 80, 30), np.full(30, 80.0) + wiggle(30, 0, 0.3)]))
    res = run(md, GridATR(**{**SMALL, "ma_period": 25}))
    assert len(res.fills) > 0
    # SMA(25) is warm from bar 24; orders placed then are active from bar 25
    assert res.fills["timestamp"].min() >= md.index[25]


def test_a_dip_fills_every_level_then_the_return_to_the_centre_takes_profit():
    after = np.r_[[99.0, 97.0, 95.0, 95.2], np.linspace(96, 101, 6), wiggle(10, 101.0, 0.3)]
    md = candles(dip_then(40, after))
    g = GridATR(**SMALL)
    res = run(md, g)
    entries = res.fills[res.fills["reason"] == "grid"]
    assert len(entries) == 3 and (entries["qty"] > 0).all()
    assert res.snapshots["n_filled_levels"].max() == 3
    exits = res.fills[res.fills["reason"] == "take_profit"]
    assert len(exits) == 1
    assert exits["qty"].iloc[0] == pytest.approx(-entries["qty"].sum())
    # the exit is decided on the first close at or above the centre and fills at the next open
    centre = sma(md.close, 10)[:, 0]
    t_exit = md.index.get_loc(exits["timestamp"].iloc[0])
    t_entry = md.index.get_loc(entries["timestamp"].max())
    above = np.flatnonzero(md.close[t_entry:, 0] >= centre[t_entry:])[0] + t_entry
    assert t_exit == above + 1
    assert exits["base_price"].iloc[0] == pytest.approx(md.open[t_exit, 0])
    assert res.trades["exit_reason"].tolist() == ["take_profit"]
    assert res.trades["pnl"].iloc[0] > 0
    assert g.peak_filled_levels.tolist() == [3]


def test_a_fall_beyond_sl_percent_below_the_average_entry_stops_out():
    after = np.r_[[99.0, 97.0, 95.0], np.linspace(94, 80, 10), np.full(10, 80.0) + wiggle(10, 0, 0.2)]
    md = candles(dip_then(40, after))
    res = run(md, GridATR(**SMALL))
    entries = res.fills[(res.fills["reason"] == "grid") & (res.fills.index < res.fills.index.max())]
    stops = res.fills[res.fills["reason"] == "stop_loss"]
    assert len(stops) == 1
    t_stop = md.index.get_loc(stops["timestamp"].iloc[0])
    buys = res.fills[(res.fills["reason"] == "grid") & (res.fills["timestamp"] < stops["timestamp"].iloc[0])]
    avg = float((buys["qty"] * buys["price"]).sum() / buys["qty"].sum())
    # decided at the close of t_stop - 1: the first close at or below avg x (1 - 10%)
    first = np.flatnonzero(md.close[:, 0] <= avg * 0.9)[0]
    assert t_stop == first + 1
    assert stops["qty"].iloc[0] == pytest.approx(-buys["qty"].sum())
    assert len(entries) >= 3


def test_short_side_mirrors_the_long_side():
    up = np.r_[[101.0, 103.0, 105.0, 104.8], np.linspace(104, 99, 6), wiggle(10, 99.0, 0.3)]
    md = candles(dip_then(40, up))
    res = run(md, GridATR(**{**SMALL, "sides": "short"}), allow_short=True)
    entries = res.fills[res.fills["reason"] == "grid"]
    assert len(entries) == 3 and (entries["qty"] < 0).all()
    assert res.trades["direction"].tolist() == ["short"]
    assert res.trades["exit_reason"].tolist() == ["take_profit"]
    assert res.trades["pnl"].iloc[0] > 0


def test_per_asset_overrides_apply_to_their_symbol_only():
    after = np.r_[[99.0, 97.0, 95.0, 93.0, 92.5], np.linspace(93, 101, 6), wiggle(10, 101.0, 0.3)]
    close = np.column_stack([dip_then(40, after), dip_then(40, after)])
    md = candles(close)
    g = GridATR(**SMALL, per_asset={"A1": {"num_levels": 1}})
    res = run(md, g)
    entries = res.fills[res.fills["reason"] == "grid"]
    assert (entries["symbol"] == "A0").sum() == 3
    assert (entries["symbol"] == "A1").sum() == 1
    assert g.peak_filled_levels.tolist() == [3, 1]


def test_two_sided_grid_trades_one_side_per_cycle():
    dip = [99.0, 97.0, 95.0, 95.2, *np.linspace(96, 100.5, 5)]
    spike = [101.0, 103.0, 105.0, 104.8, *np.linspace(104, 99.5, 5)]
    md = candles(dip_then(40, np.r_[dip, wiggle(15, 100.0, 0.3), spike, wiggle(15, 100.0, 0.3)]))
    res = run(md, GridATR(**{**SMALL, "sides": "both"}), allow_short=True)
    trades = res.trades
    assert trades["direction"].iloc[0] == "long"          # the dip comes first
    assert {"long", "short"} <= set(trades["direction"])
    assert (trades["exit_reason"] == "take_profit").all()
    entries = res.fills[res.fills["reason"] == "grid"]
    for tr in trades.itertuples():
        # a cycle holds one side only: every level filled during it has the trade's sign
        cycle = entries[(entries["timestamp"] >= tr.entry_time) & (entries["timestamp"] < tr.exit_time)]
        sign = 1.0 if tr.direction == "long" else -1.0
        assert 1 <= len(cycle) <= 3 and (np.sign(cycle["qty"]) == sign).all()
        assert cycle["qty"].abs().sum() == pytest.approx(tr.qty)


def test_a_missing_bar_does_not_switch_the_grid_off():
    after = np.r_[[np.nan, np.nan], [99.0, 97.0, 95.0, 95.2], np.linspace(96, 101, 6), wiggle(10, 101.0, 0.3)]
    close = dip_then(40, after)
    md = candles(close)
    assert not md.tradable[40:42, 0].any()
    res = run(md, GridATR(**SMALL))
    entries = res.fills[res.fills["reason"] == "grid"]
    # the dip right after the gap still fills the grid (placed again on the first bar back)
    assert len(entries) == 3
    assert entries["timestamp"].min() <= md.index[46]
    assert res.trades["exit_reason"].tolist() == ["take_profit"]


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), levels=st.integers(1, 6),
       sides=st.sampled_from(["long", "short", "both"]), lev=st.floats(0.5, 4.0),
       sl=st.one_of(st.none(), st.floats(2.0, 30.0)), fees=st.sampled_from([0.0, 0.001]))
def test_invariants_on_random_markets(seed, levels, sides, lev, sl, fees):
    from multifolio.data.synthetic import synthetic

    md = synthetic(3, 400, seed=seed)
    g = GridATR(ma_period=20, atr_period=10, num_levels=levels, leverage=lev, sides=sides, sl_percent=sl)
    res = run(md, g, leverage=2.0, allow_short=True, fees=fees)
    notional = 10_000.0 / 3 / levels * lev
    grid = res.fills[res.fills["reason"] == "grid"]
    # every level is a limit order of the level notional at its price, filled there or better (lower
    # for a buy, higher for a sell: at the open when the bar gaps through)
    filled_notional = grid["qty"].abs() * grid["base_price"]
    assert (filled_notional[grid["qty"] > 0] <= notional * (1 + 1e-9)).all()
    assert (filled_notional[grid["qty"] < 0] >= notional * (1 - 1e-9)).all()
    if sides == "long":
        assert (grid["qty"] > 0).all()
    if sides == "short":
        assert (grid["qty"] < 0).all()
    # an asset never stacks more than num_levels levels
    assert res.snapshots["n_filled_levels"].max() <= 3 * levels
    assert (res.per_asset["peak_filled_levels"] <= levels).all()
    assert (g.peak_filled_levels <= levels).all()
    # accounting: everything is closed at the end and the trades' PnL is the equity change
    assert (res.positions.iloc[-1] == 0).all()
    assert res.trades["pnl"].sum() == pytest.approx(float(res.equity.iloc[-1]) - 10_000.0, abs=1e-6)
    assert set(res.trades["exit_reason"]) <= {"take_profit", "stop_loss", "end_of_data", "liquidation"}
