"""A report written out: one self-contained HTML file, the same tables as CSV and JSON, a PDF on request.

The HTML needs no script and loads nothing: styles and charts (inline SVG) are in the
file. The CSV and JSON files carry exactly what the HTML shows; in the public profile a
hidden count is the text "[c]" in CSV and `null` with `"hidden": true` in JSON, never its
value. Files are written in a fixed order with fixed formatting, so the same figures give
the same bytes. The PDF is printed by a headless Chromium when one is installed.

The files are in English, and CSV and JSON keys and labels are a data format. The desk's
Patterns page shows the same HTML in its reader's language (`words`, desk/reports/words.py).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from . import charts, outcome
from .figures import Report
from .public import rule_note
from .suppression import ProtectedTable
from .words import CHANNEL_NAMES, ENGLISH_WORDS, N_, STATUS_NAMES, URGENCY_NAMES, Words

CATEGORY_NAMES = {
    "wages": N_("Wages"), "hours": N_("Working hours"), "safety": N_("Health and safety"),
    "harassment": N_("Harassment and abuse"), "discrimination": N_("Discrimination"), "forced_labour": N_("Forced labour"),
    "child_labour": N_("Child labour"), "association": N_("Freedom of association"), "dismissal": N_("Dismissal"),
    "retaliation": N_("Retaliation"), "living_conditions": N_("Living conditions"),
    "environment_community": N_("Environment and community"), "other": N_("Other"),
}
STORY_NAMES = {"text": N_("written report"), "voice": N_("voice report")}
# What each file holds, for readers of the published data (also in docs/reports.md).
COLUMNS = {
    "category_by_month.csv": "category, one column per month (YYYY-MM), total; the last row holds the month totals",
    "channels.csv": "channel (sms, whatsapp, telegram, messenger, line, console), cases",
    "languages.csv": "language (ISO 639-1), cases",
    "urgency.csv": "urgency (urgent, not urgent), cases",
    "stories.csv": "internal reports only: how the story was told (text: written, voice: a voice note), cases",
    "statuses.csv": "status (received ... closed), cases",
    "places.csv": "place as workers wrote it (grouped), cases",
    "workplaces.csv": "workplace (grouped), cases",
    "brands.csv": "brand or buyer (grouped), cases",
    "performance.csv": "measure, value",
    "rises.csv": "category, cases this period, cases in the previous period of the same length",
    "grievance_list.csv": "month (YYYY-MM), place, category, company, status",
    "worker_view.csv": "the workers' view of the outcome, answers of the period: helped (yes, partly, no, not said), "
                       "one column per month (YYYY-MM) they reached the mechanism, total; the last row holds the month totals",
}


OTHER_PLACES = "(other places, or not given)"


def _other_places_shown(report: Report) -> bool:
    # With the total hidden the row is always there: its absence would say the named places are all the cases.
    return bool(report.places_other) or (report.public and report.total_hidden)


def _withheld_shown(report: Report) -> bool:
    return bool(report.lines_withheld) or (report.public and report.total_hidden)


def _environment(words: Words) -> Environment:
    """The report's templates, autoescaped, their `_()` in `words`' language (a new one per report: no shared state)."""
    environment = Environment(loader=PackageLoader("desk.reports", "templates"), autoescape=select_autoescape(["html"]),
                              keep_trailing_newline=True, extensions=["jinja2.ext.i18n"])
    environment.install_gettext_callables(words.for_template, words.for_template_plural, newstyle=True,
                                          pgettext=words.for_template_in_context, npgettext=words.for_template_plural_in_context)
    return environment


def category_name(category: str, _: Words = ENGLISH_WORDS) -> str:
    """A category's name in `_`'s language; a category the report has no name for, by its code."""
    return _(CATEGORY_NAMES[category]) if category in CATEGORY_NAMES else category


def _one_way_rows(table: ProtectedTable | None, label=str) -> list[dict]:
    """The rows of a one-way table; `label` gives each code's words in the HTML (CSV and JSON take the code)."""
    if table is None:
        return []
    return [
        {"label": label(code), "key": code, "value": table.cells[i][0], "hidden": (i, 0) in table.hidden_cells,
         "text": table.cell_text(i, 0)}
        for i, code in enumerate(table.rows)
    ]


def _one_way_tables(report: Report, _: Words) -> list[tuple[str, list[dict]]]:
    """The one-way tables of the HTML, each under its name, its rows' values in `_`'s words."""
    tables = [
        (_("Channel"), _one_way_rows(report.by_channel, lambda code: _.value(code, CHANNEL_NAMES))),
        (_("Language"), _one_way_rows(report.by_language, _.language_name)),
        (_("Urgency"), _one_way_rows(report.by_urgency, lambda code: _.value(code, URGENCY_NAMES))),
        (_("Where the cases stand"), _one_way_rows(report.by_status, lambda code: _.value(code, STATUS_NAMES))),
    ]
    if report.by_story is not None:
        tables.append((_("Written or spoken"), _one_way_rows(report.by_story, lambda code: _(STORY_NAMES.get(code, code)))))
    return tables


