"""The desk's lists with many cases: paging, counts per section, the urgent banner newest first, new answers,
and the store read a fixed number of times per request, however many cases it holds.

Speed itself is measured in bench/desk_bench.py (BENCHMARKS.md), never asserted here.
"""

from __future__ import annotations

import html
import importlib
import re
import uuid
from datetime import date

import pytest
from sqlalchemy import event

from desk.lifecycle import due_dates, overdue
from desk.reports.demo import fill_demo_store
from desk.reports.facts import read_facts
from desk.store_location import StoreLocation
from desk.web.case_lists import BANNER_SIZE, PAGE_SIZE
from desk.worker_answers import WorkerAnswer, apply_answer
from desk_support import make_record
from desk_web_support import Clock, Desk

ROW = re.compile(r'<tr class="(?:urgent)?">.*?href="/cases/([0-9a-f-]{36})"', re.DOTALL)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk(services, clock):
    built = Desk(services, clock)
    built.add_accounts()
    yield built
    built.close()


def fill(desk, cases: int, seed: int = 7) -> None:
    fill_demo_store(desk.cases_store, cases, start=date(2026, 1, 1), end=date(2026, 10, 31), seed=seed)
    desk.context.refresh()


def signed_in(desk, name: str):
    client = desk.client()
    assert desk.sign_in(client, name).status_code == 302
    return client


def rows(html: str) -> list[str]:
    return ROW.findall(html)


def section(html: str, name: str) -> str:
    start = html.index(f'id="section-{name}"')
    return html[start:html.index("</table>", start)]


def urgent_record(received_at: str) -> dict:
    return make_record(received_at, urgent=True, category="safety")


def answer(desk, case_id: str, *, urgent: bool = False) -> None:
    """A worker's answer, kept now by the desk's clock, as a pull keeps it."""
    kept = WorkerAnswer(str(uuid.uuid4()), case_id, "still locked", desk.clock().strftime("%Y-%m-%dT%H:%M:00Z"), urgent=urgent)
    desk.context.dialogue().keep_answer(kept, desk.clock())
    apply_answer(desk.cases_store.engine, kept)


def test_the_case_list_pages_urgent_first_then_newest_with_a_count_and_links_that_keep_the_filters(desk):
    fill(desk, 130)
    client = signed_in(desk, "cai")
    first = client.get("/cases")
    assert "130 cases." in first.text
    assert len(rows(first.text)) == PAGE_SIZE
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    last = client.get("/cases?page=3")
    assert len(rows(last.text)) == 130 - 2 * PAGE_SIZE and 'rel="next"' not in last.text
    seen = rows(first.text) + rows(client.get("/cases?page=2").text) + rows(last.text)
    assert sorted(seen) == sorted(desk.context.cases), "each case on exactly one page"
    beyond = client.get("/cases?page=99")
    assert rows(beyond.text) == rows(last.text), "a page past the end shows the last"
    assert rows(client.get("/cases?page=nonsense").text) == rows(first.text)

    not_sms = [c for c in desk.context.cases.values() if c.record["channel"] != "sms"]
    filtered = client.get("/cases?q=fake&channel=whatsapp")
    whatsapp = [c for c in not_sms if c.record["channel"] == "whatsapp"]
    assert f"{len(whatsapp)} cases." in filtered.text and len(whatsapp) > PAGE_SIZE
    following = html.unescape(re.search(r'href="([^"]+)" rel="next"', filtered.text).group(1))
    assert "q=fake" in following and "channel=whatsapp" in following and "page=2" in following, "the next page keeps the filters"
    assert sorted(rows(filtered.text) + rows(client.get(following).text)) == sorted(c.case_id for c in whatsapp)

    shown = [desk.context.cases[case_id] for page in (1, 2, 3) for case_id in rows(client.get(f"/cases?page={page}").text)]
    assert [c.urgent for c in shown] == sorted((c.urgent for c in shown), reverse=True), "urgent cases first"
    for urgent in (True, False):
        part = [c.received_at for c in shown if c.urgent is urgent]
        assert part == sorted(part, reverse=True), "then the newest first"


def test_the_inbox_counts_each_section_and_pages_each_on_its_own(desk, clock):
    fill(desk, 200)
    received = [c for c in desk.context.ordered if c.status == "received"]
    late = [c for c in desk.context.cases.values()
            if overdue(c.status, due_dates(c.received_at, desk.cases_store.levels), clock().date())]
    mine = [c.case_id for c in received[:3]]
    for case_id in mine:
        desk.store.assign(case_id, "cai", "ada", clock())
    client = signed_in(desk, "cai")
    inbox = client.get("/inbox").text
    assert f'id="section-new">New cases <span class="count">({len(received)})' in inbox
    assert f'id="section-overdue">Overdue <span class="count">({len(late)})' in inbox
    assert 'id="section-mine">Assigned to me <span class="count">(3)' in inbox
    assert sorted(rows(section(inbox, "mine"))) == sorted(mine)
    assert len(late) > PAGE_SIZE, "the demo year has more overdue cases than a page"
    first, second = rows(section(inbox, "overdue")), rows(section(client.get("/inbox?overdue=2").text, "overdue"))
    assert len(first) == PAGE_SIZE and second and not set(first) & set(second)
    assert rows(section(client.get("/inbox?overdue=2").text, "mine")) == rows(section(inbox, "mine")), "other sections stay"
    non_urgent = [desk.context.cases[case_id] for case_id in first if not desk.context.cases[case_id].urgent]
    assert [c.received_at for c in non_urgent] == sorted(c.received_at for c in non_urgent), "the longest overdue first"


