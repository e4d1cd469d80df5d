"""Triage on the case page: re-categorising with a reason (lists and reports follow, the record keeps what
was filed), the NLU's suggestion and confidence, duplicates and collective grievances; roles, CSRF, audit."""

from __future__ import annotations

import json
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.case_record import validate_case_record
from bot.cli import cli
from desk.categories import CaseCategories, CategoryChangeError
from desk.export import export_line
from desk.operator_store import CaseFilter, category_changes
from desk.reports.facts import read_facts
from desk_web_support import Clock, Desk, csrf_of

WORDS = "The supervisor touches the women on the night shift and says it is part of the job"
REASON = "The worker describes sexual harassment by a supervisor, not unpaid wages"


def record(*, category: str = "wages", workplace: str = "Sunrise Garments Ltd", suggested: str | None = "wages",
           confidence: float = 0.62, kind: str = "report", case_id: str | None = None, code: str = "41234567890126") -> dict:
    answers = {"workplace": workplace, "location": "Gazipur", "brand": None, "when": "last week", "ongoing": True,
               "people_affected": 12, "urgent": False, "contact_consent": False}
    return {
        "schema_version": 1, "case_id": case_id or str(uuid.uuid4()), "code": code, "received_at": "2026-11-18T10:00:00Z",
        "acknowledge_by": "2026-11-25", "channel": "sms", "language": "en", "kind": kind, "category": category,
        "urgent": kind == "alert", "description": WORDS, "answers": answers,
        "nlu": {"backend": "builtin", "suggested_category": suggested, "confidence": confidence, "urgent_signal": False},
        "contact": None,
    }


@pytest.fixture
def desk(bare_desk):
    bare_desk.add_accounts()  # Argon2id hashes: only for the tests that sign in
    return bare_desk


@pytest.fixture
def bare_desk(services):
    built = Desk(services, Clock())
    built.cases = [record(), record(workplace="Sunrise Garments"), record(workplace="Rahman Knitwear", suggested=None, confidence=0.21)]
    for item in built.cases:
        built.cases_store.add(item)
    built.context.refresh()
    yield built
    built.close()


def signed_in(desk, name: str):
    client = desk.client()
    assert desk.sign_in(client, name).status_code == 302
    return client


def audit(desk, action: str) -> list:
    return [entry for entry in desk.store.audit_entries() if entry.action == action]


# ---------------------------------------------------------------- the category


def test_a_case_worker_changes_the_category_with_a_reason_and_the_record_keeps_what_was_filed(desk):
    client = signed_in(desk, "cai")
    case = desk.cases[0]["case_id"]
    page = client.get(f"/cases/{case}")
    assert 'id="category-now">Wages, pay<' in page.text and 'id="category-filed"' not in page.text
    token = csrf_of(page.text)
    refused = client.post(f"/cases/{case}/category", data={"category": "harassment", "reason": " ", "csrf_token": token},
                          follow_redirects=True)
    assert "needs a new category and a reason" in refused.text
    assert client.post(f"/cases/{case}/category", data={"category": "no_such", "reason": REASON, "csrf_token": token},
                       follow_redirects=True).status_code == 200
    assert CaseCategories(desk.cases_store, desk.settings.flow.categories).current(case) == "wages", "nothing changed yet"

    done = client.post(f"/cases/{case}/category", data={"category": "harassment", "reason": REASON, "csrf_token": token},
                       follow_redirects=True)
    assert "Category changed." in done.text
    assert 'id="category-filed"' in done.text and REASON in done.text  # the history shows the reason to the team
    assert desk.cases_store.get(case)["category"] == "wages", "the sealed record keeps the category it was filed under"
    assert [s.case_id for s in desk.cases_store.summaries(category="harassment")] == [case], "lists follow the case worker"
    again = client.post(f"/cases/{case}/category", data={"category": "harassment", "reason": REASON, "csrf_token": token},
                        follow_redirects=True)
    assert "already in that category" in again.text

    [line] = audit(desk, "category_changed")
    assert (line.actor, line.target, line.detail) == ("cai", case, "wages->harassment")
    assert REASON not in json.dumps([e.__dict__ for e in desk.store.audit_entries()]), "the audit log never holds the reason"
    with desk.cases_store.engine.connect() as connection:
        blob = connection.execute(select(category_changes.c.reason)).scalar_one()
    assert REASON.encode() not in blob, "the reason is encrypted at rest"


