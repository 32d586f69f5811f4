"""Instrument specs in the YAML config (``instruments:``, ``instruments_file:``, ``account_currency``) and
the FX example (issue 15): mean reversion on the fx_hourly sample with lots, a JPY-quoted CFD, swaps
and brackets."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from multifolio.cli.config import ConfigError, load_config, run_config, to_spec
from multifolio.data import samples

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "mean_reversion_fx.yaml"


def test_the_fx_sample_is_an_fx_week_with_a_jpy_cfd():
    md = samples.fx_hourly(days=21)
    assert md.symbols == list(samples.FX_SYMBOLS)
    assert samples.FX_QUOTES["JP225"] == "JPY" and samples.FX_QUOTES["EURGBP"] == "GBP"
    # no bar from Friday 22:00 to Sunday 22:00 UTC
    wd, hr = md.index.day_of_week, md.index.hour
    assert not ((wd == 5) | ((wd == 4) & (hr >= 22)) | ((wd == 6) & (hr < 22))).any()
    # the cross is the ratio of its legs (to its 5 decimals)
    j = md.symbols.index
    np.testing.assert_allclose(md.close[:, j("EURGBP")], md.close[:, j("EURUSD")] / md.close[:, j("GBPUSD")],
                               atol=2e-5)    # each leg on its 5 decimals
    assert (md.high >= np.maximum(md.open, md.close)).all()
    assert (md.low <= np.minimum(md.open, md.close)).all()
    np.testing.assert_array_equal(samples.fx_hourly(days=21).close, md.close)     # seeded
    assert "spread" in md.fields


def test_the_fx_example_runs_and_its_equity_is_cash_plus_converted_positions():
    cfg = load_config(EXAMPLE)
    spec = to_spec(cfg)
    assert spec.account.instruments["USDJPY"] == {"contract_size": 100_000.0, "qty_step": 0.01, "tick": 0.001,
                                                  "quote_currency": "JPY"}
    res = run_config(cfg, days=30)
    md = samples.fx_hourly().slice(res.equity.index[0], res.equity.index[-1])
    assert len(res.trades) > 0
    assert set(res.financing["kind"].astype(str)) <= {"swap"}
    assert res.snapshots["financing_paid"].iloc[-1] != 0
    lots = res.fills["qty"].abs()
    on_step = np.abs(lots / 0.01 - np.round(lots / 0.01)) < 1e-6
    jp = res.fills["symbol"] == "JP225"
    assert on_step[~jp].all() and (np.abs(lots[jp] - np.round(lots[jp])) < 1e-9).all()
    # equity = cash + sum qty x contract size x close x rate (USD per unit of quote currency), every bar
    size = {s: float(v.get("contract_size", 1.0)) for s, v in spec.account.instruments.items()}
    close = md.close
    rate = np.ones_like(close)
    usdjpy, gbpusd = close[:, md.symbols.index("USDJPY")], close[:, md.symbols.index("GBPUSD")]
    for s in ("USDJPY", "JP225"):
        rate[:, md.symbols.index(s)] = 1.0 / usdjpy
    rate[:, md.symbols.index("EURGBP")] = gbpusd
    mult = rate * np.array([size[s] for s in md.symbols])
    held = res.positions[md.symbols].to_numpy()
    value = np.nansum(held * close * mult, axis=1)
    np.testing.assert_allclose(res.equity.to_numpy(), res.snapshots["cash"].to_numpy() + value,
                               rtol=1e-12, atol=1e-6)


@pytest.fixture
def write(tmp_path: Path):
    def make(body: str, name: str = "run.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(body))
        return path

    return make


BASE = """
data: {sample: fx_hourly, symbols: [EURUSD, USDJPY, JP225], days: 10, warmup_bars: 60}
capital: 10000
leverage: 30
allow_short: true
strategy: {name: mean_reversion, params: {window: 24, entry_z: 1.5, exit_z: 0.2, weight: 1.0}}
"""


def test_an_instruments_file_next_to_the_config_equals_the_inline_section(write, tmp_path: Path):
    specs = {"EURUSD": {"contract_size": 100000, "qty_step": 0.01},
             "USDJPY": {"contract_size": 100000, "qty_step": 0.01, "quote_currency": "JPY"},
             "JP225": {"margin_rate": 0.05, "quote_currency": "JPY"}}
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "fx.json").write_text(json.dumps(specs))
    from_file = load_config(write(BASE + "instruments_file: specs/fx.json\n", "file.yaml"))
    inline = load_config(write(BASE + "instruments: " + json.dumps(specs) + "\n", "inline.yaml"))
    assert to_spec(from_file).account == to_spec(inline).account
    a, b = run_config(from_file), run_config(inline)
    np.testing.assert_array_equal(a.equity.to_numpy(), b.equity.to_numpy())
    assert len(a.fills) > 0


def test_a_config_without_the_conversion_series_names_it(write):
    body = BASE.replace("[EURUSD, USDJPY, JP225]", "[EURUSD, JP225]") + \
        "instruments: {JP225: {quote_currency: JPY}}\n"
    with pytest.raises(ValueError, match="USDJPY"):
        run_config(load_config(write(body)))


@pytest.mark.parametrize("line, message", [
    ("instruments: {EURUSD: {contract_size: 0}}", "contract_size"),
    ("instruments: {EURUSD: {lots: 2}}", "lots"),
    ("instruments: {EURUSD: {leverage: 10, margin_rate: 0.1}}", "not both"),
    ("instruments_file: nowhere.json", "instruments_file not found"),
])
def test_bad_instrument_settings_are_named(write, line: str, message: str):
    with pytest.raises(ConfigError, match=message):
        load_config(write(BASE + line + "\n"))
