"""`run --save/--md/--html`, `runs ls/show/compare`, `report ID`, `sweep --html --save`."""

from __future__ import annotations

from pathlib import Path


def test_save_list_show_compare_and_report(cli, tmp_path: Path, write_config) -> None:
    store = tmp_path / "candles.duckdb"
    assert (
        cli("data", "synth", "--store", store, "--assets", "3", "--bars", "400", "--seed", "2").exit_code == 0
    )
    cfg = write_config(f"""
        data: {{store: {store.name}, symbols: [S000, S001, S002], warmup_bars: 24}}
        capital: 1000
        strategy: {{name: equal_weight, params: {{schedule: daily}}}}
    """)
    md = tmp_path / "a.md"
    first = cli(
        "run",
        cfg,
        "--quiet",
        "--days",
        "5",
        "--save",
        "--runs-store",
        store,
        "--label",
        "<i>five</i>",
        "--md",
        md,
    )
    assert first.exit_code == 0, first.stderr
    assert "### The five answers" in md.read_text()
    second = cli("run", cfg, "--days", "10", "--assets", "2", "--save", "--runs-store", store)
    assert second.exit_code == 0, second.stderr
    assert "saved as run 2" in second.stderr

    ls = cli("runs", "ls", "--store", store)
    assert ls.exit_code == 0 and "Saved runs (2)" in ls.stdout
    show1 = cli("runs", "show", "1", "--store", store)
    assert show1.exit_code == 0 and "<i>five</i>" in show1.stdout
    show = cli("runs", "show", "2", "--store", store)
    assert show.exit_code == 0 and "The five answers" in show.stdout and "S001" in show.stdout

    page = tmp_path / "cmp.html"
    cmp = cli("runs", "compare", "1", "2", "--store", store, "--html", page)
    assert cmp.exit_code == 0, cmp.stderr
    assert "Total return %" in cmp.stdout and "#1" in cmp.stdout and "#2" in cmp.stdout
    text = page.read_text()
    assert text.count('id="mf-plot-') == 1 and "&lt;i&gt;five&lt;/i&gt;" in text and "<i>five" not in text

    html, md2 = tmp_path / "r.html", tmp_path / "r.md"
    rep = cli("report", "1", "--store", store, "--html", html, "--md", md2)
    assert rep.exit_code == 0, rep.stderr
    assert "Monthly and yearly returns" in html.read_text() and md2.read_text().startswith(
        "## multifolio run #1"
    )

    missing = cli("report", "7", "--store", store, "--html", html)
    assert missing.exit_code == 2 and "no saved run 7" in missing.stderr
    one = cli("runs", "compare", "1", "--store", store)
    assert one.exit_code == 2 and "at least two" in one.stderr

    heat = tmp_path / "sweep.html"
    sw = cli(
        "sweep",
        cfg,
        "--capital",
        "1000,5000",
        "--n-assets",
        "1,3",
        "--workers",
        "1",
        "--html",
        heat,
        "--save",
        "--runs-store",
        store,
    )
    assert sw.exit_code == 0, sw.stderr
    assert "Max drawdown heatmap" in heat.read_text() and "The answer per capital" in heat.read_text()
    assert "saved as run 3" in sw.stderr
    shown = cli("runs", "show", "3", "--store", store)
    assert shown.exit_code == 0 and "Sizing sweep" in shown.stdout
    heat2 = tmp_path / "sweep2.html"
    assert cli("report", "3", "--store", store, "--html", heat2).exit_code == 0 and heat2.exists()
