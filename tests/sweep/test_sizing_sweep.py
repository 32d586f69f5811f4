"""The capital sizing sweep end to end: a small grid config on CSV candles, run in worker processes and
on a real Dask LocalCluster; every row checked against a direct run of the same configuration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from multifolio.cli.config import load_config, run_config
from multifolio.cli.config import sweep_config as sizing_sweep
from multifolio.cli.main import app
from multifolio.data.synthetic import synthetic
from multifolio.sweep import max_assets_per_capital, summarize_result
from multifolio.sweep.sizing import SIZING_COLUMNS

SYMBOLS = ["AAA", "BBB", "CCC", "DDD"]


@pytest.fixture(scope="module")
def config_path(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sizing")
    md = synthetic(4, 600, seed=17, symbols=SYMBOLS, crash_every_bars=200, crash_depth=0.15)
    frames = []
    for j, s in enumerate(SYMBOLS):
        frames.append(pd.DataFrame({"timestamp": md.index, "symbol": s, "open": md.open[:, j],
                                    "high": md.high[:, j], "low": md.low[:, j], "close": md.close[:, j],
                                    "volume": md.volume[:, j]}))
    pd.concat(frames).to_csv(folder / "candles.csv", index=False)
    # level notional = capital / n / 5 levels x 2 (strategy leverage); with min_notional 30, a capital
    # of 200 gives 40 per level on 2 assets but 20 on 4 (refused), 20000 gives 4000 / 2000.
    (folder / "grid.yaml").write_text(f"""
data:
  csv: candles.csv
  symbols: [{", ".join(SYMBOLS)}]
  warmup_bars: 60
  start: {md.index[60].isoformat()}
capital: 10000
leverage: 3
min_notional: 30
strategy:
  name: grid_atr
  params: {{ma_period: 24, atr_period: 14, num_levels: 5, leverage: 2.0, sl_percent: 8}}
risk:
  - name: kill_switch
    params: {{window: 24, threshold: 10, mode: record}}
""")
    return folder / "grid.yaml"


def test_sweep_rows_match_direct_runs_and_the_sizing_rule(config_path):
    cfg = load_config(config_path)
    table = sizing_sweep(cfg, "200,20000", "2,4", max_dd=30, workers=2)
    assert list(table.columns) == [*SIZING_COLUMNS, "ok"]
    assert table[["capital", "n_assets"]].values.tolist() == [[200, 2], [200, 4], [20000, 2], [20000, 4]]
    for row in table.itertuples(index=False):
        direct = summarize_result(run_config(cfg, capital=row.capital, assets=int(row.n_assets)))
        for key, value in direct.items():
            assert getattr(row, key) == pytest.approx(value, rel=1e-12, abs=1e-12), key
    # 200 / 4 assets / 5 levels x 2 = 20 < 30 of min notional: rejected; 20000 never is
    small = table[table["capital"] == 200].set_index("n_assets")
    big = table[table["capital"] == 20000].set_index("n_assets")
    assert small.loc[4, "rejected_min_notional"] > 0
    assert (big["rejected_min_notional"] == 0).all()
    answer = max_assets_per_capital(table, max_dd=30)
    expected = []
    for cap in (200, 20000):
        sub = table[(table["capital"] == cap) & (table["max_drawdown_pct"] <= 30)
                    & (table["liquidations"] == 0) & (table["rejected_min_notional"] == 0)]
        expected.append(int(sub["n_assets"].max()) if len(sub) else 0)
    assert answer["max_assets"].tolist() == expected
    assert expected[0] < 4


def test_summary_counts_come_from_the_result_ledgers(config_path):
    res = run_config(load_config(config_path), capital=200, assets=4)
    s = summarize_result(res)
    rejected = res.orders[res.orders["status"] == "rejected"]
    assert s["rejected_min_notional"] == int((rejected["reason"] == "min_notional").sum()) > 0
    eq = res.equity.to_numpy()
    peak = np.maximum.accumulate(np.r_[200.0, eq])[1:]
    assert s["max_drawdown_pct"] == pytest.approx(100 * (1 - eq / peak).max())
    assert s["peak_margin_ratio"] == pytest.approx(res.snapshots["margin_used"].max() / 200.0)
    n_ks = int((res.events["kind"] == "kill_switch").sum()) if len(res.events) else 0
    assert s["kill_switch_triggers"] == n_ks


def test_dask_local_cluster_gives_the_same_table(config_path):
    from dask import distributed

    cfg = load_config(config_path)
    expected = sizing_sweep(cfg, [20000], [2, 4], workers=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        got = sizing_sweep(cfg, [20000], [2, 4], backend="dask", client=client)
        # the CLI connects to the same running scheduler by its address
        res = CliRunner().invoke(app, ["sweep", str(config_path), "--capital", "20000", "--n-assets", "2,4",
                                       "--scheduler", cluster.scheduler_address, "--json"])
    pd.testing.assert_frame_equal(got, expected)
    assert res.exit_code == 0, res.output
    runs = json.loads(res.stdout)["runs"]
    assert [r["max_drawdown_pct"] for r in runs] == pytest.approx(expected["max_drawdown_pct"].tolist(),
                                                                  rel=1e-12)
    assert [r["final_equity"] for r in runs] == pytest.approx(expected["final_equity"].tolist(), rel=1e-12)


def test_sweep_command_prints_the_table_and_the_answer(config_path, tmp_path):
    runner = CliRunner()
    out_file = tmp_path / "sweep.json"
    res = runner.invoke(app, ["sweep", str(config_path), "--capital", "200,20000", "--n-assets", "2,4",
                              "--workers", "1", "--json", "--output", str(out_file)])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert [r["n_assets"] for r in payload["runs"]] == [2, 4, 2, 4]
    assert {r["capital"] for r in payload["max_assets"]} == {200.0, 20000.0}
    assert json.loads(out_file.read_text()) == payload

    res = runner.invoke(app, ["sweep", str(config_path), "--capital", "20000", "--n-assets", "2",
                              "--workers", "1"])
    assert res.exit_code == 0
    assert "Sizing sweep" in res.stdout and "capital 20,000:" in res.stdout

    bad = runner.invoke(app, ["sweep", str(config_path), "--n-assets", "2,9", "--workers", "1"])
    assert bad.exit_code == 2
    assert "exceeds the 4 symbols" in bad.output
