"""The workers' own view of the outcome in the pattern reports: did it help? yes, partly, no.

A resolved or closed case asks its worker once (UN Guiding Principle 31 (g): a mechanism
learns whether it works for the people it serves). The desk keeps each answer's choice and
the day it kept it apart from its words (desk/worker_answers.py, `operator_feedback`). A
report counts the answers of its period by month, one table (rows: the choices, and "not
said" when a worker commented without choosing; columns: the months):

- internal: every count;
- public: the year's release of this table (desk/reports/release.py), the same method as
  every public count, so that no report of the year, nor any set of them, gives away a
  count under k. The table counts answers, not cases, so it is a release of its own (its
  total is the number of answers): tied to the cases' tables, the sums would not hold. An
  answer is counted in the month the desk kept it, which never changes once a month is
  over (a month counted by the day the worker answered would change when a late pull
  brings one more answer of a month already published).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import inspect

from desk.operator_store import OperatorStore
from desk.worker_answers import feedback_given

from .figures import months_between
from .periods import month, public_period
from .release import TOTAL, CountTable, release_year
from .suppression import ProtectedTable, exact_table
from .words import ENGLISH_WORDS, N_, Words

ROWS = ("yes", "partly", "no")
NOT_SAID = "not said"
LABELS = {"yes": N_("It helped"), "partly": N_("It helped partly"), "no": N_("It did not help"),
          NOT_SAID: N_("No choice, a comment only")}
TABLE = "outcome"


@dataclass(frozen=True)
class Outcome:
    """One worker's view of the outcome of their case: the day the desk kept it and their choice."""

    given_on: date
    helped: str | None

    @property
    def row(self) -> str:
        return self.helped if self.helped in ROWS else NOT_SAID


def read_outcomes(store: OperatorStore) -> list[Outcome]:
    """Every view of an outcome the desk kept (none in a store that never pulled one), oldest first."""
    with store.engine.connect() as connection:
        if not inspect(connection).has_table("operator_feedback"):
            return []
        return [Outcome(date.fromisoformat(day), helped) for _case_id, day, helped in feedback_given(connection)]


def outcome_table(outcomes: Iterable[Outcome], start: date, end: date, public: bool, k: int) -> ProtectedTable | None:
    """The answers of the period by choice and month; None when no answer was given in it."""
    outcomes = list(outcomes)
    if not any(start <= o.given_on <= end for o in outcomes):
        return None
    if public:
        return _public_table(outcomes, start, end, k)
    months = months_between(start, end)
    counts = Counter((o.row, o.given_on.strftime("%Y-%m")) for o in outcomes if start <= o.given_on <= end)
    rows = [*ROWS, *((NOT_SAID,) if any(row == NOT_SAID for row, _ in counts) else ())]
    return exact_table([[counts.get((row, m), 0) for m in months] for row in rows], rows, months)


def _public_table(outcomes: list[Outcome], start: date, end: date, k: int) -> ProtectedTable:
    """The period's table from the release of the year's answers through the period's last month."""
    period = public_period(start, end)
    counts = Counter((o.row, o.given_on.month) for o in outcomes
                     if o.given_on.year == period.year and o.given_on.month <= period.last)
    release = release_year([CountTable(TABLE, (*ROWS, NOT_SAID), dict(counts))], period.year, period.last, k)
    present = {row for (name, row, p) in release.values if name == TABLE and p == period}
    rows = [row for row in (*ROWS, NOT_SAID) if row in present or row in ROWS]
    months = [month(period.year, m) for m in period.months]
    cells, hidden_cells = [], set()
    for i, row in enumerate(rows):
        cells.append(tuple(release.values.get((TABLE, row, m), 0) for m in months))
        hidden_cells |= {(i, j) for j, m in enumerate(months) if release.is_hidden(TABLE, row, m)}
    return ProtectedTable(
        rows=tuple(rows), columns=tuple(m.label for m in months), cells=tuple(cells),
        row_totals=tuple(release.values.get((TABLE, row, period), 0) for row in rows),
        column_totals=tuple(release.values[(TOTAL, TOTAL, m)] for m in months),
        total=release.values[(TOTAL, TOTAL, period)],
        hidden_cells=frozenset(hidden_cells),
        hidden_rows=frozenset(i for i, row in enumerate(rows) if release.is_hidden(TABLE, row, period)),
        hidden_columns=frozenset(j for j, m in enumerate(months) if release.is_hidden(TOTAL, TOTAL, m)),
        hidden_total=release.is_hidden(TOTAL, TOTAL, period),
    )


def view_rows(table: ProtectedTable, _: Words = ENGLISH_WORDS) -> list[dict]:
    """The table's rows for the HTML, CSV and JSON: label (in `_`'s language), key, then each month's cell and
    the total (each with its shown text and whether it is hidden); a last row of the month totals."""
    rows = []
    for i, key in enumerate(table.rows):
        cells = [{"hidden": (i, j) in table.hidden_cells, "text": table.cell_text(i, j), "value": table.cells[i][j]}
                 for j in range(len(table.columns))]
        cells.append({"hidden": i in table.hidden_rows, "text": table.row_total_text(i), "value": table.row_totals[i]})
        rows.append({"label": _(LABELS[key]), "key": key, "cells": cells})
    totals = [{"hidden": j in table.hidden_columns, "text": table.column_total_text(j), "value": table.column_totals[j]}
              for j in range(len(table.columns))]
    totals.append({"hidden": table.hidden_total, "text": table.total_text(), "value": table.total})
    rows.append({"label": _("All answers"), "key": "total", "cells": totals})
    return rows


def as_csv_rows(table: ProtectedTable | None) -> list[list[str]]:
    """worker_view.csv: helped, one column per month, total (hidden counts as HIDDEN)."""
    if table is None:
        return [["helped", "total"]]
    return [["helped", *table.columns, "total"]] + [[row["key"], *(c["text"] for c in row["cells"])] for row in view_rows(table)]


def as_json(table: ProtectedTable | None) -> dict | None:
    """The table in report.json: hidden counts as null."""
    if table is None:
        return None
    return {"months": list(table.columns),
            "rows": [{"helped": row["key"], "cells": [None if c["hidden"] else c["value"] for c in row["cells"][:-1]],
                      "total": None if row["cells"][-1]["hidden"] else row["cells"][-1]["value"]} for row in view_rows(table)]}