def _category_rows(report: Report, _: Words = ENGLISH_WORDS) -> list[dict]:
    table = report.by_category_month
    rows = []
    for i, category in enumerate(table.rows):
        cells = [{"hidden": (i, j) in table.hidden_cells, "text": table.cell_text(i, j), "value": table.cells[i][j]}
                 for j in range(len(table.columns))]
        cells.append({"hidden": i in table.hidden_rows, "text": table.row_total_text(i), "value": table.row_totals[i]})
        rows.append({"label": category_name(category, _), "key": category, "cells": cells})
    totals = [{"hidden": j in table.hidden_columns, "text": table.column_total_text(j), "value": table.column_totals[j]}
              for j in range(len(table.columns))]
    totals.append({"hidden": table.hidden_total, "text": table.total_text(), "value": table.total})
    rows.append({"label": _("All categories"), "key": "total", "cells": totals})
    return rows


def _performance(report: Report) -> list[tuple[str, str]]:
    return [
        ("days to acknowledge, median", report.timing_text(report.acknowledge, "median")),
        ("days to acknowledge, 90th percentile", report.timing_text(report.acknowledge, "p90")),
        ("days to resolve or close, median", report.timing_text(report.conclude, "median")),
        ("days to resolve or close, 90th percentile", report.timing_text(report.conclude, "p90")),
        (f"acknowledged within {report.acknowledge_within_days} days", report.share_text(report.acknowledged_on_time)),
        (f"feedback within {report.feedback_within_days} days", report.share_text(report.feedback_on_time)),
        ("overdue now: acknowledgement", report.count_text(report.overdue_acknowledgement)),
        ("overdue now: feedback", report.count_text(report.overdue_feedback)),
        ("referred to the company concerned", report.referred_text()),
        *referral_rows(report),
    ]


def referral_rows(report: Report, _: Words = ENGLISH_WORDS) -> list[tuple[str, str]]:
    """The report's referral figures (desk/reports/referral_figures.py, referral_public.py); none when not asked for."""
    return report.referrals.rows(_) if report.referrals is not None else []


def _notes(report: Report, _: Words) -> list[str]:
    """The report's notes in `_`'s language (the JSON keeps them in English)."""
    rule = rule_note(report.k) if report.public else None
    return [rule_note(report.k, _) if note == rule else _(note) for note in report.notes]


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def report_css() -> str:
    """The report's styles: inlined in the standalone file, served as a static file by the desk."""
    return resources.files("desk.reports").joinpath("templates/report.css").read_text(encoding="utf-8")


def _as_image(svg: str) -> str:
    # Under the desk's Content-Security-Policy an inline SVG's style attributes would be refused;
    # an image is its own document.
    data = base64.b64encode(svg.encode()).decode()
    return f'<img alt="" src="data:image/svg+xml;base64,{data}">'


def render_html(report: Report, title: str, *, fragment: bool = False, list_limit: int | None = None,
                words: Words = ENGLISH_WORDS) -> str:
    """The whole page (standalone file), or with `fragment` only its body, with the charts as images (the desk).
    `list_limit`: the lines of the grievance list shown (the desk's page; the files hold the whole list).
    `words`: the language of every text and value label (the files': English; the desk: its reader's)."""
    _ = words
    table = report.by_category_month
    chart_svgs = {
        "months": charts.column_totals_chart(table, _("Cases received per month")),
        "categories": charts.row_totals_chart(table, _("Cases per category"), {c: category_name(c, _) for c in table.rows}),
    }
    if fragment:
        chart_svgs = {name: _as_image(svg) for name, svg in chart_svgs.items()}
    rises = [{"label": category_name(r.category, _), "count": report.count_text(r.count),
              "previous": report.count_text(r.previous)} for r in report.rises]
    listed = report.grievance_list if list_limit is None else report.grievance_list[:list_limit]
    list_rows = [{**line.__dict__, "category": category_name(line.category, _), "status": _.value(line.status, STATUS_NAMES)}
                 for line in listed]
    return _environment(words).get_template("report_body.html" if fragment else "report.html").render(
        css=report_css(), title=title, report=report, words=words, notes=_notes(report, _), charts=chart_svgs,
        category_rows=_category_rows(report, _), one_way=_one_way_tables(report, _),
        named=[(_("Workplaces"), report.workplaces), (_("Brands and buyers"), report.brands)],
        named_floor=report.k if report.public else 2, rises=rises, list_rows=list_rows,
        total_text=table.total_text(), withheld_text=report.count_text(report.lines_withheld),
        worker_view_rows=outcome.view_rows(report.worker_view, _) if report.worker_view else [],
        other_places=_other_places_shown(report), withheld_shown=_withheld_shown(report),
        referral_rows=[(_first_upper(measure), value) for measure, value in referral_rows(report, _)],
        list_cut=len(report.grievance_list) - len(listed), list_command=Markup("<code>grievance report</code>"),
    )


