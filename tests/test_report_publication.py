"""Publishing public reports: the record of published months, the command, and the Patterns page.

A public report rests on the months of its year up to its end; the first public report
that uses a month records it (its cases' facts and its decisions, sealed in the operator
store), and every later public report takes the month from the record. So a case pulled
late for a published month changes internal reports only, a month republished gives the
same files, and a year keeps one k. The Patterns page previews public figures the same
way, records nothing, and is checked in a real browser (Debian's headless Chromium).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import func, select
from werkzeug.serving import WSGIRequestHandler, make_server

from bot.cli import cli
from browser_support import FLAGS, chromium
from desk.operator_store import OperatorStore, store_location
from desk.reports.demo import fill_demo_store
from desk.reports.snapshot import PublicationRecord, report_months
from desk_web_support import PASSWORDS, Clock, Desk
from storage.keys import load_operator_identity
from test_desk_browser import sign_in_with_password

QUARTER = ("2026-01-01", "2026-03-31")
JANUARY = ("2026-01-01", "2026-01-31")


def run(settings, *args: str):
    return CliRunner().invoke(cli, list(args), obj={"settings": settings}, catch_exceptions=False)


def publish(settings, tmp_path: Path, name: str, period: tuple[str, str], *extra: str) -> dict:
    result = run(settings, "report", "--from", period[0], "--to", period[1], "--profile", "public", "-o",
                 str(tmp_path / name), *extra)
    assert result.exit_code == 0, result.output
    return json.loads((tmp_path / name / "report.json").read_text())


def open_store(settings) -> OperatorStore:
    return OperatorStore(store_location(settings), load_operator_identity(settings.path(settings.operator.identity_file)))


def column(document: dict, month: str) -> dict[str, int | None]:
    table = document["category_by_month"]
    j = table["months"].index(month)
    return {row["category"]: row["cells"][j] for row in table["rows"]}


def test_a_published_month_keeps_its_figures_when_a_late_case_arrives(settings, tmp_path):
    assert run(settings, "demo-data", "--cases", "700", "--from", "2026-01-01", "--to", "2026-03-31", "--seed", "5").exit_code == 0
    january = publish(settings, tmp_path, "january", JANUARY)
    first_files = {path.name: path.read_bytes() for path in (tmp_path / "january").iterdir()}
    store = open_store(settings)
    try:
        with store.engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(report_months)).scalar() == 13  # 2025 and January
        fill_demo_store(store, 6, start=date(2026, 1, 2), end=date(2026, 1, 30), seed=99)  # pulled late
    finally:
        store.close()
    quarter = publish(settings, tmp_path, "quarter", QUARTER)
    in_quarter, published = column(quarter, "2026-01"), column(january, "2026-01")
    assert {row: in_quarter[row] for row in published} == published, "the quarter shows January as it was published"
    assert all(in_quarter[row] == 0 for row in set(in_quarter) - set(published)), "a category first seen later: 0"
    again = publish(settings, tmp_path, "january-again", JANUARY)
    assert again == january
    assert {path.name: path.read_bytes() for path in (tmp_path / "january-again").iterdir()} == first_files
    assert run(settings, "report", "--from", JANUARY[0], "--to", JANUARY[1], "--profile", "internal", "-o",
               str(tmp_path / "internal")).exit_code == 0
    counted = json.loads((tmp_path / "internal" / "report.json").read_text())["category_by_month"]["rows"][-1]["total"]
    assert january["category_by_month"]["rows"][-1]["total"] == counted - 6, "internal reports count the late cases"


def test_a_year_keeps_the_k_it_was_first_published_with(settings, tmp_path):
    assert run(settings, "demo-data", "--cases", "300", "--from", "2026-01-01", "--to", "2026-03-31").exit_code == 0
    publish(settings, tmp_path, "january", JANUARY, "--k", "5")
    refused = run(settings, "report", "--from", QUARTER[0], "--to", QUARTER[1], "--profile", "public", "--k", "10",
                  "-o", str(tmp_path / "quarter"))
    assert refused.exit_code == 1 and "2026 was published with k = 5" in refused.output
    assert not (tmp_path / "quarter").exists()
    publish(settings, tmp_path, "quarter", QUARTER, "--k", "5")


def test_the_record_is_sealed_like_the_cases(settings, tmp_path):
    assert run(settings, "demo-data", "--cases", "300", "--from", "2026-01-01", "--to", "2026-01-31").exit_code == 0
    publish(settings, tmp_path, "january", JANUARY)
    store = open_store(settings)
    try:
        with store.engine.connect() as connection:
            blobs = {month: sealed for month, _, sealed in connection.execute(select(report_months))}
        for words in (b"Gazipur", b"Sunrise", b"wages", b"whatsapp"):
            assert not any(words in blob for blob in blobs.values()), words
        kept, recorded = PublicationRecord(store).load([2026])
        assert len(kept["2026-01"]) == 300 and recorded[2026].k == 5 and set(recorded[2026].steps) == {1}
    finally:
        store.close()


# ---------------------------------------------------------------- the Patterns page

@pytest.fixture
def patterns_desk(services):
    desk = Desk(services, Clock(datetime(2026, 12, 7, 9, 0, tzinfo=UTC)))
    desk.add_accounts()
    fill_demo_store(desk.cases_store, 900, start=date(2026, 1, 1), end=date(2026, 11, 30), seed=13)
    desk.context.refresh()
    yield desk
    desk.close()


def recorded_months(desk) -> int:
    PublicationRecord(desk.cases_store)
    with desk.cases_store.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(report_months)).scalar()


@pytest.mark.parametrize("query, shows, hidden_marks", [
    ("start=2026-01-01&end=2026-12-07&profile=internal", "Internal: do not publish", False),
    ("start=2026-01-01&end=2026-03-31&profile=public", "not published", True),
    ("start=2026-01-01&end=2026-03-30&profile=public", "A public report covers a whole calendar month", False),
    ("start=2026-12-01&end=2026-12-31&profile=public", "A public report covers a whole calendar month", False),
])
def test_the_patterns_page_shows_internal_and_public_figures_and_records_nothing(patterns_desk, query, shows, hidden_marks):
    client = patterns_desk.client()
    assert patterns_desk.sign_in(client, "ana").status_code == 302
    page = client.get(f"/patterns?{query}")
    assert page.status_code == 200 and shows in page.text
    assert ("[c]" in page.text) == hidden_marks
    assert recorded_months(patterns_desk) == 0


# ---------------------------------------------------------------- in a real browser

class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


def test_the_patterns_page_in_a_real_browser(patterns_desk, tmp_path):
    from shutil import which

    # January is published first: the page then says so, and shows January as published.
    settings = patterns_desk.settings
    assert run(settings, "report", "--from", JANUARY[0], "--to", JANUARY[1], "--profile", "public", "-o",
               str(tmp_path / "january")).exit_code == 0
    server = make_server("127.0.0.1", 0, patterns_desk.app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium()
    for flag in FLAGS:
        options.add_argument(flag.replace("--headless", "--headless=new"))
    options.add_argument("--window-size=1280,2200")
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    browser = webdriver.Chrome(service=Service(which("chromedriver")), options=options)
    browser.implicitly_wait(5)
    try:
        base = f"http://localhost:{server.server_port}"
        sign_in_with_password(browser, base, "ana", PASSWORDS["ana"])

        def show(start: str, end: str, profile: str) -> str:
            browser.get(base + "/patterns")
            for name, value in (("start", start), ("end", end)):
                field = browser.find_element(By.NAME, name)
                browser.execute_script("arguments[0].value = arguments[1]", field, value)
            Select(browser.find_element(By.NAME, "profile")).select_by_value(profile)
            browser.find_element(By.ID, "show-patterns").click()
            WebDriverWait(browser, 15).until(lambda d: f"profile={profile}" in d.current_url)
            return browser.find_element(By.TAG_NAME, "main").text

        internal = show("2026-01-01", "2026-12-07", "internal")
        assert "Internal: do not publish" in internal and "[c]" not in internal
        browser.save_screenshot(str(tmp_path / "patterns-internal.png"))
        public = show("2026-01-01", "2026-03-31", "public")
        assert "[c]" in public and "not published" in public and "Internal: do not publish" not in public
        assert "Months of this year already published" in public and "2026-01" in public
        browser.save_screenshot(str(tmp_path / "patterns-public.png"))
        refused = show("2026-01-01", "2026-03-30", "public")
        assert "A public report covers a whole calendar month, quarter or year that has ended." in refused
        assert browser.find_elements(By.CSS_SELECTOR, ".report table") == []
        browser.save_screenshot(str(tmp_path / "patterns-refused.png"))
    finally:
        browser.quit()
        server.shutdown()
        thread.join(timeout=5)
    for name in ("patterns-internal", "patterns-public", "patterns-refused"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000


def test_a_report_whose_months_were_published_meanwhile_is_refused(settings, tmp_path):
    from desk.reports.build import build_report
    from desk.reports.figures import row_orders
    from desk.reports.facts import read_facts
    from desk.reports.snapshot import RecordError, public_facts

    assert run(settings, "demo-data", "--cases", "300", "--from", "2026-01-01", "--to", "2026-03-31").exit_code == 0
    store = open_store(settings)
    try:
        record = PublicationRecord(store)
        kept, recorded = record.load([2025, 2026])
        facts = public_facts(read_facts(store, date(2026, 3, 31)), kept)
        report = build_report(facts, start=date(2026, 1, 1), end=date(2026, 3, 31), profile="public", recorded=recorded,
                              **row_orders(settings))
        publish(settings, tmp_path, "january", JANUARY)  # another desk, meanwhile
        with pytest.raises(RecordError, match="2025-01 was published by another report meanwhile"):
            record.record(report, facts)
    finally:
        store.close()
