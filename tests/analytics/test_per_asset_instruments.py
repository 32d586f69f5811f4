"""Per-asset PnL and turnover of lot-sized and converted instruments add up to the account's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from multifolio.cli.config import load_config, run_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mean_reversion_fx.yaml"


def test_fx_example_per_asset_pnl_sums_to_the_portfolio_pnl() -> None:
    res = run_config(load_config(EXAMPLE), days=60)
    table = res.per_asset
    fills = res.fills
    # the fills' values carry the contract size (lots of 100,000) and the JPY / GBP conversion
    assert not np.allclose(fills["value"], fills["qty"] * fills["price"])
    pnl = float(res.equity.iloc[-1]) - res.initial_capital
    assert float(table["pnl"].sum()) == pytest.approx(pnl, abs=1e-6 * res.initial_capital)
    assert float(table["traded_notional"].sum()) == pytest.approx(float(fills["value"].abs().sum()))
    assert res.metrics["traded_notional"] == pytest.approx(float(fills["value"].abs().sum()))
    # per asset, the realized PnL of its fills net of fees and financing
    fin = res.financing.groupby("symbol", observed=True)["amount"].sum() if len(res.financing) else None
    for sym, row in table.iterrows():
        f = fills[fills["symbol"] == sym]
        expected = float((f["realized_pnl"] - f["fee"]).sum())
        if fin is not None and sym in fin.index:
            expected += float(fin[sym])
        assert row["pnl"] == pytest.approx(expected, abs=1e-6)
