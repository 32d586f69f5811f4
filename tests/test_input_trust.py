"""Bad input is named, never misread: config types and bounds, YAML alias bombs, memory-bound
parameters, empty frames, asset indices, date-only period ends (issue "Data you can trust")."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import multifolio as mf
from multifolio.cli.config import ConfigError, load_config
from multifolio.data.market_data import MarketData
from multifolio.engine.strategy import Strategy
from multifolio.strategies import EqualWeight, GridATR

CONFIG = """
data:
  sample: crypto_hourly
  symbols: [BTC/USDT, ETH/USDT]
  days: 5
strategy:
  name: equal_weight
"""


def write(tmp_path: Path, text: str, name: str = "run.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def config_error(tmp_path: Path, extra: str, base: str = CONFIG) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, textwrap.dedent(base).lstrip("\n") + textwrap.dedent(extra).lstrip("\n")))
    return str(info.value)


@pytest.fixture
def cli():
    from typer.testing import CliRunner

    from multifolio.cli.main import app

    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args], catch_exceptions=True)


def close_frame(n: int = 4) -> pd.DataFrame:
    idx = pd.date_range("2024-01-01", periods=n, freq="D", tz="UTC")
    return pd.DataFrame({"A": np.linspace(10, 13, n), "B": np.linspace(20, 17, n)}, index=idx)


# -- item 8: parameters whose memory scales with them ------------------------------------------------
def test_grid_num_levels_has_a_documented_maximum() -> None:
    with pytest.raises(ValueError, match=r"num_levels must be an integer in \[1, 1000\], got 1000000000"):
        GridATR(num_levels=1_000_000_000)
    with pytest.raises(ValueError, match=r"num_levels for 'X' must be an integer in \[1, 1000\]"):
        GridATR(per_asset={"X": {"num_levels": 5000}})
    assert GridATR(num_levels=1000).num_levels == 1000


def test_grid_refuses_arrays_beyond_the_memory_limit(monkeypatch) -> None:
    from multifolio.strategies import grid_atr

    # 1000 levels x 2 assets x 72 bytes per (asset, level) slot = 144,000 bytes (0.14 MiB): over a
    # 100,000-byte limit, under a 200,000-byte one.
    monkeypatch.setattr(grid_atr, "MAX_GRID_BYTES", 100_000)
    with pytest.raises(ValueError, match=r"num_levels=1000 x 2 assets needs about 0\.1 MiB of level "
                                         r"arrays, over the 0\.1 MiB limit"):
        mf.backtest(close_frame(), GridATR(num_levels=1000), cash=1000.0)
    monkeypatch.setattr(grid_atr, "MAX_GRID_BYTES", 200_000)
    res = mf.backtest(close_frame(), GridATR(num_levels=1000, ma_period=2, atr_period=2), cash=1000.0)
    assert len(res.equity) == 4


def test_config_num_levels_too_large_exits_2(tmp_path: Path, cli) -> None:
    path = write(tmp_path, CONFIG.replace("equal_weight", "grid_atr\n  params: {num_levels: 1000000000}"))
    result = cli("run", path)
    assert result.exit_code == 2
    assert "num_levels" in result.stderr and "1000000000" in result.stderr


# -- item 9: YAML alias expansion ("billion laughs") --------------------------------------------------
LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_billion_laughs_is_refused_naming_the_file(tmp_path: Path, cli) -> None:
    path = write(tmp_path, LAUGHS, "laughs.yaml")
    assert len(path.read_bytes()) < 400
    with pytest.raises(ConfigError, match=r"laughs\.yaml: YAML aliases expand to more than 100,000 values"):
        load_config(path)
    result = cli("run", path)
    assert result.exit_code == 2 and "laughs.yaml" in result.stderr and "aliases" in result.stderr


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"rec\.yaml.*refers to itself"):
        load_config(write(tmp_path, "a: &a [1, *a]\n", "rec.yaml"))


def test_ordinary_anchors_and_merge_keys_keep_working(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, """
        data: {sample: crypto_hourly, symbols: [BTC/USDT, ETH/USDT], days: 5}
        strategy:
          name: grid_atr
          params: &defaults {ma_period: 48, num_levels: 5}
          per_asset:
            BTC/USDT:
              <<: *defaults
              num_levels: 6
            ETH/USDT: *defaults
        """))
    assert cfg.strategy.params == {"ma_period": 48, "num_levels": 5}
    assert cfg.strategy.per_asset == {"BTC/USDT": {"ma_period": 48, "num_levels": 6},
                                      "ETH/USDT": {"ma_period": 48, "num_levels": 5}}


# -- item 10: each bad value a pointed error -----------------------------------------------------------
@pytest.mark.parametrize(("extra", "key", "shown"), [
    ("capital: true\n", "capital", "True"),
    ("allow_short: 'no'\n", "allow_short", "'no'"),
    ("allow_short: 1\n", "allow_short", "1"),
    ("maintenance_margin: 1\n", "maintenance_margin", "1"),
    ("crash_pct: true\n", "crash_pct", "True"),
])
def test_config_values_that_were_misread(tmp_path: Path, extra: str, key: str, shown: str) -> None:
    msg = config_error(tmp_path, extra)
    assert f"run.yaml:7: {key}:" in msg and shown in msg


def test_warmup_bars_true_is_not_one(tmp_path: Path) -> None:
    msg = config_error(tmp_path, "", base=CONFIG.replace("days: 5", "days: 5\n  warmup_bars: true"))
    assert "data.warmup_bars" in msg and "True" in msg


def test_days_beyond_the_maximum_is_named(tmp_path: Path, cli) -> None:
    msg = config_error(tmp_path, "", base=CONFIG.replace("days: 5", "days: 1e9"))
    assert "data.days" in msg and "100000" in msg
    result = cli("run", write(tmp_path, CONFIG, "ok.yaml"), "--days", "1e9")
    assert result.exit_code == 2 and "days" in result.stderr and "1e+09" in result.stderr


def test_a_float_written_without_a_dot_is_a_number(tmp_path: Path) -> None:
    # YAML 1.1 reads `1e9` as a string; a config means the number.
    cfg = load_config(write(tmp_path, CONFIG + "fixed_fees: 1e-3\ncapital: 2E4\nfees: {BTC/USDT: 5e-4}\n"))
    assert cfg.fixed_fees == 0.001 and cfg.capital == 20_000.0 and cfg.fees == {"BTC/USDT": 0.0005}
    msg = config_error(tmp_path, "fixed_fees: '1e9x'\n")
    assert "fixed_fees" in msg and "'1e9x'" in msg


def test_schema_margin_bound_matches_the_engine(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, CONFIG + "maintenance_margin: 0.99\n"))
    assert cfg.maintenance_margin == 0.99
    with pytest.raises(ValueError, match=r"maintenance_margin must be in \[0, 1\)"):
        mf.backtest(close_frame(), EqualWeight(), maintenance_margin=1)


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"cash": True}, r"cash must be a number, got True"),
    ({"allow_short": "no"}, r"allow_short must be True or False, got 'no'"),
    ({"close_at_end": 0}, r"close_at_end must be True or False, got 0"),
    ({"risk": [42]}, r"risk\[0\]: risk rule must be a name, a dict or a rule object, got 42"),
])
def test_api_values_that_were_misread(kwargs: dict, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        mf.backtest(close_frame(), EqualWeight(), **kwargs)


class _Closer(Strategy):
    def __init__(self, idx) -> None:
        self.idx = idx

    def on_bar(self, ctx) -> None:
        ctx.close_positions(self.idx)


@pytest.mark.parametrize("idx", [[5], [-1], [0, 2]])
def test_close_positions_checks_asset_indices(idx) -> None:
    with pytest.raises(ValueError, match=rf"close_positions: asset index {max(idx) if max(idx) > 1 else -1} "
                                         r"is not in 0\.\.1"):
        mf.backtest(close_frame(), _Closer(idx))


def test_close_positions_with_valid_indices_closes_those() -> None:
    class BuyThenClose(Strategy):
        def on_bar(self, ctx) -> None:
            if ctx.bar == 0:
                ctx.target_weights(np.array([0.5, 0.5]))
            elif ctx.bar == 1:
                ctx.close_positions(np.array([1]))

    res = mf.backtest(close_frame(), BuyThenClose(), cash=1000.0, close_at_end=False)
    # bar 1: both bought at the open (close-only data: open = close); bar 2: B sold at its open
    assert res.positions["A"].iloc[-1] > 0 and res.positions["B"].iloc[-1] == 0


@pytest.mark.parametrize("run", [
    lambda f: mf.backtest(f, EqualWeight()),
    lambda f: mf.backtest(MarketData.from_frames(f), EqualWeight()),
    lambda f: mf.from_weights(f, f),
])
def test_empty_frames_are_named(run) -> None:
    with pytest.raises(ValueError, match=r"no bars"):
        run(close_frame().iloc[:0])


def test_a_frame_without_columns_is_named() -> None:
    with pytest.raises(ValueError, match=r"no assets"):
        mf.backtest(pd.DataFrame(index=close_frame().index), EqualWeight())


# -- item 15: a date-only end means the whole day, in the API as in the CLI -------------------------------
def test_slice_with_a_date_only_end_includes_that_whole_day() -> None:
    idx = pd.date_range("2024-01-01", periods=24 * 4, freq="h", tz="UTC")
    md = MarketData.from_frames(pd.DataFrame({"A": np.arange(1.0, len(idx) + 1)}, index=idx))
    day = md.slice("2024-01-02", "2024-01-03")
    assert day.index[0] == pd.Timestamp("2024-01-02", tz="UTC")
    assert day.index[-1] == pd.Timestamp("2024-01-03 23:00", tz="UTC")
    assert day.n_bars == 48
    # with a time of day the end is that instant
    assert md.slice("2024-01-02", "2024-01-03 00:00").index[-1] == pd.Timestamp("2024-01-03", tz="UTC")
    assert md.slice(end=pd.Timestamp("2024-01-03")).index[-1] == pd.Timestamp("2024-01-03", tz="UTC")


def test_api_and_config_periods_agree(tmp_path: Path) -> None:
    from multifolio.cli.config import run_config
    from multifolio.data import samples

    period = "start: 2024-01-02\n  end: 2024-01-03\n  warmup_bars: 0"
    path = write(tmp_path, CONFIG.replace("days: 5", period))
    via_config = run_config(load_config(path))
    md = samples.crypto_hourly().select(["BTC/USDT", "ETH/USDT"])
    via_api = mf.backtest(md.slice("2024-01-02", "2024-01-03"), EqualWeight(), cash=10_000.0)
    assert via_config.equity.index.equals(via_api.equity.index)
    assert len(via_api.equity) == 48


def test_store_read_with_a_date_only_end_includes_that_whole_day(tmp_path: Path) -> None:
    from multifolio.data.store import CandleStore

    idx = pd.date_range("2024-01-01", periods=24 * 3, freq="h", tz="UTC")
    md = MarketData.from_frames(pd.DataFrame({"A": np.arange(1.0, len(idx) + 1)}, index=idx))
    with CandleStore(tmp_path / "c.duckdb") as st:
        st.write(md, exchange="x", timeframe="1h")
        assert st.read(["A"], "1h", end="2024-01-02").index[-1] == pd.Timestamp("2024-01-02 23:00", tz="UTC")
        assert st.read(["A"], "1h", end="2024-01-02 00:00").index[-1] == pd.Timestamp("2024-01-02", tz="UTC")
