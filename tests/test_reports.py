"""Pattern reports (desk/reports/): the figures, disclosure control, the files, the command.

The figures are checked against a store of a few thousand generated cases whose answers
are counted here independently; the suppression by property tests whose feasibility check
is a linear program written in this file, not the one the product uses; the HTML by a
headless Chromium that renders it to PNG.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, timedelta

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings as hypothesis_settings, strategies as st
from scipy.optimize import linprog

from bot.cli import cli
from desk.reports.demo import FAKE_MARK, fill_demo_store
from desk.reports.facts import CaseFacts, group_key, read_facts
from desk.reports.figures import build_report
from desk.reports.render import as_json, render_html, tables, write_report
from desk.reports.suppression import ProtectedTable, protect, protect_counts
from storage.keys import load_operator_identity
from desk.operator_store import CaseFilter, OperatorStore, store_location

CATEGORIES = ("wages", "hours", "safety", "harassment", "discrimination", "forced_labour", "child_labour",
              "association", "dismissal", "retaliation", "living_conditions", "environment_community", "other")
START, END = date(2026, 1, 1), date(2026, 6, 30)


# ---------------------------------------------------------------- disclosure control, as properties

def feasible_interval(table: ProtectedTable, place: str) -> tuple[float, float]:
    """The least and greatest value a hidden count can have, given everything the table publishes.

    Written independently of desk/reports/suppression.py: one unknown per cell of the table
    (hidden or not), equalities for every published count (cells, row totals, column totals,
    the total), non-negative values, and the objective on the count at `place`.
    """
    rows, columns = len(table.rows), len(table.columns)
    n = rows * columns

    def vector(kind: str, index: tuple[int, ...]) -> np.ndarray:
        v = np.zeros(n)
        if kind == "cell":
            v[index[0] * columns + index[1]] = 1
        elif kind == "row":
            v[index[0] * columns:(index[0] + 1) * columns] = 1
        elif kind == "column":
            v[index[0]::columns] = 1
        else:
            v[:] = 1
        return v

    equalities, values = [], []
    for name, value in table.published().items():
        kind, *index = name.split(":")
        equalities.append(vector(kind, tuple(int(i) for i in index)))
        values.append(value)
    kind, *index = place.split(":")
    objective = vector(kind, tuple(int(i) for i in index))
    kwargs = {"A_eq": np.array(equalities), "b_eq": np.array(values)} if equalities else {}
    low = linprog(objective, bounds=[(0, None)] * n, method="highs", **kwargs)
    high = linprog(-objective, bounds=[(0, None)] * n, method="highs", **kwargs)
    assert low.status == 0
    return low.fun, (float("inf") if high.status == 3 else -high.fun)


def hidden_places(table: ProtectedTable) -> list[str]:
    places = [f"cell:{i}:{j}" for i, j in table.hidden_cells]
    places += [f"row:{i}" for i in table.hidden_rows] + [f"column:{j}" for j in table.hidden_columns]
    return places + (["total"] if table.hidden_total else [])


tables_of_counts = st.integers(1, 5).flatmap(
    lambda rows: st.integers(1, 6).flatmap(
        lambda columns: st.lists(
            st.lists(st.one_of(st.integers(0, 4), st.integers(0, 40)), min_size=columns, max_size=columns),
            min_size=rows, max_size=rows,
        )
    )
)


@hypothesis_settings(max_examples=80, deadline=None, derandomize=True)
@given(cells=tables_of_counts, k=st.sampled_from([3, 5, 10]))
def test_no_published_count_is_under_k_and_no_hidden_count_can_be_pinned_down(cells, k):
    table = protect(cells, k, [f"r{i}" for i in range(len(cells))], [f"c{j}" for j in range(len(cells[0]))])
    assert all(value >= k for value in table.published().values())
    for place in hidden_places(table):
        low, high = feasible_interval(table, place)
        assert high - low > 1e-6, (place, low, high, cells)


@hypothesis_settings(max_examples=60, deadline=None, derandomize=True)
@given(counts=st.lists(st.one_of(st.integers(0, 4), st.integers(0, 60)), min_size=1, max_size=12), k=st.sampled_from([5, 10]))
def test_a_list_of_counts_with_its_total_hides_at_least_two_or_none(counts, k):
    table = protect_counts(counts, k, [f"x{i}" for i in range(len(counts))])
    shown = {i: counts[i] for i in range(len(counts)) if (i, 0) not in table.hidden_cells}
    assert all(value >= k for value in shown.values())
    hidden = [i for i in range(len(counts)) if (i, 0) in table.hidden_cells]
    if hidden and not table.hidden_total:
        assert len(hidden) >= 2, "one hidden count and a published total give it away"
        remainder = table.total - sum(shown.values())
        for i in hidden:  # each hidden count can be anything from 0 to what the others leave
            assert remainder > 0 or all(counts[j] == 0 for j in hidden)


def test_the_classic_example_needs_a_rectangle_of_hidden_cells():
    table = protect([[12, 3, 7], [8, 9, 1], [20, 30, 6]], 5, "abc", "xyz")
    assert {(0, 1), (1, 2)} <= table.hidden_cells  # the two counts under 5
    assert len(table.hidden_cells) == 4  # and two complements closing the cycle, no more
    assert not table.hidden_rows and not table.hidden_columns and not table.hidden_total


# ---------------------------------------------------------------- figures on a known store

@pytest.fixture
def demo_store(settings):
    identity = load_operator_identity(settings.path(settings.operator.identity_file))
    store = OperatorStore(store_location(settings), identity)
    fill_demo_store(store, 3000, start=START, end=END, seed=11)
    yield store
    store.close()


def records_of(store: OperatorStore) -> list[dict]:
    return [case.record | {"status": case.status} for case in store.iter_cases(CaseFilter())]


def test_internal_figures_match_the_cases_counted_one_by_one(demo_store):
    records = [r for r in records_of(demo_store) if date(2026, 3, 1) <= date.fromisoformat(r["received_at"][:10]) <= END]
    report = build_report(read_facts(demo_store, END), start=date(2026, 3, 1), end=END, profile="internal",
                          categories=CATEGORIES, as_of=END)
    table = report.by_category_month
    assert table.total == len(records) and not table.hidden_cells
    expected = Counter((r["category"], r["received_at"][:7]) for r in records)
    for i, category in enumerate(table.rows):
        for j, month in enumerate(table.columns):
            assert table.cells[i][j] == expected.get((category, month), 0)
    channels = Counter(r["channel"] for r in records)
    assert dict(zip(report.by_channel.rows, (row[0] for row in report.by_channel.cells))) == dict(channels)
    assert report.by_urgency.cells[0][0] == sum(r["urgent"] for r in records)
    statuses = Counter(r["status"] for r in records)
    assert dict(zip(report.by_status.rows, (row[0] for row in report.by_status.cells))) == dict(statuses)
    workplaces = Counter(group_key(r["answers"]["workplace"]) for r in records)
    assert {group_key(item.label): item.count for item in report.workplaces} == {w: n for w, n in workplaces.items() if n >= 2}
    assert len(report.grievance_list) == len(records) and report.lines_withheld == 0


def test_the_public_profile_hides_small_counts_and_rare_names(demo_store):
    facts = list(read_facts(demo_store, END))
    report = build_report(facts, start=date(2026, 6, 1), end=END, profile="public", categories=CATEGORIES, k=10, as_of=END)
    table = report.by_category_month
    assert all(value >= 10 for value in table.published().values())
    assert all(item.count >= 10 for item in report.workplaces + report.brands + report.places)
    assert report.places_other is None or report.places_other >= 10
    hidden = {(table.rows[i], table.columns[j]) for i, j in table.hidden_cells}
    assert hidden, "a month of 3000 cases over 13 categories has small cells"
    listed = Counter((line.category, line.month) for line in report.grievance_list)
    assert not set(listed) & hidden, "no published line falls in a hidden count"
    assert report.lines_withheld == sum(table.cells[i][j] for i, j in table.hidden_cells)
    places = Counter((line.category, line.month, line.place) for line in report.grievance_list)
    assert all(n >= 10 or place == "-" for (_, _, place), n in places.items())
    assert not any(line.company for line in report.grievance_list), "no worker agreed to referral in this store"


def fact(received: date, *, acknowledged: int | None = None, concluded: int | None = None, category="wages",
         status="received", workplace=None, referral=False) -> CaseFacts:
    return CaseFacts(
        received=received, category=category, urgent=False, channel="sms", language="en", status=status,
        location=None, location_label=None, workplace=group_key(workplace), workplace_label=workplace, brand=None,
        brand_label=None, acknowledged=received + timedelta(days=acknowledged) if acknowledged is not None else None,
        concluded=received + timedelta(days=concluded) if concluded is not None else None, referral_agreed=referral,
    )


def test_the_mechanisms_own_timings_and_promises():
    day = date(2026, 3, 1)
    facts = [fact(day, acknowledged=a, concluded=c, status=s) for a, c, s in (
        (1, 10, "resolved"), (3, None, "in_review"), (5, 100, "closed"), (9, None, "acknowledged"), (None, None, "received"),
    )]
    report = build_report(facts, start=day, end=date(2026, 3, 31), profile="internal", categories=CATEGORIES,
                          as_of=date(2026, 7, 1), acknowledge_within_days=7, feedback_within_days=90)
    assert (report.acknowledge.median, report.acknowledge.p90, report.acknowledge.cases) == (4.0, 9.0, 4)
    assert (report.conclude.median, report.conclude.p90) == (55.0, 100.0)
    assert (report.acknowledged_on_time.due, report.acknowledged_on_time.kept) == (5, 3)
    assert (report.feedback_on_time.due, report.feedback_on_time.kept) == (5, 1)
    assert report.overdue_acknowledgement == 1 and report.overdue_feedback == 3
    public = build_report(facts, start=day, end=date(2026, 3, 31), profile="public", categories=CATEGORIES, as_of=date(2026, 7, 1))
    assert public.timing_text(public.acknowledge, "median") == "not enough cases"
    assert public.count_text(public.overdue_feedback) == "<5"


def test_categories_that_rose_against_the_previous_period():
    facts = [fact(date(2026, 2, 10), category="hours")] * 2 + [fact(date(2026, 3, 10), category="hours")] * 6
    facts += [fact(date(2026, 2, 11), category="wages")] * 5 + [fact(date(2026, 3, 11), category="wages")] * 5
    report = build_report(facts, start=date(2026, 3, 1), end=date(2026, 3, 31), profile="internal", categories=CATEGORIES)
    assert [(r.category, r.count, r.previous) for r in report.rises] == [("hours", 6, 2)]


def test_a_company_is_named_only_where_the_worker_agreed_and_enough_cases_share_it():
    day = date(2026, 3, 2)
    facts = [fact(day, workplace="Sunrise Garments Ltd", referral=True) for _ in range(5)]
    facts += [fact(day, workplace="Sunrise Garments", referral=False) for _ in range(3)]
    facts += [fact(day, workplace="Lone Factory", referral=True)]
    report = build_report(facts, start=day, end=day, profile="public", categories=CATEGORIES)
    named = Counter(line.company for line in report.grievance_list)
    assert named == {"Sunrise Garments Ltd": 5, "": 4}


# ---------------------------------------------------------------- the files

@pytest.fixture
def public_report(demo_store):
    return build_report(read_facts(demo_store, END), start=date(2026, 4, 1), end=END, profile="public",
                        categories=CATEGORIES, as_of=END, country="Bangladesh")


def test_the_html_is_self_contained_and_the_same_bytes_twice(public_report, tmp_path):
    html = render_html(public_report, "Test hotline")
    assert html == render_html(public_report, "Test hotline")
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|@import""", html), "nothing is loaded"
    assert html.count("<svg") == 2
    assert "Counts under 5 are not shown" in html
    assert FAKE_MARK not in html and "00000000000000" not in html  # no description, no case code
    first = {path.name: path.read_bytes() for path in write_report(public_report, tmp_path / "a", "T")}
    second = {path.name: path.read_bytes() for path in write_report(public_report, tmp_path / "b", "T")}
    assert first == second


