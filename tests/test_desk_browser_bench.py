"""The desk's browser bench (bench/desk_browser_bench.py) at a small size: every step it times shows what it should.

300 demo cases, the real `grievance desk serve` in a process of its own, Debian's headless Chromium
through chromium-driver: the caseworker's and the analyst's sign-in with the second factor, the inbox,
the case list, the searches, a case, the Patterns page and a status change (pushed to a stand-in of
the hotline's operator API). The bench's figures are
times; this test asserts only what each page showed, so a time never hides a page that went wrong.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from bench.desk_browser_bench import SEARCHED, measure

pytestmark = pytest.mark.database_independent  # its own SQLite operator store, no database of the run: once, in the SQLite run

CASES = 300
SECTIONS = ("New cases (", "New answers from workers (", "Assigned to me (", "Overdue (")


def _new_cases(inbox_text: str) -> str:
    return inbox_text.split("New cases (")[1].split("New answers from workers")[0]


def _count(text: str) -> int:
    return int(re.search(r"(\d+) cases\.", text).group(1))


def test_each_step_of_the_browser_bench_shows_what_a_case_worker_should_see(tmp_path):
    shots = tmp_path / "shots"
    shots.mkdir()
    size = measure(CASES, 1, shots, folder=tmp_path / "desk", wait=30)
    steps = size.steps

    signed_in = steps["sign-in of the caseworker, to the inbox"]
    assert signed_in.url.endswith("/inbox")
    for name in ("sign-in of the caseworker, to the inbox", "inbox", "inbox after the status change"):
        for section in SECTIONS:
            assert section in steps[name].text, (name, section)
    assert "urgent case(s) waiting" in steps["inbox"].text
    assert size.answered == CASES // 20 and f"New answers from workers ({size.answered})" in steps["inbox"].text

    assert _count(steps["case list, page 1"].text) == CASES
    assert f"page 1 of {CASES // 50}" in steps["case list, page 1"].text
    assert f"page {CASES // 50} of {CASES // 50}" in steps["case list, page 20"].text, "a page past the end shows the last"

    found = steps[f"search '{SEARCHED}'"]
    assert parse_qs(urlparse(found.url).query)["q"] == [SEARCHED]
    assert 0 < _count(found.text) < CASES
    assert "Sunrise Garments Ltd" in steps["open a case (from the search)"].text, "the case opened from the search is of the workplace"
    assert "[FAKE DEMO CASE]" in steps["open a case (from the search)"].text

    filtered = steps["search 'wages' + status received + channel sms"]
    query = parse_qs(urlparse(filtered.url).query)
    assert (query["q"], query["status"], query["channel"]) == (["wages"], ["received"], ["sms"])
    rows = filtered.text.split("Case\n", 1)[1].splitlines()
    assert 0 < _count(filtered.text) < CASES and rows
    assert all(" received " in row and " SMS " in row for row in rows if row.startswith("2026-")), rows

    changed = steps["status change (the case page again)"]
    moved = changed.url.rsplit("/", 1)[1][:8]
    assert "Status changed." in changed.text and "Status: acknowledged" in changed.text
    assert [(case_id[:8], status) for case_id, status in size.pushed] == [(moved, "acknowledged")], "pushed to the operator API"
    assert moved in _new_cases(steps["inbox"].text), "the case waited among the new cases"
    assert moved not in _new_cases(steps["inbox after the status change"].text), "acknowledged, it is no longer new"

    for name in ("Patterns, first visit (where the analyst's sign-in lands)", "Patterns, second visit",
                 "Patterns after the status change"):
        report = steps[name]
        assert report.url.endswith("/patterns"), name
        assert f"{CASES} cases in all." in report.text and "Cases by month" in report.text and "Cases by category" in report.text, name
    assert size.rss_opened > 0 and size.rss_after > 0
    for picture in ("inbox", "patterns"):
        assert (shots / f"{picture}-{CASES}.png").stat().st_size > 5_000
