"""The building blocks of the HTML report: sections, the shared report context, tables and the page.

A section is a function ``(ctx: ReportContext) -> Section | None`` (None: nothing to show for this run).
A :class:`Section` is a title and a list of parts, each an HTML string (already escaped) or a Plotly
figure; :func:`render_page` numbers the figures (``mf-plot-0``, ``mf-plot-1``, ...), embeds plotly.js
once in the page head and joins the sections in order.

Display decimation: long series are thinned for drawing only (:func:`decimate` keeps each bucket's
first, lowest, highest and last point; :func:`sample_rows` keeps evenly spaced rows for stacked areas);
every figure in the page's tables and texts is computed on the full data.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from multifolio.analytics.five_answers import five_answers
from multifolio.analytics.periodic import duration_unit, top_drawdowns
from multifolio.analytics.returns import bar_returns, infer_freq, performance_equity, periods_per_year
from multifolio.report.json_report import result_metrics, result_per_asset

#: Points per drawn line at most (each bucket of 4 keeps its first, lowest, highest and last point).
MAX_POINTS = 2000
#: Rows per stacked-area trace at most (evenly spaced, first and last kept).
MAX_STACK_POINTS = 400

CSS = """
body { font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 24px auto;
       max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
ol.answers li { margin: 0.35em 0; }
table.mf { border-collapse: collapse; font-size: 0.9em; }
table.mf th, table.mf td { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: right; }
table.mf th:first-child, table.mf td:first-child { text-align: left; }
td.pos { color: #1a7f37; } td.neg { color: #c62828; }
.muted { color: #777; font-size: 0.85em; }
.scroll { max-height: 420px; overflow-y: auto; }
"""


@dataclass
class Section:
    """One titled part of the page: HTML strings (escaped by their maker) and Plotly figures in order."""

    title: str
    parts: list[Any] = field(default_factory=list)
    anchor: str = ""


#: How many drawdown periods a report shows.
N_DRAWDOWNS = 5


@dataclass(eq=False)
class ReportContext:
    """What every section reads, computed once per page: the run (a Result or a Result-like view with
    the same attributes), its closes, metrics, five answers, per-asset table, bar returns, the unit of
    durations and the benchmark choice (None: equal-weight buy-and-hold of the run's universe; a symbol;
    or a price Series)."""

    result: Any
    close: pd.DataFrame | None = None
    benchmark: str | pd.Series | None = None

    @cached_property
    def metrics(self) -> dict[str, Any]:
        return result_metrics(
            self.result, self.close if self.close is not getattr(self.result, "close", None) else None
        )

    @cached_property
    def answers(self) -> dict[str, Any]:
        return five_answers(self.result, self.close, metrics=self.metrics)

    @cached_property
    def per_asset(self) -> pd.DataFrame:
        return result_per_asset(self.result)

    @cached_property
    def equity(self) -> pd.Series:
        """The equity the return figures read: time-weighted when an allocator moved cash in or out
        (the metrics' definition), else the account's equity."""
        return performance_equity(self.result)

    @cached_property
    def initial(self) -> float:
        return float(self.result.initial_capital)

    @cached_property
    def freq(self) -> pd.Timedelta | None:
        idx = pd.DatetimeIndex(self.equity.index)
        return infer_freq(idx, getattr(self.result, "freq", None)) if len(idx) else None

    @cached_property
    def unit(self) -> tuple[str, pd.Timedelta]:
        return duration_unit(self.freq)

    @cached_property
    def drawdown_periods(self) -> pd.DataFrame:
        """The ``N_DRAWDOWNS`` deepest drawdown periods (the equity chart shades them, a table lists them)."""
        return top_drawdowns(self.equity, self.initial, N_DRAWDOWNS, self.freq)

    @cached_property
    def ppy(self) -> float:
        return (
            periods_per_year(pd.DatetimeIndex(self.equity.index), self.freq) if len(self.equity) else np.nan
        )

    @cached_property
    def returns(self) -> pd.Series:
        return bar_returns(self.equity, self.initial) if len(self.equity) else pd.Series(dtype=float)


SectionFn = Callable[[ReportContext], "Section | None"]


def decimate(s: pd.Series, max_points: int = MAX_POINTS) -> pd.Series:
    """At most about ``max_points`` points of ``s`` for drawing, keeping each bucket's extremes.

    >>> import pandas as pd
    >>> s = pd.Series(range(100), dtype=float)
    >>> d = decimate(s, 20)
    >>> len(d) <= 20, float(d.iloc[-1]), float(d.min())
    (True, 99.0, 0.0)
    """
    n = len(s)
    if n <= max_points:
        return s
    buckets = max(1, max_points // 4)
    edges = np.linspace(0, n, buckets + 1).astype(int)
    v = s.to_numpy(dtype=float)
    keep: list[int] = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if b <= a:
            continue
        seg = v[a:b]
        finite = np.isfinite(seg)
        picks = {a, b - 1}
        if finite.any():
            picks |= {a + int(np.nanargmin(seg)), a + int(np.nanargmax(seg))}
        keep.extend(sorted(picks))
    return s.iloc[sorted(set(keep))]


def sample_rows(frame: pd.DataFrame, max_points: int = MAX_STACK_POINTS) -> pd.DataFrame:
    """Evenly spaced rows of ``frame`` (first and last kept), for traces that must share their x.

    >>> import pandas as pd
    >>> len(sample_rows(pd.DataFrame({"a": range(1000)}), 50)) <= 50
    True
    """
    n = len(frame)
    if n <= max_points:
        return frame
    pos = np.unique(np.linspace(0, n - 1, max_points).round().astype(int))
    return frame.iloc[pos]


def x_values(index: pd.Index) -> list[str] | np.ndarray:
    """Compact x values for Plotly: ``YYYY-MM-DD HH:MM`` strings (UTC) for times, else as they are."""
    if isinstance(index, pd.DatetimeIndex):
        idx = index.tz_convert("UTC") if index.tz is not None else index
        spec = "%Y-%m-%d" if len(idx) and (idx.normalize() == idx).all() else "%Y-%m-%d %H:%M"
        return list(idx.strftime(spec))
    return np.asarray(index)


def y_values(values: Any) -> np.ndarray:
    """Display values as float32 (half the bytes in the page; figures are computed in float64)."""
    return np.asarray(values, dtype=np.float32)


def line(s: pd.Series, name: str, max_points: int = MAX_POINTS, **kw: Any) -> Any:
    """A decimated Plotly line of ``s``."""
    import plotly.graph_objects as go

    d = decimate(s, max_points)
    return go.Scatter(x=x_values(d.index), y=y_values(d.to_numpy(dtype=float)), name=name, mode="lines", **kw)


def ts(t: Any, spec: str = "%Y-%m-%d %H:%M") -> str:
    """A time for a table cell ('-' when missing)."""
    if t is None or (not isinstance(t, str) and pd.isna(t)):
        return "-"
    return pd.Timestamp(t).strftime(spec)


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    signed_col: int | None = None,
    css_class: str = "mf",
) -> str:
    """An HTML table; every header and cell is escaped; ``signed_col`` is coloured by its sign.

    >>> table(["a"], [["<b>"]])
    '<table class="mf"><thead><tr><th>a</th></tr></thead><tbody><tr><td>&lt;b&gt;</td></tr></tbody></table>'
    """
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            c = str(c)
            cls = ""
            if i == signed_col and c not in ("-", ""):
                cls = ' class="neg"' if c.startswith("-") else ' class="pos"'
            cells.append(f"<td{cls}>{html.escape(c)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<table class="{html.escape(css_class)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def para(text: str, css_class: str = "") -> str:
    """A paragraph of plain text (escaped)."""
    cls = f' class="{html.escape(css_class)}"' if css_class else ""
    return f"<p{cls}>{html.escape(text)}</p>"


def render_page(title: str, header: str, sections: Sequence[Section], footer: str = "") -> str:
    """The whole page: plotly.js once in the head, then each section (figures numbered in order).

    ``title`` is plain text (escaped here); ``header`` and ``footer`` are HTML (escaped by the caller).
    """
    from plotly.offline import get_plotlyjs

    body: list[str] = []
    n = 0
    for sec in sections:
        anchor = f' id="{html.escape(sec.anchor)}"' if sec.anchor else ""
        body.append(f"<h2{anchor}>{html.escape(sec.title)}</h2>")
        for part in sec.parts:
            if isinstance(part, str):
                body.append(part)
            else:
                body.append(
                    part.to_html(
                        full_html=False,
                        include_plotlyjs=False,
                        config={"displaylogo": False, "responsive": True},
                        div_id=f"mf-plot-{n}",
                    )
                )
                n += 1
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{CSS}</style>
<script type="text/javascript">{get_plotlyjs()}</script></head>
<body>
<h1>{html.escape(title)}</h1>
{header}
{"".join(body)}
{footer}
</body></html>
"""


#: A Linear / Log switch for a figure's y axis (Plotly ``updatemenus`` entry).
LOG_TOGGLE = {
    "type": "buttons",
    "direction": "right",
    "x": 1.0,
    "xanchor": "right",
    "y": 1.12,
    "buttons": [
        {"label": "Linear", "method": "relayout", "args": [{"yaxis.type": "linear"}]},
        {"label": "Log", "method": "relayout", "args": [{"yaxis.type": "log"}]},
    ],
}
