"""Walk-forward optimisation: windows, choices, causality, stitching, workers/backends, resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import multifolio as mf
from multifolio.data import MarketData, synthetic
from multifolio.portfolio.spec import AccountSpec, RunSpec
from multifolio.sweep.grid import expand_grid, parse_param
from multifolio.sweep.optimize import walk_forward
from multifolio.sweep.windows import make_windows, parse_duration

GRID = {"num_levels": [2, 4], "atr_multiplier_start": [1.0, 2.0]}


def _data() -> MarketData:
    return synthetic(n_assets=2, n_bars=24 * 30, seed=11, symbols=["AAA", "BBB"])


def _spec() -> RunSpec:
    return RunSpec(strategy="grid_atr", params={"ma_period": 24, "atr_period": 14},
                   account=AccountSpec(capital=2_000.0), warmup_bars=48)


def _wf(data: MarketData | None = None, **kw):  # noqa: ANN202
    opts = {"train": "8d", "test": "5d", "objective": "total_return_pct", "workers": 1, "n_blocks": 4}
    opts.update(kw)
    return walk_forward(mf.run_spec, _spec(), data if data is not None else _data(), GRID, **opts)


@pytest.fixture(scope="module")
def base():  # noqa: ANN201 - one in-process run shared by the tests that compare against it
    return _wf()


def test_windows_roll_or_anchor_and_tile_the_test_spans():
    idx = pd.date_range("2024-01-01", periods=24 * 20, freq="h", tz="UTC")
    ws = make_windows(idx, train="5d", test="3d")
    assert [w.number for w in ws] == [0, 1, 2, 3, 4]
    assert all(w.train_bars == 120 and w.test_bars == 72 for w in ws)
    for a, b in zip(ws, ws[1:], strict=False):
        assert b.test_start == a.test_end + pd.Timedelta(hours=1)      # no gap, no overlap
    assert all(w.train_end < w.test_start for w in ws)
    anchored = make_windows(idx, train="5d", test="3d", anchored=True)
    assert {w.train_start for w in anchored} == {idx[0]}
    assert [w.train_bars for w in anchored] == [120, 192, 264, 336, 408]
    with pytest.raises(ValueError, match="too short"):
        make_windows(idx, train="15d", test="10d")
    assert parse_duration("12h") == pd.Timedelta(hours=12)
    with pytest.raises(ValueError, match="duration"):
        parse_duration("soon")


def test_grid_parsing_and_expansion():
    assert parse_param("n=1:5:2") == ("n", [1, 3, 5])
    assert len(expand_grid({"a": [1, 2, 3], "b": [0.5, 1.0]})) == 6
    with pytest.raises(ValueError, match="NAME=v1"):
        parse_param("n")
    with pytest.raises(ValueError, match="step must be > 0"):
        parse_param("n=1:5:0")


def test_choices_are_the_train_argmax_and_the_test_equity_is_the_pools_run(base):
    data = _data()
    wf = base
    w = wf.windows.iloc[1]
    combos = expand_grid(GRID)
    # portfolio mode: the pool on window 1's train span, every combination, by hand
    train = _spec().replace(symbols=("AAA", "BBB"), start=w["train_start"], end=w["train_end"])
    values = [mf.run_spec(train.replace(params={**_spec().params, **c}), data).metrics["total_return_pct"]
              for c in combos]
    pick = wf.choices[(wf.choices["mode"] == "portfolio") & (wf.choices["window"] == 1)].iloc[0]
    assert pick["combo"] == int(np.argmax(values))
    assert pick["is_objective"] == pytest.approx(max(values))
    # per-asset mode: AAA alone on half the capital
    alone = train.replace(symbols=("AAA",), account=AccountSpec(capital=1_000.0))
    values_a = [mf.run_spec(alone.replace(params={**_spec().params, **c}), data).metrics["total_return_pct"]
                for c in combos]
    pick_a = wf.choices[(wf.choices["mode"] == "per-asset") & (wf.choices["window"] == 1)
                        & (wf.choices["symbol"] == "AAA")].iloc[0]
    assert pick_a["combo"] == int(np.argmax(values_a))
    # the stitched per-asset curve over window 0's test span is the pool run with the chosen per_asset
    w0 = wf.windows.iloc[0]
    chosen = wf.choices[(wf.choices["mode"] == "per-asset") & (wf.choices["window"] == 0)]
    per_asset = {r["symbol"]: combos[r["combo"]] for _, r in chosen.iterrows()}
    test = _spec().replace(symbols=("AAA", "BBB"), per_asset=per_asset, start=w0["test_start"],
                           end=w0["test_end"])
    direct = mf.run_spec(test, data).equity
    stitched = wf.equity["per-asset"].loc[w0["test_start"]:w0["test_end"]]
    np.testing.assert_allclose(stitched.to_numpy(), direct.to_numpy())
    # later spans continue from where the previous one ended
    s = wf.equity["portfolio"]
    final = s.iloc[-1] / wf.capital - 1
    assert wf.summary["portfolio"]["oos_return_pct"] == pytest.approx(final * 100)
    assert set(wf.table["mode"]) == {"per-asset", "portfolio"}
    assert wf.table["pbo"].between(0, 1).all() and wf.table["dsr"].between(0, 1).all()


def test_windows_are_causal_prices_after_a_window_do_not_change_its_choice(base):
    data = _data()
    cut = base.windows.iloc[0]["test_end"]
    after = data.index > cut
    rng = np.random.default_rng(5)
    factor = np.where(after[:, None], rng.uniform(0.5, 1.5, size=data.close.shape), 1.0)
    frames = {f: pd.DataFrame(getattr(data, f) * factor, index=data.index, columns=data.symbols)
              for f in ("open", "high", "low", "close")}
    frames["high"] = np.maximum(frames["high"], np.maximum(frames["open"], frames["close"]))
    frames["low"] = np.minimum(frames["low"], np.minimum(frames["open"], frames["close"]))
    perturbed = MarketData.from_frames(**frames)
    other = _wf(perturbed)
    first = ["mode", "window", "symbol", "combo", "is_objective"]
    c0, c1 = (x.choices[x.choices["window"] == 0][first].reset_index(drop=True) for x in (base, other))
    pd.testing.assert_frame_equal(c0, c1)
    span = slice(None, cut)
    pd.testing.assert_frame_equal(base.equity.loc[span], other.equity.loc[span])
    later = base.equity.index > cut                      # the perturbation is real: later spans change
    assert not np.allclose(base.equity[later].to_numpy(), other.equity[later].to_numpy())


def test_constraints_filter_the_candidates():
    free = _wf(mode="portfolio")
    strict = _wf(mode="portfolio", constraints=["max_drawdown_pct<=0"])   # nothing can meet it
    assert not strict.choices["constraints_met"].any()
    pd.testing.assert_series_equal(free.choices["combo"], strict.choices["combo"])  # fallback: best anyway
    loose = _wf(mode="portfolio", constraints=["max_drawdown_pct<=100"])
    assert loose.choices["constraints_met"].all()


def test_same_result_with_one_and_two_workers_processes_and_dask(base):
    one = base
    two = _wf(workers=2)
    pd.testing.assert_frame_equal(one.choices, two.choices)
    pd.testing.assert_frame_equal(one.equity, two.equity)
    assert one.evaluations["run"] == two.evaluations["run"]
    # a Dask LocalCluster of two worker processes (kept small: the cluster's start-up dominates)
    local = _wf(mode="portfolio")
    dask = _wf(mode="portfolio", workers=2, backend="dask")
    pd.testing.assert_frame_equal(local.choices, dask.choices)
    pd.testing.assert_frame_equal(local.equity, dask.equity)
    pd.testing.assert_frame_equal(local.equity, one.equity[["portfolio"]])


def test_checkpoint_resume_skips_what_it_holds(base, tmp_path: Path):
    # (the SIGKILL halfway case runs through the command line in test_optimize_cli.py)
    path = str(tmp_path / "wf.duckdb")
    first = _wf(mode="portfolio", checkpoint=path)
    assert first.evaluations["cached"] == 0
    both = _wf(checkpoint=path, resume=True)       # the portfolio runs are found, the rest run
    assert both.evaluations["cached"] == first.evaluations["run"]
    assert both.evaluations["run"] == base.evaluations["run"] - first.evaluations["run"]
    pd.testing.assert_frame_equal(both.choices, base.choices)
    pd.testing.assert_frame_equal(both.equity, base.equity)


def test_api_and_errors():
    data = _data()
    wf = mf.optimize(data, "grid_atr", {"num_levels": [2, 3]}, params={"ma_period": 24}, train="8d",
                     test="5d", mode="per-asset", capital=1_000.0, warmup_bars=24, n_blocks=4)
    assert wf.modes == ("per-asset",) and list(wf.equity.columns) == ["per-asset"]
    block = wf.per_asset_yaml()
    assert "per_asset:" in block and "AAA:" in block and "num_levels:" in block
    with pytest.raises(ValueError, match="per-asset mode needs a strategy with per-asset parameters"):
        mf.optimize(data, "sma_cross", {"fast": [5]}, params={"slow": 20}, train="8d", test="5d",
                    mode="per-asset")
    with pytest.raises(ValueError, match="no parameter combination is valid"):
        mf.optimize(data, "sma_cross", {"fast": [30]}, params={"slow": 20}, train="8d", test="5d",
                    mode="portfolio")
    with pytest.raises(ValueError, match="not a metric"):
        mf.optimize(data, "sma_cross", {"fast": [5]}, params={"slow": 20}, train="8d", test="5d",
                    mode="portfolio", objective="nonsense")