def test_the_desks_lists_search_and_patterns_follow_a_category_change_at_once(desk):
    """The lists and the Patterns page read the cases the desk holds in memory (issue 22, scale): a change
    made on the case page must reach them without waiting for the next pull."""
    from desk.reports.facts import referred_cases

    client = signed_in(desk, "cai")
    case = desk.cases[0]["case_id"]
    token = csrf_of(client.get(f"/cases/{case}").text)
    client.post(f"/cases/{case}/category", data={"category": "harassment", "reason": REASON, "csrf_token": token})
    listed = client.get("/cases?category=harassment").text
    assert case[:8] in listed and desk.cases[1]["case_id"][:8] not in listed
    assert case[:8] not in client.get("/cases?category=wages").text
    context = desk.context
    until = desk.clock().date()

    def counted(basis):
        facts = context.pattern_facts.facts(context.ordered, desk.cases_store, until, (), referred_cases(desk.cases_store), basis)
        return sorted(fact.category for fact in facts)

    assert counted("desk") == ["harassment", "wages", "wages"]
    assert counted("filed") == ["wages", "wages", "wages"]


def test_reports_count_the_case_workers_category_and_can_count_the_category_as_filed(bare_desk, tmp_path):
    categories = CaseCategories(bare_desk.cases_store, bare_desk.settings.flow.categories)
    categories.change(bare_desk.cases[0]["case_id"], "harassment", REASON, "cai", bare_desk.clock())
    until = bare_desk.clock().date()
    by_desk = sorted(fact.category for fact in read_facts(bare_desk.cases_store, until))
    as_filed = sorted(fact.category for fact in read_facts(bare_desk.cases_store, until, categories="filed"))
    assert by_desk == ["harassment", "wages", "wages"] and as_filed == ["wages", "wages", "wages"]
    exported = {line["case_id"]: line for line in (export_line(case, bare_desk.cases_store.levels, "redacted")
                                                   for case in bare_desk.cases_store.iter_cases(CaseFilter()))}
    first = exported[bare_desk.cases[0]["case_id"]]
    assert (first["category"], first["mechanism"]["category"]) == ("wages", "harassment"), "an export carries both"
    validate_case_record(first)

    def run(*args):
        return CliRunner().invoke(cli, list(args), obj={"settings": bare_desk.settings}, catch_exceptions=False)

    common = ("--from", "2026-11-01", "--to", "2026-11-30")
    for basis, harassment in (("desk", 1), ("filed", 0)):
        out = tmp_path / basis
        assert run("report", *common, "--profile", "internal", "--categories", basis, "-o", str(out)).exit_code == 0
        rows = {line.split(",")[0]: line for line in (out / "category_by_month.csv").read_text().splitlines()}
        assert (rows["harassment"].split(",")[-1] if "harassment" in rows else "0") == str(harassment), rows
    refused = run("report", "--from", "2026-10-01", "--to", "2026-10-31", "--profile", "public", "--categories", "filed",
                  "-o", str(tmp_path / "public"))
    assert refused.exit_code == 2 and "case workers' categories" in refused.output


def test_the_report_that_completes_an_alert_does_not_undo_the_case_workers_category(bare_desk):
    case_id = str(uuid.uuid4())
    bare_desk.cases_store.add(record(kind="alert", category="other", case_id=case_id, code="51234567890127"))
    CaseCategories(bare_desk.cases_store, bare_desk.settings.flow.categories).change(case_id, "forced_labour", REASON, "cai", bare_desk.clock())
    assert bare_desk.cases_store.add(record(category="wages", case_id=case_id, code="51234567890127")) is True
    assert bare_desk.cases_store.get(case_id)["category"] == "wages", "the report replaced the alert as the record"
    assert CaseCategories(bare_desk.cases_store, bare_desk.settings.flow.categories).current(case_id) == "forced_labour"


