"""The ``signals`` strategy: decisions from a file, causal fills, sizes from confidence, pointed errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import multifolio as mf
from multifolio.strategies.registry import STRATEGIES
from multifolio.strategies.signals import Signals

IDX = pd.date_range("2024-01-01", periods=6, freq="D", tz="UTC")
OPEN = {"A": [10.0, 11.0, 12.0, 13.0, 14.0, 15.0], "B": [20.0, 21.0, 22.0, 23.0, 24.0, 25.0]}
CLOSE = {"A": [10.5, 11.5, 12.5, 13.5, 14.5, 15.5], "B": [20.5, 21.5, 22.5, 23.5, 24.5, 25.5]}


def _md() -> mf.MarketData:
    return mf.MarketData.from_frames(pd.DataFrame(CLOSE, index=IDX), open=pd.DataFrame(OPEN, index=IDX))


def _write(tmp_path: Path, text: str, name: str = "d.csv") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_decisions_fill_at_the_next_open_never_earlier(tmp_path: Path) -> None:
    path = _write(tmp_path, (
        "timestamp,symbol,action,confidence\n"
        "2024-01-02,A,BUY,60\n"                 # stamped at bar 1: fills at bar 2's open
        "2024-01-03 12:00,B,BUY,\n"             # between bars 2 and 3: fills at bar 3's open
        "2024-01-04,A,HOLD,90\n"
        "2024-01-06,A,SELL,\n"))                # the last bar: never fills
    res = mf.backtest(_md(), Signals(path=path, base_size=10), cash=1_000.0, close_at_end=False)
    f = res.fills
    assert f["timestamp"].tolist() == [IDX[2], IDX[3]]
    assert f["symbol"].tolist() == ["A", "B"]
    assert f["price"].tolist() == [OPEN["A"][2], OPEN["B"][3]]
    # sizes: 10% of equity at the decision x max(0.5, confidence/100), at the decision bar's close
    assert f["qty"].iloc[0] == pytest.approx(0.10 * 0.6 * 1_000.0 / CLOSE["A"][1], rel=1e-12)
    eq2 = res.snapshots["total_equity"].iloc[2]
    assert f["qty"].iloc[1] == pytest.approx(0.10 * 1.0 * eq2 / CLOSE["B"][2], rel=1e-12)
    assert res.positions["A"].iloc[-1] > 0                 # the SELL at the last bar never executed


def test_low_confidence_is_floored_at_half_the_base_size_and_file_sizes_win(tmp_path: Path) -> None:
    path = _write(tmp_path, (
        "timestamp,symbol,action,confidence,size,weight\n"
        "2024-01-01,A,BUY,10,,\n"               # max(0.5, 0.1) = 0.5
        "2024-01-01,B,BUY,90,3,\n"              # size given: 3 units
        "2024-01-03,A,SELL,,,\n"
        "2024-01-04,A,BUY,,,0.25\n"))           # weight given: 25% of equity
    res = mf.backtest(_md(), Signals(path=path, base_size=20), cash=1_000.0, close_at_end=False)
    f = res.fills
    first = f[f["timestamp"] == IDX[1]].set_index("symbol")["qty"]
    assert first["A"] == pytest.approx(0.20 * 0.5 * 1_000.0 / CLOSE["A"][0], rel=1e-12)
    assert first["B"] == 3.0
    sold = f[(f["timestamp"] == IDX[3]) & (f["qty"] < 0)]
    assert sold["qty"].iloc[0] == pytest.approx(-first["A"], rel=1e-12)
    bought = f[(f["timestamp"] == IDX[4]) & (f["qty"] > 0)]
    eq3 = res.snapshots["total_equity"].iloc[3]
    assert bought["qty"].iloc[0] == pytest.approx(0.25 * eq3 / CLOSE["A"][3], rel=1e-12)


def test_stop_loss_from_the_file_is_attached(tmp_path: Path) -> None:
    close = {"A": [10.0, 10.0, 10.0, 8.0, 8.0]}
    md = mf.MarketData.from_frames(pd.DataFrame(close, index=IDX[:5]))
    path = _write(tmp_path, "timestamp,symbol,action,stop_loss,take_profit\n2024-01-01,A,BUY,9,12\n")
    res = mf.backtest(md, Signals(path=path), cash=1_000.0, close_at_end=False)
    assert res.fills["reason"].tolist() == ["signal", "stop_loss"]


def test_a_score_column_stands_for_actions_and_shorts_open_on_sell(tmp_path: Path) -> None:
    path = _write(tmp_path, "timestamp,symbol,score\n2024-01-01,A,0.7\n2024-01-01,B,-1.5\n2024-01-02,A,0\n")
    res = mf.backtest(_md(), Signals(path=path, shorts=True), cash=1_000.0, close_at_end=False,
                      allow_short=True, leverage=2.0)
    f = res.fills.set_index("symbol")["qty"]
    assert f["A"] > 0 and f["B"] < 0 and len(res.fills) == 2


def test_parquet_decisions_read_like_csv(tmp_path: Path) -> None:
    table = pd.DataFrame({"timestamp": [IDX[1], IDX[2]], "symbol": ["A", "A"], "action": ["BUY", "SELL"]})
    p = tmp_path / "d.parquet"
    table.to_parquet(p)
    res = mf.backtest(_md(), Signals(path=str(p)), cash=1_000.0, close_at_end=False)
    assert res.fills["timestamp"].tolist() == [IDX[2], IDX[3]]
    table.loc[1, "action"] = "SHORT"
    table.to_parquet(p)
    with pytest.raises(ValueError, match=r"d\.parquet: row 2: unparsable action 'SHORT'"):
        Signals(path=str(p))


@pytest.mark.parametrize(("text", "message"), [
    ("timestamp,symbol,action\n2024-01-01,A,BUY\n2024-01-02,A,MAYBE\n",
     r"d\.csv:3: unparsable action 'MAYBE'"),
    ("timestamp,symbol,action\n2024-01-01,A,BUY\n2024-01-02,B,SELL\n2024-01-01,A,SELL\n",
     r"d\.csv:4: duplicate decision for \('2024-01-01 00:00:00\+00:00', 'A'\) \(first on line 2\)"),
    ("timestamp,symbol,action,confidence\n2024-01-01,A,BUY,120\n", r"d\.csv:2: confidence 120"),
    ("timestamp,symbol,action,size\n2024-01-01,A,BUY,-3\n", r"d\.csv:2: size must be > 0"),
    ("timestamp,symbol,action,weight\n2024-01-01,A,BUY,lots\n", r"d\.csv:2: weight 'lots' is not a number"),
    ("timestamp,symbol\n2024-01-01,A\n", r"d\.csv: needs an 'action'"),
])
def test_bad_rows_are_errors_naming_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Signals(path=_write(tmp_path, text))


def test_an_unknown_symbol_names_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "timestamp,symbol,action\n2024-01-01,A,BUY\n2024-01-02,ZZZ,BUY\n")
    with pytest.raises(ValueError, match=r"d\.csv:3: unknown symbol 'ZZZ'"):
        mf.backtest(_md(), Signals(path=path))


def test_a_missing_file_and_the_registry(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="decisions file not found"):
        Signals(path=str(tmp_path / "nope.csv"))
    assert STRATEGIES["signals"] is Signals


def test_no_fill_ever_precedes_its_decision_on_random_stamps(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    idx = pd.date_range("2024-01-01", periods=60, freq="h", tz="UTC")
    close = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (60, 3)), axis=0)), index=idx,
                         columns=["X", "Y", "Z"])
    md = mf.MarketData.from_frames(close)
    stamps = idx[0] + pd.to_timedelta(np.sort(rng.uniform(0, 60 * 60, 40)), unit="min")
    rows = [f"{s.isoformat()},{rng.choice(['X', 'Y', 'Z'])},{rng.choice(['BUY', 'SELL'])}" for s in stamps]
    # one decision per (timestamp, symbol)
    rows = list(dict.fromkeys(rows))
    path = _write(tmp_path, "timestamp,symbol,action\n" + "\n".join(rows) + "\n")
    res = mf.backtest(md, Signals(path=path), cash=10_000.0, close_at_end=False)
    dec = pd.DataFrame([r.split(",") for r in rows], columns=["timestamp", "symbol", "action"])
    dec["timestamp"] = pd.to_datetime(dec["timestamp"], utc=True)
    assert len(res.fills) > 0
    for _, f in res.fills.iterrows():
        # the fill answers a decision stamped strictly before the fill's bar, of its symbol
        earlier = dec[(dec["symbol"] == f["symbol"]) & (dec["timestamp"] < f["timestamp"])]
        assert len(earlier) > 0
        latest = earlier["timestamp"].max()
        # and it comes at the first bar after that decision
        assert f["timestamp"] == idx[idx > latest][0]
