"""Charts of a report as inline SVG, drawn with matplotlib, the same bytes for the same figures.

matplotlib's SVG carries random element ids and a creation date unless told otherwise:
the hash salt is fixed and the date left out, so a report can be archived and compared.
Text stays text (no glyph outlines): smaller files, readable in any script the reader's
fonts have (a chart of the desk's Patterns page may be in Japanese: matplotlib's own font has no
such glyphs, and only sizes the labels with it, while the reader's browser draws them). A hidden count is drawn as a short, hatched bar marked as not published,
never as a bar of its true height.
"""

from __future__ import annotations

import io
import re
import warnings

import matplotlib

matplotlib.use("Agg")  # no screen on the operator's server
import matplotlib.pyplot as plt  # noqa: E402

from .suppression import HIDDEN, ProtectedTable  # noqa: E402

_STYLE = {
    "svg.hashsalt": "grievance-report",
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
BAR = "#2f6f8f"
HIDDEN_BAR = "#c9d6de"


def _svg(figure) -> str:
    buffer = io.StringIO()
    with warnings.catch_warnings():  # the text is written as text: the reader's fonts draw it, not matplotlib's
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    plt.close(figure)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]  # inline: no XML declaration or doctype
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.DOTALL)  # the RDF block says only "made by matplotlib"
    return re.sub(r"\s+\n", "\n", svg)


def bar_chart(labels: list[str], values: list[int], hidden: list[bool], title: str, horizontal: bool = False) -> str:
    """A bar per label; hidden values as hatched stubs marked as not published."""
    with plt.rc_context(_STYLE):
        height = max(2.2, 0.32 * len(labels) + 0.8) if horizontal else 2.8
        figure, axes = plt.subplots(figsize=(6.4, height))
        visible = [0 if h else v for v, h in zip(values, hidden)]
        stub = max(max(visible, default=0) * 0.04, 0.4)
        shown = [stub if h else v for v, h in zip(visible, hidden)]
        colours = [HIDDEN_BAR if h else BAR for h in hidden]
        positions = list(range(len(labels)))
        if horizontal:
            bars = axes.barh(positions, shown, color=colours, hatch=None)
            axes.set_yticks(positions, labels)
            axes.invert_yaxis()
        else:
            bars = axes.bar(positions, shown, color=colours)
            axes.set_xticks(positions, labels, rotation=45 if len(labels) > 6 else 0, ha="right" if len(labels) > 6 else "center")
        for bar, is_hidden in zip(bars, hidden):
            if is_hidden:
                bar.set_hatch("///")
        axes.bar_label(bars, labels=[HIDDEN if h else str(v) for v, h in zip(values, hidden)], padding=2, fontsize=8)
        axes.set_title(title, loc="left", fontsize=10)
        (axes.xaxis if horizontal else axes.yaxis).set_visible(False)
        return _svg(figure)


def column_totals_chart(table: ProtectedTable, title: str) -> str:
    """A table's column totals (e.g. cases per month) as bars."""
    labels = list(table.columns)
    values = list(table.column_totals)
    hidden = [j in table.hidden_columns for j in range(len(labels))]
    return bar_chart(labels, values, hidden, title)


def row_totals_chart(table: ProtectedTable, title: str, names: dict[str, str] | None = None) -> str:
    """A table's row totals (e.g. cases per category) as horizontal bars."""
    names = names or {}
    labels = [names.get(row, row) for row in table.rows]
    values = list(table.row_totals)
    hidden = [i in table.hidden_rows for i in range(len(labels))]
    return bar_chart(labels, values, hidden, title, horizontal=True)
