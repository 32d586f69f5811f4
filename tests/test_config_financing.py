"""Financing in the YAML config (issue 15): swaps, borrow, rollover hour, triple day, funding, at the top
level and per portfolio, wired to the same engine settings as ``multifolio.backtest``'s keywords."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

import multifolio as mf
from multifolio.cli.config import ConfigError, load_config, run_config, to_spec
from multifolio.strategies import EqualWeight

# Monday 2024-01-01 .. Thursday 2024-01-04, one bar a day at 00:00 UTC
CSV = """\
timestamp,symbol,open,high,low,close,volume
2024-01-01,A,10,10,10,10,1
2024-01-02,A,11,11,11,11,1
2024-01-03,A,12,12,12,12,1
2024-01-04,A,12,12,12,12,1
2024-01-01,B,20,20,20,20,1
2024-01-02,B,20,20,20,20,1
2024-01-03,B,10,10,10,10,1
2024-01-04,B,10,10,10,10,1
"""


@pytest.fixture
def write(tmp_path: Path):
    (tmp_path / "p.csv").write_text(CSV)

    def make(body: str, name: str = "run.yaml") -> Path:
        path = tmp_path / name
        path.write_text(body)
        return path

    return make


HEAD = """
data: {csv: p.csv, symbols: [A, B], warmup_bars: 0}
capital: 1000
execution: close

"""


def test_swaps_in_the_config_reach_the_spec_and_the_ledger(write, tmp_path: Path) -> None:
    cfg = load_config(write(HEAD + textwrap.dedent("""
        strategy: {name: equal_weight, params: {schedule: daily}}
        leverage: 2
        swap_long: {A: 0.365}
        swap_short: -0.01
        rollover_hour: 21
        triple_swap_day: tuesday
        """)))
    spec = to_spec(cfg)
    acc = spec.account
    assert (acc.swap_long, acc.swap_short, acc.rollover_hour, acc.triple_swap_day) == \
        ({"A": 0.365}, -0.01, 21.0, "tuesday")
    res = run_config(cfg)
    # bar 0 (Mon close): equal weight, 500 of each -> 50 A. Bar 1 (Tue 00:00) is held over Monday's
    # rollover (21:00): 1 day x 0.365 x 50 x 11 (the open) / 365 = 0.55 paid. B has no long swap.
    fin = res.financing
    first = fin.iloc[0]
    assert (first["symbol"], first["kind"], first["days"]) == ("A", "swap", 1.0)
    assert first["amount"] == pytest.approx(-0.365 * 50 * 11 / 365)
    assert set(fin["symbol"]) == {"A"}
    # bar 2 (Wed) is held over Tuesday's rollover: the triple day
    assert fin["days"].tolist()[1] == 3.0
    md = mf.MarketData.read_csv(tmp_path / "p.csv")
    direct = mf.backtest(md, EqualWeight(schedule="daily"), cash=1000.0, execution="close", leverage=2.0,
                         swap_long={"A": 0.365}, swap_short=-0.01, rollover_hour=21,
                         triple_swap_day="tuesday")
    pd.testing.assert_series_equal(res.equity, direct.equity)
    pd.testing.assert_frame_equal(res.financing, direct.financing)
    assert res.info.account.swap_long == {"A": 0.365}


def test_a_portfolio_overrides_the_run_financing(write) -> None:
    cfg = load_config(write(HEAD + textwrap.dedent("""
        swap_long: 0.365
        portfolios:
          - {id: paying, capital: 1000, symbols: [A],
             strategy: {name: equal_weight, params: {schedule: daily}}}
          - {id: free, capital: 1000, symbols: [A], swap_long: 0.0, borrow_rate: 0.02, funding: false,
             strategy: {name: equal_weight, params: {schedule: daily}}}
        """)))
    res = run_config(cfg)
    paying, free = res.portfolios["paying"], res.portfolios["free"]
    # 100 A bought at the first close (10); bar 1 charges 0.365 x 100 x 11 / 365 = 1.1
    assert paying.financing["amount"].iloc[0] == pytest.approx(-1.1)
    assert free.financing.empty
    assert paying.snapshots["financing_paid"].iloc[-1] > 0
    assert free.snapshots["financing_paid"].iloc[-1] == 0


@pytest.mark.parametrize("line, message", [
    ("rollover_hour: 24", "rollover_hour"),
    ("triple_swap_day: sunday", "triple_swap_day"),
    ("funding: 1", "funding"),
    ("borrow_rate: -0.1", "borrow_rate"),
    ("swap_long: {A: .nan}", "swap_long"),
])
def test_bad_financing_settings_are_named(write, line: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(HEAD + "strategy: {name: equal_weight}\n" + line + "\n"))
