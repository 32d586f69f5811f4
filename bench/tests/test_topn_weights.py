"""The benchmark's top-k weights against a plain per-row loop and hand-made cases."""

import numpy as np
import pandas as pd
import pytest
from bench.topn_weights import topn_momentum_weights


def _loop_reference(close: pd.DataFrame, k: int, lookback: int) -> np.ndarray:
    """Independent, obvious implementation: one row at a time, sorted by (-momentum, column)."""
    px = close.to_numpy()
    out = np.full(px.shape, np.nan)
    for t in range(px.shape[0]):
        if t < lookback:
            continue
        mom = {j: px[t, j] / px[t - lookback, j] - 1 for j in range(px.shape[1])
               if np.isfinite(px[t, j]) and np.isfinite(px[t - lookback, j])}
        if not mom:
            continue
        chosen = sorted(mom, key=lambda j: (-mom[j], j))[:k]
        for j in range(px.shape[1]):
            out[t, j] = (1.0 / k if j in chosen else 0.0) if np.isfinite(px[t, j]) else np.nan
    return out


def _frame(values, cols=None):
    values = np.asarray(values, dtype=float)
    idx = pd.date_range("2024-01-01", periods=values.shape[0], freq="D", tz="UTC")
    return pd.DataFrame(values, index=idx, columns=cols or [f"A{i}" for i in range(values.shape[1])])


def test_hand_case_picks_highest_momentum():
    c = _frame([[10, 10, 10, 10], [11, 9, 12, 10], [11, 18, 12, 10]])
    w = topn_momentum_weights(c, k=2, lookback=1).to_numpy()
    assert np.isnan(w[0]).all()                       # warm-up: no momentum yet -> no rebalance
    assert w[1].tolist() == [0.5, 0.0, 0.5, 0.0]      # +10% and +20% beat -10% and 0%
    # Bar 2: A1 +100%; A0, A2, A3 tie at 0% and the earliest column, A0, takes the second slot.
    assert w[2].tolist() == [0.5, 0.5, 0.0, 0.0]


def test_ties_go_to_the_earlier_column():
    # All momenta equal: the first k columns are chosen, in every row.
    c = _frame(np.tile([[1.0], [2.0], [4.0]], (1, 5)))
    w = topn_momentum_weights(c, k=2, lookback=1).to_numpy()
    assert w[1].tolist() == [0.5, 0.5, 0.0, 0.0, 0.0]
    assert w[2].tolist() == [0.5, 0.5, 0.0, 0.0, 0.0]


def test_nan_assets_are_never_selected_and_fewer_than_k_keeps_cash():
    c = _frame([[1.0, np.nan, 1.0], [2.0, 5.0, np.nan], [3.0, 6.0, 1.0]])
    w = topn_momentum_weights(c, k=2, lookback=1).to_numpy()
    # Bar 1: only A0 has a momentum; it gets 1/k (not 1), A1 has a price but no momentum -> 0,
    # A2 has no price -> NaN (leave alone).
    assert w[1][0] == 0.5 and w[1][1] == 0.0 and np.isnan(w[1][2])
    # Bar 2: A0 +50%, A1 +20%, A2 has no price at t - 1 -> no momentum.
    assert w[2].tolist() == [0.5, 0.5, 0.0]


@pytest.mark.parametrize("k,lookback", [(1, 1), (3, 2), (5, 4), (12, 3)])
def test_matches_a_per_row_loop_on_random_prices_with_gaps(k, lookback):
    rng = np.random.default_rng(k * 100 + lookback)
    px = 50 * np.exp(np.cumsum(rng.normal(0, 0.05, (40, 8)), axis=0))
    px = np.round(px, 1)                      # rounding makes ties happen
    px[rng.random(px.shape) < 0.1] = np.nan   # gaps
    c = _frame(px)
    got = topn_momentum_weights(c, k=k, lookback=lookback).to_numpy()
    np.testing.assert_array_equal(got, _loop_reference(c, k, lookback))


def test_weights_are_bounded_and_sum_to_at_most_one():
    rng = np.random.default_rng(3)
    c = _frame(100 * np.exp(np.cumsum(rng.normal(0, 0.02, (60, 30)), axis=0)))
    w = topn_momentum_weights(c, k=7, lookback=5)
    live = w.dropna(how="all")
    assert len(live) == 60 - 5
    np.testing.assert_allclose(live.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert ((live == 0) | (live == 1 / 7)).all().all()
    assert list(w.columns) == list(c.columns) and w.index.equals(c.index)


def test_bad_arguments_are_named():
    c = _frame([[1.0], [2.0]])
    with pytest.raises(ValueError, match="k and lookback"):
        topn_momentum_weights(c, k=0)
    with pytest.raises(TypeError, match="DataFrame"):
        topn_momentum_weights(c.to_numpy())
