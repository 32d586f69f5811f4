"""max_assets_per_capital: the sizing rule applied to a hand-made sweep table."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from multifolio.cli.sweep_cmd import sweep_payload
from multifolio.sweep import max_assets_per_capital
from multifolio.sweep.sizing import _parse_list, answer_lines


def table() -> pd.DataFrame:
    rows = [
        # capital, n, dd, liquidations, min-notional rejections
        (1000, 3, 10.0, 0, 0),
        (1000, 5, 20.0, 0, 0),
        (1000, 10, 25.0, 0, 40),    # min-notional rejections disqualify despite the small drawdown
        (1000, 21, 50.0, 1, 210),
        (5000, 3, 31.0, 0, 0),      # drawdown above 30 at 3 assets ...
        (5000, 5, 29.9, 0, 0),
        (5000, 10, 30.0, 0, 0),     # ... the largest qualifying count wins; 30.0 <= 30 qualifies
        (5000, 21, 28.0, 2, 0),     # a liquidation disqualifies
        (10000, 3, 45.0, 0, 0),
        (10000, 5, 60.0, 0, 0),
    ]
    return pd.DataFrame(rows, columns=["capital", "n_assets", "max_drawdown_pct", "liquidations",
                                       "rejected_min_notional"])


def test_most_assets_meeting_drawdown_without_liquidation_or_min_notional_rejection():
    answer = max_assets_per_capital(table(), max_dd=30)
    assert answer["capital"].tolist() == [1000, 5000, 10000]
    assert answer["max_assets"].tolist() == [5, 10, 0]
    assert answer["max_drawdown_pct"].iloc[0] == 20.0
    assert answer["max_drawdown_pct"].iloc[1] == 30.0
    assert math.isnan(answer["max_drawdown_pct"].iloc[2])


def test_a_looser_drawdown_limit_admits_more_assets():
    answer = max_assets_per_capital(table(), max_dd=50)
    # 1000: 21 assets has dd 50 but a liquidation; 10 has min-notional rejections -> still 5;
    # 10000: 3 assets (45%) now qualifies, 5 assets (60%) does not
    assert answer["max_assets"].tolist() == [5, 10, 3]


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['liquidations'\]"):
        max_assets_per_capital(table().drop(columns="liquidations"), 30)


def test_answer_lines_and_json_payload():
    t = table()
    answer = max_assets_per_capital(t, max_dd=30)
    lines = answer_lines(answer, 30)
    assert lines[0] == "capital 1,000: at most 5 assets (max drawdown 20.0% <= 30%)"
    assert lines[2] == "capital 10,000: no tested asset count meets the rule"
    payload = sweep_payload(t, answer, 30)
    assert payload["max_assets"][2] == {"capital": 10000, "max_assets": 0, "max_drawdown_pct": None}
    assert len(payload["runs"]) == len(t)


def test_list_parsing():
    assert _parse_list("1000, 5000,10000", "capital", float) == [1000.0, 5000.0, 10000.0]
    assert _parse_list([3, 5], "n_assets", int) == [3, 5]
    with pytest.raises(ValueError, match="n_assets: '2.5' is not a whole number"):
        _parse_list("2.5", "n_assets", int)
    with pytest.raises(ValueError, match="capital: values must be > 0"):
        _parse_list("0", "capital", float)
    with pytest.raises(ValueError, match="capital: 'abc' is not a number"):
        _parse_list("abc", "capital", float)
