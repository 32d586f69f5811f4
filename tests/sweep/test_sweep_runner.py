"""run_sweep: order, parallel processes, errors naming the failing parameters, argument checks."""

from __future__ import annotations

import os

import pytest

from multifolio.sweep import SweepError, run_sweep


def power(base: int, exp: int) -> tuple[int, int]:
    """Module level so worker processes can unpickle it; returns the pid to prove where it ran."""
    return base**exp, os.getpid()


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three is not allowed")
    return x


def test_in_process_keeps_the_order_of_the_parameters():
    params = [{"base": b, "exp": e} for b in (2, 3) for e in (0, 1, 5)]
    out = run_sweep(power, params, workers=1)
    assert [v for v, _ in out] == [1, 2, 32, 1, 3, 243]
    assert {pid for _, pid in out} == {os.getpid()}


def test_processes_run_outside_this_process_and_keep_the_order():
    params = [{"base": b, "exp": 2} for b in range(8)]
    out = run_sweep(power, params, workers=2, backend="processes")
    assert [v for v, _ in out] == [b * b for b in range(8)]
    assert os.getpid() not in {pid for _, pid in out}


def test_a_failing_run_names_its_parameters():
    with pytest.raises(SweepError, match=r"sweep run 2 with \{'x': 3\} failed: ValueError: three") as info:
        run_sweep(fail_on_three, [{"x": 1}, {"x": 2}, {"x": 3}], workers=2)
    assert info.value.index == 2 and info.value.params == {"x": 3}


def test_empty_sweep_and_bad_arguments():
    assert run_sweep(power, []) == []
    with pytest.raises(ValueError, match="backend must be one of"):
        run_sweep(power, [{"base": 1, "exp": 1}], backend="threads")
    with pytest.raises(ValueError, match="workers must be >= 1"):
        run_sweep(power, [{"base": 1, "exp": 1}], workers=0)


def test_progress_is_reported_as_runs_finish():
    seen: list[tuple[int, int]] = []
    run_sweep(power, [{"base": b, "exp": 2} for b in range(5)], workers=2,
              progress=lambda done, total: seen.append((done, total)))
    assert seen == [(i, 5) for i in range(6)]