def test_csv_and_json_show_what_the_html_shows(public_report):
    files = tables(public_report)
    table = public_report.by_category_month
    rows = files["category_by_month.csv"].splitlines()
    assert rows[0] == ",".join(["category", *table.columns, "total"])
    if table.hidden_cells:
        i, j = sorted(table.hidden_cells)[0]
        assert rows[i + 1].split(",")[j + 1] == "<5"
    document = json.loads(as_json(public_report))
    cells = document["category_by_month"]["rows"][0]["cells"]
    assert len(cells) == len(table.columns)
    hidden_json = sum(cell is None for row in document["category_by_month"]["rows"][:-1] for cell in row["cells"])
    assert hidden_json == len(table.hidden_cells)
    assert document["report"]["k"] == 5 and "grievance_list.csv" in document["report"]["columns"]


def test_internal_reports_say_do_not_publish(demo_store):
    report = build_report(read_facts(demo_store, END), start=START, end=END, profile="internal", categories=CATEGORIES)
    html = render_html(report, "Test hotline (internal: do not publish)")
    assert html.count("internal: do not publish") >= 2 and "Internal: do not publish" in html


def test_the_report_renders_in_a_real_browser(public_report, tmp_path):
    from PIL import Image

    from browser_support import screenshot

    (path,) = [p for p in write_report(public_report, tmp_path / "report", "Test hotline") if p.name == "report.html"]
    png = screenshot(path.resolve().as_uri(), tmp_path / "report.png", width=1200, height=2400)
    image = Image.open(png).convert("L")
    histogram = image.histogram()
    assert histogram[255] < 0.97 * sum(histogram), "the page is not blank"
    # The bar colour of the charts is on the page (#2f6f8f as grey: 0.299*47 + 0.587*111 + 0.114*143).
    assert sum(histogram[90:100]) > 500, "the charts are drawn"


