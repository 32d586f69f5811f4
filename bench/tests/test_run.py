"""The runner's bookkeeping: warm-up and median, ratios, target verdicts, the results table."""

import pytest
from bench import run


def test_timed_warms_up_once_then_takes_the_median_of_the_timed_calls():
    calls = []

    def fn():
        calls.append(1)
        return len(calls)

    secs, out = run.timed(fn, repeats=5)
    assert len(calls) == 6 and out == 6 and secs >= 0.0


def test_ratios_are_relative_to_vectorbt_and_rate_is_asset_bars_per_second():
    rows = [run.Row("mf", 0.5, 1000, cpu=0.2), run.Row("vectorbt", 2.0, 1000, cpu=0.4),
            run.Row("bt", None, 1000, note="missing")]
    case = run.Case("c", "t", rows=rows)
    case.set_ratios()
    assert [r.ratio for r in case.rows] == [0.25, 1.0, None]
    assert [r.cpu_ratio for r in case.rows] == [0.5, 1.0, None]
    assert case.rows[0].rate == 2000.0 and case.rows[2].rate is None
    lines = run.table(case.rows)
    assert lines[2].startswith("| mf | 0.500 | 2,000 | 0.250 |")
    assert "| bt | - | - | - | - | - | - | missing |" in lines


def test_target_verdicts_say_by_how_much_a_target_is_missed():
    cases = {"a": run.Case("a", "", figures={"from_weights": 0.5, "from_weights_cpu": 0.3, "strategy": 0.8,
                                             "sweep": 1.0})}
    lines = "\n".join(run.targets(cases))
    assert "from_weights <= 0.2x" in lines
    assert "**missed** (0.5x, 2.50x off the target; on CPU seconds 0.3x)" in lines
    assert "**met** (0.8x)" in lines
    assert "**missed** (1x, 1.70x off the target)" in lines       # speed-up: a floor, not a ceiling
    assert "grid portfolio 21 x 26,280 hourly bars <= 2 s warm: not measured" in lines


def test_unknown_case_is_refused_with_the_list_of_names(capsys):
    with pytest.raises(SystemExit):
        run.main(["--only", "nope"])
    assert "topn_500x2520" in capsys.readouterr().err


def test_machine_reads_the_cpu_and_versions():
    info = run.machine()
    assert "logical cores" in info["CPU"] and info["numpy"] != "not installed"


def test_profile_lines_name_the_hot_function():
    def hot():
        return sum(i * i for i in range(200_000))

    lines = run.profile_lines(hot, top=3)
    assert lines[0].startswith("own time by area (under cProfile): ")
    assert any("genexpr" in line or "hot" in line for line in lines[1:])