def test_the_urgent_banner_names_the_newest_first_and_links_to_the_rest(desk, clock):
    fill(desk, 200)
    records = [urgent_record(f"2026-11-{day:02d}T{hour:02d}:00:00Z") for day, hour in
               [(3, 9), (19, 22), (1, 5), (12, 0), (19, 8), (7, 7), (15, 15), (2, 2), (18, 1), (10, 10), (11, 11), (4, 4)]]
    for record in records:
        desk.cases_store.add(record)
    desk.context.refresh()
    waiting = [c for c in desk.context.ordered if c.urgent and c.status == "received"]
    client = signed_in(desk, "cai")
    banner = client.get("/inbox").text.split('id="urgent-banner"')[1].split("</div>")[0]
    named = re.findall(r'href="/cases/([0-9a-f-]{36})"', banner)
    newest = sorted(waiting, key=lambda c: (c.received_at, c.case_id), reverse=True)[:BANNER_SIZE]
    assert named == [c.case_id for c in newest]
    assert named[0] == max(records, key=lambda r: r["received_at"])["case_id"], "today's alert comes first"
    assert f"{len(waiting)} urgent case(s) waiting" in banner
    assert 'href="/cases?urgent=1"' in banner


def test_new_answers_and_urgent_answers_are_marked_among_many_cases(desk, clock):
    fill(desk, 250)
    done = [c for c in desk.context.ordered if c.status == "resolved"]
    quiet, alarmed = done[0], done[1]
    client = signed_in(desk, "cai")
    assert rows(section(client.get("/inbox").text, "answered")) == []
    clock.advance(minutes=5)
    answer(desk, quiet.case_id)
    answer(desk, alarmed.case_id, urgent=True)
    desk.cases_store.engine.dispose()  # nothing cached in a connection: the next request reads what was kept
    inbox = client.get("/inbox").text
    assert sorted(rows(section(inbox, "answered"))) == sorted([quiet.case_id, alarmed.case_id])
    desk.context.refresh()  # the urgent answer made the case urgent in the store (as a pull does)
    banner = client.get("/inbox").text.split('id="urgent-banner"')[1].split("</div>")[0]
    named = re.findall(r'href="/cases/([0-9a-f-]{36})"', banner)
    assert named[0] == alarmed.case_id and quiet.case_id not in banner, "the newest urgent answer comes first"

    clock.advance(minutes=1)
    client.get(f"/cases/{quiet.case_id}")
    client.get(f"/cases/{alarmed.case_id}")
    inbox = client.get("/inbox").text
    assert rows(section(inbox, "answered")) == [], "opened: no longer new"
    assert alarmed.case_id not in inbox.split('id="urgent-banner"')[1].split("</div>")[0]
    clock.advance(minutes=1)
    answer(desk, quiet.case_id)
    assert rows(section(client.get("/inbox").text, "answered")) == [quiet.case_id], "a later answer is new again"
    other = signed_in(desk, "ada")
    assert sorted(rows(section(other.get("/inbox").text, "answered"))) == sorted([quiet.case_id, alarmed.case_id]), \
        "what one case worker opened is still new to another"


