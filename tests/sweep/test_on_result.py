"""run_sweep(on_result=...): each finished run is handed over in the caller's process, as it finishes."""

from __future__ import annotations

import os

import pytest

from multifolio.sweep import SweepError, run_sweep


def square_or_fail(x: int) -> tuple[int, int]:
    if x < 0:
        raise ValueError("negative")
    return x * x, os.getpid()


@pytest.mark.parametrize("workers", [1, 2])
def test_on_result_sees_every_successful_run_by_its_index(workers: int):
    seen: dict[int, int] = {}
    order: list[str] = []
    out = run_sweep(square_or_fail, [{"x": x} for x in range(5)], workers=workers,
                    on_result=lambda i, v: (seen.__setitem__(i, v[0]), order.append("result")),
                    progress=lambda done, n: order.append("progress"))
    assert seen == {i: i * i for i in range(5)} and [v for v, _ in out] == [seen[i] for i in range(5)]
    # each result is handed over before the progress report that counts it
    assert order[0] == "progress" and order[1:] == ["result", "progress"] * 5


def test_on_result_is_not_called_for_a_failing_run():
    seen: list[int] = []
    with pytest.raises(SweepError):
        run_sweep(square_or_fail, [{"x": 1}, {"x": -1}, {"x": 2}], workers=1,
                  on_result=lambda i, v: seen.append(i))
    assert seen == [0, 2]


def test_many_short_runs_travel_in_chunks_and_keep_their_order():
    # 300 runs on 2 workers go as chunks of 9 (16 chunks per worker at least): the results, the
    # on_result indices and the progress counts are still per run
    from multifolio.sweep.runner import _chunks

    chunks = _chunks(300, 2)
    assert [i for c in chunks for i in c] == list(range(300)) and max(len(c) for c in chunks) == 9
    assert max(len(c) for c in _chunks(100_000, 2)) == 64
    assert _chunks(5, 2) == [range(i, i + 1) for i in range(5)]
    seen: dict[int, int] = {}
    done: list[int] = []
    out = run_sweep(square_or_fail, [{"x": x} for x in range(300)], workers=2,
                    on_result=lambda i, v: seen.__setitem__(i, v[0]), progress=lambda d, n: done.append(d))
    assert [v for v, _ in out] == [x * x for x in range(300)] and seen == {x: x * x for x in range(300)}
    assert done == list(range(301))
