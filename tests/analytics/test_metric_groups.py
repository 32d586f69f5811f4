"""``compute_metrics(result, keys=...)``: the groups of the keys asked for, with the full run's values."""

from __future__ import annotations

import math

import numpy as np
import pytest

import multifolio as mf
from multifolio.analytics.metrics import METRIC_GROUPS, compute_metrics, metric_groups
from multifolio.data import samples
from multifolio.strategies.grid_atr import GridATR


@pytest.fixture(scope="module")
def result():
    data = samples.crypto_hourly().select(["BTC/USDT", "ETH/USDT", "SOL/USDT"]).slice(None, "2023-03-31")
    return mf.backtest(data, GridATR(ma_period=24, atr_period=14, num_levels=4), cash=10_000.0, fees=0.001,
                       leverage=2.0, allow_short=True, risk=[{"rule": "kill_switch", "window": 24,
                                                               "threshold": 5, "mode": "record"}])


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(np.all(a == b)) if not isinstance(a, list) else a == b


def test_the_groups_cover_every_metric_exactly_once(result):
    full = compute_metrics(result)
    listed = [k for keys in METRIC_GROUPS.values() for k in keys]
    assert sorted(listed) == sorted(full) and len(set(listed)) == len(listed)
    assert list(full)[-1] == "notes"


@pytest.mark.parametrize("group", list(METRIC_GROUPS))
def test_a_group_alone_gives_the_full_values(result, group):
    full = compute_metrics(result)
    part = compute_metrics(result, keys=[METRIC_GROUPS[group][0]])
    assert set(part) == set(METRIC_GROUPS[group])
    assert all(_same(part[k], full[k]) for k in part)


def test_an_unknown_key_is_refused_by_name():
    with pytest.raises(ValueError, match="'sharp' is not a metric; metrics: .*sharpe"):
        metric_groups(["sharp"])