def test_the_patterns_page_follows_a_status_change_and_shows_a_long_list_in_part(desk, clock, monkeypatch):
    page_module = importlib.import_module("desk.web.patterns")  # desk.web.patterns, as an attribute, is the blueprint
    monkeypatch.setattr(page_module, "LIST_LIMIT", 100)  # 500 on a desk: a smaller store shows the same
    fill(desk, 120)
    context, end = desk.context, clock().date()

    def from_memory():
        return sorted(context.pattern_facts.facts(context.ordered, desk.cases_store, end, (), set()), key=lambda f: f.case_id)

    def from_store():
        return sorted(read_facts(desk.cases_store, end), key=lambda f: f.case_id)

    assert from_memory() == from_store(), "the page's facts are the report command's"
    client = signed_in(desk, "ana")
    year = f"/patterns?start=2026-01-01&end={clock().date().isoformat()}&profile=internal"
    before = client.get(year).text
    assert 'id="list-cut"' in before and "The first 100 of 120 lines" in before
    worker = signed_in(desk, "cai")
    waiting = next(c for c in desk.context.ordered if c.status == "received")
    page = worker.get(f"/cases/{waiting.case_id}").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    worker.post(f"/cases/{waiting.case_id}/status", data={"status": "acknowledged", "reason": "seen", "csrf_token": token})
    assert desk.context.cases[waiting.case_id].status == "acknowledged", "the one case is read again"
    assert from_memory() == from_store() and {f.case_id: f for f in from_memory()}[waiting.case_id].acknowledged == end
    after = client.get(year).text
    assert after != before and 'id="report-updating"' not in after, "a small desk makes the report again at once"

    desk.context.reports.rebuild_behind_from = 100  # as a desk of 50,000 cases does
    desk.cases_store.set_status(waiting.case_id, "in_review", "looking", clock())
    desk.context.refresh_case(waiting.case_id)
    meanwhile = client.get(year).text
    assert 'id="report-updating"' in meanwhile, "the report it has, marked as being made again"
    assert meanwhile.split('<div class="report">')[1] == after.split('<div class="report">')[1]
    desk.context.reports.settle()
    made = client.get(year).text
    assert 'id="report-updating"' not in made and made.split('<div class="report">')[1] != after.split('<div class="report">')[1]

    # A report made behind the page has no request to take a language from: it keeps its reader's.
    desk.store.set_language("ana", "ja")
    japanese = client.get(year).text.split('<div class="report">')[1]  # a view never seen: made at once
    assert "分類別の案件" in japanese and "120 行のうち最初の 100 行です" in japanese and "Cases by category" not in japanese
    desk.cases_store.set_status(waiting.case_id, "in_dialogue", "talking", clock())
    desk.context.refresh_case(waiting.case_id)
    assert 'id="report-updating"' in client.get(year).text
    desk.context.reports.settle()
    remade = client.get(year).text.split('<div class="report">')[1]
    assert remade != japanese and "分類別の案件" in remade and "対話中" in remade and "Cases by category" not in remade


def test_the_year_to_date_report_is_made_at_start_and_the_first_visit_finds_it(desk, clock, monkeypatch):
    page_module = importlib.import_module("desk.web.patterns")
    fill(desk, 60)
    made = []
    real = desk.context.pattern_facts.facts
    monkeypatch.setattr(desk.context.pattern_facts, "facts", lambda *args, **kw: made.append(1) or real(*args, **kw))
    page_module.prepare_in_background(desk.context).join()  # as `desk serve` does once the cases are open
    assert made == [1], "every case's facts made once, at start"
    client = signed_in(desk, "ana")  # an analyst's sign-in lands on the Patterns page: its year to date
    first = client.get("/patterns").text
    assert made == [1], "the first visit makes nothing again"
    assert "60 cases in all" in first
    assert 'id="report-updating"' not in first


@pytest.fixture
def opens(monkeypatch):
    """Every store opened: the count of StoreLocation.open calls (file or database)."""
    counted = []
    real = StoreLocation.open

    def counting(self):
        counted.append(str(self))
        return real(self)

    monkeypatch.setattr(StoreLocation, "open", counting)
    return counted


def test_each_page_reads_the_store_a_fixed_number_of_times_whatever_the_number_of_cases(desk, clock, opens):
    statements = []
    event.listen(desk.cases_store.engine, "before_cursor_execute", lambda *args: statements.append(1))
    worker, analyst = signed_in(desk, "cai"), signed_in(desk, "ana")

    def reads() -> dict[str, tuple[int, int]]:
        case_id = desk.context.ordered[len(desk.context.ordered) // 2].case_id
        answer(desk, case_id)
        clock.advance(minutes=1)
        moved = next(c.case_id for c in desk.context.ordered if c.status == "received")  # the report is made again
        desk.cases_store.set_status(moved, "acknowledged", "seen", clock())
        desk.context.refresh_case(moved)
        found = {}
        for name, client, url in [("inbox", worker, "/inbox"), ("list", worker, "/cases"), ("search", worker, "/cases?q=wages"),
                                  ("filters", worker, "/cases?status=received&assignee=-&label=x&overdue=1&urgent=1"),
                                  ("case", worker, f"/cases/{case_id}"), ("patterns", analyst, "/patterns")]:
            opens.clear()
            statements.clear()
            assert client.get(url).status_code == 200
            found[name] = (len(opens), len(statements))
        return found

    for _ in range(3):
        desk.cases_store.add(make_record())  # received: one moves on in each round
    fill(desk, 20)
    reads()  # the first request makes what a desk makes once (the referral and duty tables' objects)
    few = reads()
    fill(desk, 150, seed=8)
    clock.advance(minutes=1)
    many = reads()
    assert all(opened == 0 for opened, _statements in few.values()), few
    assert many == few, "the same reads with eight times the cases"