def _csv(rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue()


def tables(report: Report) -> dict[str, str]:
    """Every CSV file of the report, by name."""
    files = {}
    header = ["category", *report.months, "total"]
    files["category_by_month.csv"] = _csv([header] + [[row["key"], *(c["text"] for c in row["cells"])] for row in _category_rows(report)])
    for name, column, table in (("channels", "channel", report.by_channel), ("languages", "language", report.by_language),
                                ("urgency", "urgency", report.by_urgency), ("statuses", "status", report.by_status)):
        files[f"{name}.csv"] = _csv([[column, "cases"]] + [[row["key"], row["text"]] for row in _one_way_rows(table)])
    if report.by_story is not None:
        files["stories.csv"] = _csv([["story", "cases"]] + [[row["key"], row["text"]] for row in _one_way_rows(report.by_story)])
    places = [[item.label, item.count] for item in report.places]
    if _other_places_shown(report):
        places.append([OTHER_PLACES, report.places_other_text()])
    files["places.csv"] = _csv([["place", "cases"], *places])
    files["workplaces.csv"] = _csv([["workplace", "cases"], *([i.label, i.count] for i in report.workplaces)])
    files["brands.csv"] = _csv([["brand", "cases"], *([i.label, i.count] for i in report.brands)])
    files["performance.csv"] = _csv([["measure", "value"], *(list(item) for item in _performance(report))])
    files["rises.csv"] = _csv([["category", "cases", "previous"],
                               *([r.category, report.count_text(r.count), report.count_text(r.previous)] for r in report.rises)])
    files["grievance_list.csv"] = _csv([["month", "place", "category", "company", "status"],
                                        *([line.month, line.place, line.category, line.company, line.status]
                                          for line in report.grievance_list)])
    files["worker_view.csv"] = _csv(outcome.as_csv_rows(report.worker_view))
    return files


def as_json(report: Report) -> str:
    """The whole report as one JSON document (hidden counts as null with "hidden": true)."""

    def counts(rows: list[dict]) -> list[dict]:
        return [{"label": row["key"], "cases": None if row["hidden"] else row["value"], "hidden": row["hidden"]} for row in rows]

    category_rows = _category_rows(report)
    document = {
        "report": {
            "profile": report.profile, "period": report.period.label if report.period else None,
            "from": report.start.isoformat(), "to": report.end.isoformat(),
            "as_of": report.as_of.isoformat(), "k": report.k if report.public else None, "notes": report.notes,
            "columns": COLUMNS,
        },
        "category_by_month": {
            "months": list(report.months),
            "rows": [{"category": row["key"], "cells": [None if c["hidden"] else c["value"] for c in row["cells"][:-1]],
                      "total": None if row["cells"][-1]["hidden"] else row["cells"][-1]["value"]} for row in category_rows],
        },
        "channels": counts(_one_way_rows(report.by_channel)),
        "languages": counts(_one_way_rows(report.by_language)),
        "urgency": counts(_one_way_rows(report.by_urgency)),
        "statuses": counts(_one_way_rows(report.by_status)),
        "places": [{"label": i.label, "cases": i.count} for i in report.places]
        + ([{"label": OTHER_PLACES, "cases": None if report.public and report.total_hidden else report.places_other or 0,
             "hidden": report.public and report.total_hidden}] if _other_places_shown(report) else []),
        "workplaces": [{"label": i.label, "cases": i.count} for i in report.workplaces],
        "brands": [{"label": i.label, "cases": i.count} for i in report.brands],
        "performance": dict(_performance(report)),
        "rises": [{"category": r.category, "cases": report.count_text(r.count), "previous": report.count_text(r.previous)}
                  for r in report.rises],
        "grievance_list": [line.__dict__ for line in report.grievance_list],
        "lines_withheld": report.count_text(report.lines_withheld),
        "worker_view": outcome.as_json(report.worker_view),
    }
    if report.by_story is not None:
        document["stories"] = counts(_one_way_rows(report.by_story))
    return json.dumps(document, ensure_ascii=False, indent=1, sort_keys=False) + "\n"


def chromium() -> str | None:
    """A headless Chromium to print with, if this machine has one."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")


def print_pdf(html_file: Path, pdf_file: Path, browser: str) -> None:
    """Print the HTML file to PDF with the given Chromium (nothing is fetched: the file is self-contained)."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(  # noqa: S603  a fixed argument list, the browser found on PATH
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
             f"--print-to-pdf={pdf_file}", html_file.resolve().as_uri()],
            check=True, capture_output=True, timeout=120,
        )


def write_report(report: Report, directory: Path, title: str, *, pdf: bool = False) -> list[Path]:
    """Write the report's files into `directory` (created 0700); the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    written = []

    def write(name: str, text: str) -> None:
        path = directory / name
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)
        written.append(path)

    write("report.html", render_html(report, title))
    write("report.json", as_json(report))
    for name, text in tables(report).items():
        write(name, text)
    if pdf:
        browser = chromium()
        if browser is None:
            raise RuntimeError("--pdf needs a headless Chromium (Debian package chromium)")
        print_pdf(directory / "report.html", directory / "report.pdf", browser)
        (directory / "report.pdf").chmod(0o600)
        written.append(directory / "report.pdf")
    return written