def test_two_desks_changing_one_case_cannot_both_win(bare_desk):
    categories = CaseCategories(bare_desk.cases_store, bare_desk.settings.flow.categories)
    case = bare_desk.cases[1]["case_id"]
    categories.change(case, "hours", REASON, "cai", bare_desk.clock())
    with pytest.raises(CategoryChangeError):
        categories.change(case, "hours", REASON, "ada", bare_desk.clock())
    assert [(c.from_category, c.to_category, c.by) for c in categories.history(case)] == [("wages", "hours", "cai")]


def test_the_case_page_shows_the_nlus_suggestion_and_its_confidence(desk):
    client = signed_in(desk, "cai")
    suggested = client.get(f"/cases/{desk.cases[0]['case_id']}").text
    assert "suggested Wages, pay, with 62% confidence" in suggested
    none = client.get(f"/cases/{desk.cases[2]['case_id']}").text
    assert "suggested no category" in none and "21% confidence" in none


# ---------------------------------------------------------------- links between cases


def test_a_duplicate_and_a_collective_grievance_show_on_every_case_page_and_are_audited(desk):
    client = signed_in(desk, "cai")
    first, second, third = (case["case_id"] for case in desk.cases)
    token = csrf_of(client.get(f"/cases/{second}").text)
    marked = client.post(f"/cases/{second}/links", data={"kind": "duplicate", "other": first[:8], "csrf_token": token},
                         follow_redirects=True)
    assert "Marked as a duplicate." in marked.text and 'id="duplicate-of"' in marked.text and first[:8] in marked.text
    assert f"/cases/{second}" in client.get(f"/cases/{first}").text.split('id="links-card"')[1], "the original names it too"
    twice = client.post(f"/cases/{first}/links", data={"kind": "collective", "other": second, "csrf_token": token},
                        follow_redirects=True)
    assert "linked already" in twice.text
    assert "No single case" in client.post(f"/cases/{first}/links", data={"kind": "duplicate", "other": "abc", "csrf_token": token},
                                           follow_redirects=True).text

    # The same workplace offers a one-click join; a group is every case reached through collective links.
    page = client.get(f"/cases/{first}").text
    assert "join-collective" in page
    client.post(f"/cases/{third}/links", data={"kind": "collective", "other": first, "csrf_token": token})
    fourth = record(workplace="Sunrise Garments")
    desk.cases_store.add(fourth)
    desk.context.refresh()
    client.post(f"/cases/{fourth['case_id']}/links", data={"kind": "collective", "other": third, "csrf_token": token})
    group = client.get(f"/cases/{first}").text
    assert "One collective grievance with 2 other case(s)" in group and fourth["case_id"][:8] in group

    link_id = desk.context.case_links.of(second).duplicate_of.link_id
    assert client.post(f"/cases/{third}/links/{link_id}/remove", data={"csrf_token": token}).status_code == 404, \
        "a link is removed from one of its own cases only"
    client.post(f"/cases/{first}/links/{link_id}/remove", data={"csrf_token": token})
    assert desk.context.case_links.of(second).duplicate_of is None
    assert [e.detail for e in audit(desk, "case_linked")] == [f"duplicate {first}", f"collective {first}", f"collective {third}"]
    assert [(e.target, e.detail) for e in audit(desk, "case_unlinked")] == [(first, f"duplicate {second}")]


# ---------------------------------------------------------------- who may, and forms without their token


def test_only_case_workers_and_admins_triage_and_every_form_needs_its_token(desk):
    case = desk.cases[0]["case_id"]
    data = {"category": "harassment", "reason": REASON, "kind": "duplicate", "other": desk.cases[1]["case_id"]}
    anonymous, analyst, worker = desk.client(), signed_in(desk, "ana"), signed_in(desk, "cai")
    token = csrf_of(analyst.get("/patterns").text)
    for route in ["/cases/{case}/category", "/cases/{case}/links", "/cases/{case}/links/x/remove"]:
        path = route.format(case=case)
        assert anonymous.post(path, data=data).location.endswith("/login")
        assert analyst.post(path, data=data | {"csrf_token": token}).status_code == 403
        assert worker.post(path, data=data).status_code == 400
        assert worker.post(path, data=data | {"csrf_token": "forged"}).status_code == 400
    assert CaseCategories(desk.cases_store, desk.settings.flow.categories).history(case) == []
    assert not audit(desk, "case_linked") and not audit(desk, "category_changed")
