"""The workers' view of the outcome in the pattern reports: did it help? yes, partly, no.

Counted by the month the desk kept each answer, for the answers of the period; every count in
the internal profile; in the public one the year's release of the table (the method of every
public count): an attacker who reads the table in every public report of a year (its months,
quarters and the year) cannot pin any count under k below k. The same figures in report.html,
worker_view.csv and report.json; read from the operator store.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections import defaultdict
from datetime import date

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from desk.dialogue import OperatorDialogue
from desk.reports.build import build_report
from desk.reports.outcome import Outcome, outcome_table, read_outcomes
from desk.reports.render import as_json, render_html, tables
from desk.reports.suppression import HIDDEN
from desk.worker_answers import apply_answer, read_answer
from desk_support import identity_in, operator_deployment, store_in
from desk.operator_store import OperatorStore

START, END = date(2026, 1, 1), date(2026, 3, 31)
MONTHS = ("2026-01", "2026-02", "2026-03")


def answers(*spec: tuple[str, str | None, int]) -> list[Outcome]:
    """(month, helped, how many) -> that many outcomes on the 10th of the month."""
    return [Outcome(date.fromisoformat(f"{month}-10"), helped) for month, helped, n in spec for _ in range(n)]


VIEWS = answers(("2026-01", "yes", 7), ("2026-01", "partly", 2), ("2026-01", "no", 6), ("2026-02", "yes", 9), ("2026-02", "no", 1),
                ("2026-02", "partly", 8), ("2026-03", "yes", 12), ("2026-03", None, 1),
                ("2025-12", "no", 40), ("2026-04", "yes", 40))  # outside the period: not counted


def test_the_internal_profile_counts_every_answer_of_the_period():
    table = outcome_table(VIEWS, START, END, public=False, k=5)
    assert table.rows == ("yes", "partly", "no", "not said") and table.columns == MONTHS
    assert table.cells == ((7, 9, 12), (2, 8, 0), (6, 1, 0), (0, 0, 1))
    assert table.total == 46 and not table.hides_anything


def test_no_answer_in_the_period_is_said_and_a_comment_only_row_shows_only_when_there_is_one():
    assert outcome_table(answers(("2025-12", "yes", 9)), START, END, False, 5) is None
    assert outcome_table(answers(("2025-12", "yes", 9)), START, END, True, 5) is None
    assert outcome_table(answers(("2026-02", "yes", 9)), START, END, False, 5).rows == ("yes", "partly", "no")


def test_the_report_shows_the_table_in_html_csv_and_json_with_hidden_counts_hidden():
    report = build_report([], start=START, end=END, profile="public", categories=["wages"], k=5, outcomes=VIEWS)
    html = render_html(report, "Test")
    section = html.split("The workers' view of the outcome")[1].split("Published list")[0]
    assert "It helped partly" in section and f'<td class="hidden">{HIDDEN}</td>' in section and "<td>46</td>" in section
    rows = {row[0]: row for row in csv.reader(tables(report)["worker_view.csv"].splitlines())}
    assert rows["helped"] == ["helped", *MONTHS, "total"]
    assert rows["partly"][1] == HIDDEN and rows["yes"][1] == "7"  # 2 answers "partly" in January: not published
    assert rows["not said"][3] == HIDDEN and rows["total"][-1] == "46"
    document = json.loads(as_json(report))["worker_view"]
    partly = next(row for row in document["rows"] if row["helped"] == "partly")
    assert partly["cells"][0] is None and document["months"] == list(MONTHS)
    empty = build_report([], start=START, end=END, profile="public", categories=["wages"], k=5)
    assert "No worker answered in this period." in render_html(empty, "Test")
    assert tables(empty)["worker_view.csv"] == "helped,total\n" and json.loads(as_json(empty))["worker_view"] is None


YEAR_OF_ANSWERS = answers(*[(f"2026-{m:02d}", helped, n) for m, spec in enumerate([
    {"yes": 6, "partly": 2, "no": 1}, {"yes": 3, "no": 4}, {"yes": 7, "partly": 5, None: 1}, {"partly": 1},
    {"yes": 9, "no": 2}, {}, {"yes": 4, "partly": 4, "no": 4}, {"no": 1, None: 2}, {"yes": 12, "partly": 3},
    {"yes": 5}, {"partly": 2, "no": 6}, {"yes": 8, "partly": 1, "no": 1}], start=1) for helped, n in spec.items()])


def every_public_period(year: int) -> list[tuple[date, date]]:
    ends = [date(year + (m == 12), m % 12 + 1, 1).toordinal() - 1 for m in range(1, 13)]
    months = [(date(year, m, 1), date.fromordinal(ends[m - 1])) for m in range(1, 13)]
    quarters = [(date(year, 3 * q - 2, 1), date.fromordinal(ends[3 * q - 1])) for q in range(1, 5)]
    return months + quarters + [(date(year, 1, 1), date(year, 12, 31))]


@pytest.mark.parametrize("k", [3, 5])
def test_the_attacker_learns_no_count_under_k_from_the_table_in_every_public_report_of_a_year(k):
    """Every cell, row total, month total and total of every public report of the year, in one integer program."""
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    rows = ("yes", "partly", "no", "not said")
    index = {(row, m): i for i, (row, m) in enumerate((row, m) for row in rows for m in months)}
    equations: list[tuple[dict[int, int], int]] = []

    def publish(cells: list[tuple[str, str]], value) -> None:
        if value is not None:
            coefficients: dict[int, int] = defaultdict(int)
            for cell in cells:
                coefficients[index[cell]] += 1
            equations.append((dict(coefficients), value))

    for start, end in every_public_period(2026):
        document = json.loads(as_json(build_report([], start=start, end=end, profile="public", categories=["wages"], k=k,
                                                   outcomes=YEAR_OF_ANSWERS)))["worker_view"]
        if document is None:
            continue
        named = [row["helped"] for row in document["rows"] if row["helped"] != "total"]
        for row in document["rows"]:
            members = rows if row["helped"] == "total" else [row["helped"]]
            for month, value in zip(document["months"], row["cells"]):
                publish([(r, month) for r in members], value)
            publish([(r, m) for r in members for m in document["months"]], row["total"])
        assert set(named) <= set(rows)
    true = {(o.row, o.given_on.strftime("%Y-%m")): 0 for o in YEAR_OF_ANSWERS}
    for o in YEAR_OF_ANSWERS:
        true[(o.row, o.given_on.strftime("%Y-%m"))] += 1
    exposed, checked = [], 0
    for cell, value in sorted(true.items()):
        if 1 <= value < k:
            checked += 1
            a = np.zeros((len(equations), len(index)))
            b = np.array([value for _, value in equations], dtype=float)
            for i, (coefficients, _) in enumerate(equations):
                for j, c in coefficients.items():
                    a[i, j] = c
            objective = np.zeros(len(index))
            objective[index[cell]] = -1
            result = milp(objective, constraints=LinearConstraint(a, b, b), integrality=np.ones(len(index)), bounds=Bounds(0, 1000))
            assert result.status == 0, result.message
            if -result.fun < k:
                exposed.append((cell, value, -result.fun))
    assert checked >= 8, "the year has small counts to protect"
    assert not exposed, f"counts under {k} pinned below {k}: {exposed}"


def test_every_answer_is_read_from_the_store_on_the_day_the_desk_kept_it(tmp_path, operator_store):
    config = operator_deployment(tmp_path / "desk", operator_store)
    dialogue = OperatorDialogue(store_in(config), identity_in(config))  # creates the desk's tables
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    try:
        for case_id, day, kept, helped in ((first, "2026-01-31", "2026-02-01", "no"), (second, "2026-02-08", None, None)):
            answer = read_answer({"answer_id": str(uuid.uuid4()), "case_id": case_id, "received_at": f"{day}T23:59:00+00:00",
                                  "text": "words never read by a report", "kind": "feedback", "helped": helped})
            dialogue.keep_answer(answer)
            apply_answer(dialogue.engine, answer, kept)
    finally:
        dialogue.close()
    store = OperatorStore(store_in(config), identity_in(config))
    try:
        # Answered on 31 January, kept on 1 February: counted in February, so a January already published never changes.
        assert read_outcomes(store) == [Outcome(date(2026, 2, 1), "no"), Outcome(date(2026, 2, 8), None)]
    finally:
        store.close()


def test_a_store_that_never_pulled_an_answer_has_no_outcomes(tmp_path, operator_store):
    config = operator_deployment(tmp_path / "desk", operator_store)
    store = OperatorStore(store_in(config), identity_in(config))
    try:
        assert read_outcomes(store) == []
    finally:
        store.close()