# ---------------------------------------------------------------- the command

def run(settings, *args: str):
    return CliRunner().invoke(cli, list(args), obj={"settings": settings}, catch_exceptions=False)


def test_the_report_command_writes_the_files_from_the_operators_store(settings, tmp_path):
    assert run(settings, "demo-data", "--cases", "400", "--from", "2026-01-01", "--to", "2026-03-31").exit_code == 0
    result = run(settings, "report", "--from", "2026-02-01", "--to", "2026-03-31", "--profile", "public",
                 "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    names = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert {"report.html", "report.json", "category_by_month.csv", "grievance_list.csv"} <= set(names)
    assert oct((tmp_path / "out" / "report.html").stat().st_mode & 0o777) == "0o600"
    refused = run(settings, "report", "--from", "2026-03-01", "--to", "2026-02-01", "--profile", "public", "-o", str(tmp_path / "x"))
    assert refused.exit_code == 2 and "--to is before --from" in refused.output


def test_a_pdf_is_printed_with_the_headless_browser(public_report, tmp_path):
    written = write_report(public_report, tmp_path / "pdf", "Test hotline", pdf=True)
    pdf = tmp_path / "pdf" / "report.pdf"
    assert pdf in written and pdf.read_bytes().startswith(b"%PDF-") and pdf.stat().st_size > 10_000
