"""Causal indicators: hand-computed values, warm-up, gaps and no look-ahead."""

import numpy as np
import pytest

from multifolio.strategies.indicators import atr, first_valid_row, rolling_max, sma, true_range


def test_sma_matches_hand_values_and_warms_after_period():
    close = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [5.0, 50.0]])
    out = sma(close, 3)
    # rows 0-1 are not warm; row 2 = (1+2+3)/3, row 3 = (2+3+5)/3
    assert np.isnan(out[:2]).all()
    np.testing.assert_allclose(out[2:, 0], [2.0, 10.0 / 3])
    np.testing.assert_allclose(out[2:, 1], [20.0, 100.0 / 3])


def test_sma_is_nan_when_the_window_holds_a_gap():
    close = np.array([1.0, np.nan, 3.0, 4.0, 5.0])
    out = sma(close, 2)
    # windows (1,nan) and (nan,3) are incomplete; then (3,4) and (4,5)
    assert np.isnan(out[:3]).all()
    np.testing.assert_allclose(out[3:], [3.5, 4.5])


def test_true_range_uses_previous_close_and_skips_gaps():
    high = np.array([10.0, 12.0, np.nan, 9.0])
    low = np.array([8.0, 11.0, np.nan, 7.0])
    close = np.array([9.0, 11.5, np.nan, 8.0])
    tr = true_range(high, low, close)
    # bar0: 10-8 = 2; bar1: max(1, |12-9|, |11-9|) = 3; bar2: no bar;
    # bar3: prev known close 11.5 -> max(2, |9-11.5|, |7-11.5|) = 4.5
    np.testing.assert_allclose(tr[[0, 1, 3]], [2.0, 3.0, 4.5])
    assert np.isnan(tr[2])


def test_wilder_atr_recursion_and_simple_variant():
    high = np.array([2.0, 3.0, 4.0, 4.0])
    low = np.array([1.0, 1.0, 1.0, 3.0])
    close = np.array([1.5, 2.5, 3.5, 3.5])
    # TR = 1, 2, 3, max(1, |4-3.5|, |3-3.5|) = 1
    # Wilder(2): seed (1+2)/2 = 1.5; (1.5+3)/2 = 2.25; (2.25+1)/2 = 1.625
    w = atr(high, low, close, 2)
    assert np.isnan(w[0])
    np.testing.assert_allclose(w[1:], [1.5, 2.25, 1.625])
    # simple(2): (1+2)/2, (2+3)/2, (3+1)/2
    np.testing.assert_allclose(atr(high, low, close, 2, method="simple")[1:], [1.5, 2.5, 2.0])
    with pytest.raises(ValueError):
        atr(high, low, close, 2, method="ema")


def test_indicators_are_causal():
    rng = np.random.default_rng(0)
    close = 100 + rng.normal(size=(60, 3)).cumsum(axis=0)
    high, low = close + 1, close - 1
    full_sma, full_atr = sma(close, 5), atr(high, low, close, 7)
    cut = 40
    # recomputing on data truncated at `cut` gives the same rows: nothing after t leaks into t
    np.testing.assert_allclose(sma(close[:cut], 5), full_sma[:cut])
    np.testing.assert_allclose(atr(high[:cut], low[:cut], close[:cut], 7), full_atr[:cut])


def test_rolling_max_and_first_valid_row():
    x = np.array([[1.0, np.nan], [3.0, np.nan], [2.0, 4.0], [0.0, 1.0]])
    np.testing.assert_allclose(rolling_max(x[:, 0], 2), [1.0, 3.0, 3.0, 2.0])
    assert first_valid_row(x).tolist() == [0, 2]
    assert first_valid_row(np.full((3, 1), np.nan)).tolist() == [3]
    with pytest.raises(ValueError):
        sma(x, 0)
