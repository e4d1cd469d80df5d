"""Pattern reports (desk/reports/): the figures, disclosure control, the files, the command.

The figures are checked against a store of a few thousand generated cases whose answers
are counted here independently; the suppression by property tests whose check is a
linear program written in this file, not the one the product uses; the HTML by a headless
Chromium that renders it to PNG. Public reports across periods: tests/test_report_disclosure.py.
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
from desk.reports.build import build_report
from desk.reports.render import as_json, render_html, tables, write_report
from desk.reports.suppression import HIDDEN, Sums, protect_counts, suppress
from storage.keys import load_operator_identity
from desk.operator_store import CaseFilter, OperatorStore, store_location

CATEGORIES = ("wages", "hours", "safety", "harassment", "discrimination", "forced_labour", "child_labour",
              "association", "dismissal", "retaliation", "living_conditions", "environment_community", "other")
START, END = date(2026, 1, 1), date(2026, 6, 30)


# ---------------------------------------------------------------- disclosure control, as properties

def two_way(cells: list[list[int]]) -> tuple[Sums, list[int], list[tuple[str, tuple[int, ...]]]]:
    """A table as sums: its cells, row totals, column totals and total, every one an item."""
    sums = Sums()
    atoms = [[sums.atom(value) for value in row] for row in cells]
    named = []
    for i, row in enumerate(atoms):
        for j, atom in enumerate(row):
            named.append((f"cell:{i}:{j}", (atom,)))
        named.append((f"row:{i}", tuple(row)))
    for j in range(len(cells[0])):
        named.append((f"column:{j}", tuple(row[j] for row in atoms)))
    named.append(("total", tuple(a for row in atoms for a in row)))
    items = [sums.item(members) for _, members in named]
    return sums, items, named


def highest(values: list[int], named, hidden_names: set[str], target: int) -> float:
    """The most cases atom `target` can hold, given the published items; written apart from the product's program.

    One unknown per atom, an equality per published item, at least 1 for a hidden item
    (zeros are published), non-negative values.
    """
    n = len(values)
    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for name, members in named:
        row = np.zeros(n)
        row[list(members)] = 1
        if name in hidden_names:
            a_ub.append(-row)
            b_ub.append(-1)
        else:
            a_eq.append(row)
            b_eq.append(sum(values[m] for m in members))
    objective = np.zeros(n)
    objective[target] = -1
    result = linprog(objective, A_ub=np.array(a_ub) if a_ub else None, b_ub=b_ub or None,
                     A_eq=np.array(a_eq) if a_eq else None, b_eq=b_eq or None, bounds=[(0, None)] * n, method="highs")
    assert result.status in (0, 3)
    return float("inf") if result.status == 3 else -result.fun


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
def test_no_count_from_1_to_k_minus_1_is_published_or_can_be_held_under_k(cells, k):
    sums, items, named = two_way(cells)
    hidden = suppress(sums, k, new=items)
    hidden_names = {named[i][0] for i in hidden}
    for (name, members), item in zip(named, items):
        value = sums.value(item)
        assert item in hidden or not 0 < value < k, (name, value)
        assert not (item in hidden and value == 0), "a zero names nobody: it is published"
    for atom, value in enumerate(sums.atoms):
        if 0 < value < k:
            assert highest(sums.atoms, named, hidden_names, atom) >= k - 1e-6, (atom, value, cells, hidden_names)


@hypothesis_settings(max_examples=60, deadline=None, derandomize=True)
@given(counts=st.lists(st.one_of(st.integers(0, 4), st.integers(0, 60)), min_size=1, max_size=12), k=st.sampled_from([5, 10]))
def test_a_list_of_counts_with_its_total_hides_k_or_more_cases_or_none(counts, k):
    table = protect_counts(counts, k, [f"x{i}" for i in range(len(counts))], total_hidden=False)
    shown = {i: counts[i] for i in range(len(counts)) if (i, 0) not in table.hidden_cells}
    assert all(value == 0 or value >= k for value in shown.values())
    hidden = [i for i in range(len(counts)) if (i, 0) in table.hidden_cells]
    # The total is published, so the hidden counts add up to a known number: it must be 0 or k or more
    # (a hidden count is at least 1, so each of them could hold all of it but one per other hidden count).
    remainder = sum(counts) - sum(shown.values())
    assert remainder == sum(counts[i] for i in hidden)
    assert table.hidden_total == (0 < sum(counts) < k)
    assert table.hidden_total or not hidden or remainder - (len(hidden) - 1) >= k


def test_the_classic_example_needs_a_rectangle_of_hidden_cells_holding_k_or_more():
    cells = [[12, 3, 7], [8, 9, 1], [20, 30, 6]]
    sums, items, named = two_way(cells)
    hidden = {named[i][0] for i in suppress(sums, 5, new=items)}
    assert {"cell:0:1", "cell:1:2"} <= hidden  # the two counts under 5
    assert not hidden & {"total", "row:0", "row:1", "row:2", "column:0", "column:1", "column:2"}
    assert len(hidden) == 4, hidden  # two complements closing the cycle, no more


def test_items_decided_by_an_earlier_report_are_never_changed():
    sums, items, named = two_way([[12, 3], [8, 9]])
    earlier = {items[0]: False, items[1]: False}  # cell 0:0 (12) and 0:1 (3) were both published before
    with pytest.raises(RuntimeError, match="cannot be protected"):
        suppress(sums, 5, new=items[2:], decided=earlier)  # the 3 was published: nothing can hide it now


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
    published = [table.cells[i][j] for i in range(len(table.rows)) for j in range(len(table.columns))
                 if (i, j) not in table.hidden_cells]
    published += [table.row_totals[i] for i in range(len(table.rows)) if i not in table.hidden_rows]
    assert all(value == 0 or value >= 10 for value in published) and not table.hidden_total
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
    assert public.count_text(public.overdue_feedback) == HIDDEN and public.count_text(0) == "0"
    assert public.share_text(public.acknowledged_on_time) == "60%", "a share, without the number of cases it is of"


def test_categories_that_rose_against_the_previous_period():
    facts = [fact(date(2026, 2, 10), category="hours")] * 2 + [fact(date(2026, 3, 10), category="hours")] * 6
    facts += [fact(date(2026, 2, 11), category="wages")] * 5 + [fact(date(2026, 3, 11), category="wages")] * 5
    report = build_report(facts, start=date(2026, 3, 1), end=date(2026, 3, 31), profile="internal", categories=CATEGORIES)
    assert [(r.category, r.count, r.previous) for r in report.rises] == [("hours", 6, 2)]


@pytest.mark.parametrize("agreed, not_agreed, lone, named", [
    (5, 5, 0, {"Sunrise Garments Ltd": 5, "": 5}),
    (5, 3, 1, {"": 9}),  # naming Sunrise would leave 4 lines naming none: a small group, so none is named
    (4, 6, 0, {"": 10}),  # too few agreed
    (6, 0, 0, {"Sunrise Garments Ltd": 6}),
])
def test_a_company_is_named_only_where_the_worker_agreed_and_every_group_of_lines_is_k_or_more(agreed, not_agreed, lone, named):
    day = date(2026, 3, 2)
    facts = [fact(day, workplace="Sunrise Garments Ltd", referral=True) for _ in range(agreed)]
    facts += [fact(day, workplace="Sunrise Garments", referral=False) for _ in range(not_agreed)]
    facts += [fact(day, workplace="Lone Factory", referral=True) for _ in range(lone)]
    report = build_report(facts, start=date(2026, 3, 1), end=date(2026, 3, 31), profile="public", categories=CATEGORIES)
    assert Counter(line.company for line in report.grievance_list) == named
    assert {item.label: item.count for item in report.workplaces} == {name: n for name, n in named.items() if name}


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
    assert "Counts from 1 to 4 are not published" in html
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
        assert rows[i + 1].split(",")[j + 1] == HIDDEN
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
    result = run(settings, "report", "--from", "2026-01-01", "--to", "2026-03-31", "--profile", "public",
                 "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "public report of 2026-Q1" in result.output and "2026-01, 2026-02, 2026-03" in result.output
    names = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert {"report.html", "report.json", "category_by_month.csv", "grievance_list.csv"} <= set(names)
    assert oct((tmp_path / "out" / "report.html").stat().st_mode & 0o777) == "0o600"
    refused = run(settings, "report", "--from", "2026-03-01", "--to", "2026-02-01", "--profile", "public", "-o", str(tmp_path / "x"))
    assert refused.exit_code == 2 and "--to is before --from" in refused.output


@pytest.mark.parametrize("start, end, says", [
    ("2026-02-01", "2026-03-31", "whole calendar month, quarter or year"),  # two months
    ("2026-01-01", "2026-03-30", "whole calendar month, quarter or year"),  # the audit's pair of periods
    ("2026-03-02", "2026-03-31", "whole calendar month, quarter or year"),
    ("2026-12-01", "2026-12-31", "has not ended yet"),  # the machine's clock says December 2026 is not over
])
def test_a_public_report_of_any_other_period_is_refused(settings, tmp_path, monkeypatch, start, end, says):
    import desk.reports.cli as report_cli

    monkeypatch.setattr(report_cli, "today", lambda: date(2026, 12, 7))
    result = run(settings, "report", "--from", start, "--to", end, "--profile", "public", "-o", str(tmp_path / "out"))
    assert result.exit_code == 2 and says in result.output, result.output
    assert not (tmp_path / "out").exists()
    internal = run(settings, "report", "--from", start, "--to", end, "--profile", "internal", "-o", str(tmp_path / "in"))
    assert internal.exit_code == 0, internal.output


def test_a_pdf_is_printed_with_the_headless_browser(public_report, tmp_path):
    written = write_report(public_report, tmp_path / "pdf", "Test hotline", pdf=True)
    pdf = tmp_path / "pdf" / "report.pdf"
    assert pdf in written and pdf.read_bytes().startswith(b"%PDF-") and pdf.stat().st_size > 10_000
