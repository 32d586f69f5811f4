"""mean_reversion: z-score entries and exits, exact bracket levels, per-asset parameters and file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import multifolio as mf
from multifolio.strategies.mean_reversion import MeanReversion, zscore
from multifolio.strategies.registry import STRATEGIES


def approx(x):
    return pytest.approx(x, rel=1e-12, abs=1e-9)


def _data(**closes: list[float]) -> mf.MarketData:
    n = len(next(iter(closes.values())))
    idx = pd.date_range("2024-03-04", periods=n, freq="D", tz="UTC")
    return mf.MarketData.from_frames(pd.DataFrame(closes, index=idx))


# closes 10, 11, 10, 11, 8, 9.5, 10.5, 10: window 3
#   bar 4: window (10, 11, 8): mean 29/3, population std sqrt(14/9) = 1.2472 -> z = -1.3363 < -1 -> buy
#   bar 5: (11, 8, 9.5): mean 9.5, z = 0 >= -0.25 -> exit
CLOSES = [10.0, 11.0, 10.0, 11.0, 8.0, 9.5, 10.5, 10.0]


def test_zscore_by_hand():
    z = zscore(np.array(CLOSES)[:, None], 3)[:, 0]
    assert np.isnan(z[:2]).all()
    assert z[4] == approx((8 - 29 / 3) / np.sqrt(14 / 9))
    assert z[5] == approx(0.0)


def test_long_entry_and_exit_with_exact_bracket_levels():
    data = _data(A=CLOSES)
    strat = MeanReversion(window=3, entry_z=1.0, exit_z=0.25, side="long", weight=0.5,
                          stop_loss_pct=0.05, take_profit_pct=0.10)
    res = mf.backtest(data, strat, cash=1_000.0, execution="close", close_at_end=False)
    # bar 4: buy notional 0.5 x 1,000 = 500 at 8 -> 62.5; SL 8 x 0.95 = 7.6, TP 8 x 1.1 = 8.8.
    # bar 5: z = 0 -> close 62.5 at 9.5: pnl 62.5 x 1.5 = 93.75; the bracket is cancelled.
    f = res.fills
    assert [data.index.get_loc(t) for t in f["timestamp"]] == [4, 5]
    assert f["qty"].tolist() == [approx(62.5), approx(-62.5)]
    assert res.trades["pnl"].tolist() == [approx(93.75)]


def test_short_side_and_the_stop_loss_level_fills():
    data = mf.MarketData.from_frames(
        pd.DataFrame({"A": [10.0, 9.0, 10.0, 9.0, 12.0, 12.0]},
                     index=pd.date_range("2024-03-04", periods=6, freq="D", tz="UTC")),
        open=pd.DataFrame({"A": [10.0, 9.0, 10.0, 9.0, 12.0, 12.2]},
                          index=pd.date_range("2024-03-04", periods=6, freq="D", tz="UTC")),
        high=pd.DataFrame({"A": [10.0, 9.0, 10.0, 9.0, 12.0, 13.5]},
                          index=pd.date_range("2024-03-04", periods=6, freq="D", tz="UTC")))
    strat = MeanReversion(window=3, entry_z=1.0, exit_z=0.0, side="short", weight=0.6, stop_loss_pct=0.1)
    res = mf.backtest(data, strat, cash=1_000.0, execution="next_open", allow_short=True,
                      close_at_end=False)
    # bar 4: window (10, 9, 12): mean 31/3, z = (12 - 31/3)/std > 1 -> short 600 notional, SL at
    #        12 x 1.1 = 13.2 (from the decision's close). bar 5: sell at the open 12.2 -> qty 600/12.2;
    #        the SL is live on that bar (filled at the open): high 13.5 >= 13.2 -> buy back at 13.2.
    f = res.fills
    assert f["reason"].astype(str).tolist() == ["signal", "stop_loss"]
    assert f["price"].tolist() == [approx(12.2), approx(13.2)]
    q = 600 / 12.2
    assert res.trades["pnl"].tolist() == [approx(q * (12.2 - 13.2))]


def test_per_asset_file_and_overrides(tmp_path: Path):
    path = tmp_path / "tuned.json"
    path.write_text(json.dumps({"B": {"entry_z": 5.0}, "A": {"side": "short"}}))
    s = MeanReversion(window=3, entry_z=1.0, exit_z=0.25, per_asset_file=str(path),
                      per_asset={"A": {"side": "long"}})
    assert s.per_asset["B"]["entry_z"] == 5.0 and s.per_asset["A"]["side"] == "long"
    data = _data(A=CLOSES, B=CLOSES)
    res = mf.backtest(data, s, cash=1_000.0, execution="close", close_at_end=False)
    assert set(res.fills["symbol"].astype(str)) == {"A"}       # B's entry_z 5 is never reached
    with pytest.raises(ValueError, match="unknown parameter"):
        MeanReversion(per_asset={"A": {"nope": 1}})
    with pytest.raises(ValueError, match="cannot read"):
        MeanReversion(per_asset_file=str(tmp_path / "missing.json"))
    with pytest.raises(ValueError, match="exit_z"):
        MeanReversion(entry_z=1.0, exit_z=2.0)


def test_registered():
    assert STRATEGIES["mean_reversion"] is MeanReversion
    assert "per_asset_file" in MeanReversion.FILE_PARAMS
