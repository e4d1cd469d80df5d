"""The desk and voice reports: the case is marked a voice report, recordings play inline (the CSP
lets the page's own audio in) with their length, case workers hear only the disguised voice, and
no export carries the worker's own."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from desk.export import export_line
from desk.operator_store import CaseFilter
from desk_support import make_record
from desk_web_support import Clock, Desk
from bot.case_record import validate_case_record

DISGUISED, ORIGINAL = b"OggS disguised voice", b"OggS the worker's own voice"


def recording(data: bytes, voice: str, seconds: float = 65.4) -> dict:
    return {"content_type": "audio/ogg", "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "data_base64": base64.b64encode(data).decode(), "voice": voice, "seconds": seconds}


@pytest.fixture
def desk(services):
    built = Desk(services, Clock())
    built.add_accounts()
    record = make_record()
    record |= {"story_kind": "voice", "description": "\U0001f3a4 1:05",
               "attachments": [recording(DISGUISED, "disguised"), recording(ORIGINAL, "original")]}
    validate_case_record(record)
    built.cases_store.add(record)
    built.cases_store.add(make_record())  # a written one
    built.context.refresh()
    yield built, record["case_id"]
    built.close()


def signed_in(desk: Desk, name: str):
    client = desk.client()
    assert desk.sign_in(client, name).status_code == 302
    return client


def test_a_voice_report_is_marked_and_plays_inline_disguised_for_case_workers(desk):
    desk, case_id = desk
    client = signed_in(desk, "cai")  # a case worker
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    assert 'id="voice-report"' in page.text and "voice report" in page.text
    assert "media-src 'self'" in page.headers["Content-Security-Policy"]  # else the browser blocks the player
    assert page.text.count("<audio") == 1 and "1:05" in page.text and "voice disguised" in page.text
    assert f'src="/cases/{case_id}/attachments/0"' in page.text
    played = client.get(f"/cases/{case_id}/attachments/0")
    assert played.status_code == 200 and played.data == DISGUISED and played.mimetype == "audio/ogg"
    tail = client.get(f"/cases/{case_id}/attachments/0", headers={"Range": "bytes=5-"})  # how a player finds an Ogg's length
    assert tail.status_code == 206 and tail.data == DISGUISED[5:]
    assert client.get(f"/cases/{case_id}/attachments/1").status_code == 404  # the worker's own voice: not for them
    other = next(c for c in desk.context.cases if c != case_id)
    assert 'id="voice-report"' not in client.get(f"/cases/{other}").text


def test_only_admins_hear_the_original_where_the_deployment_kept_it(desk):
    desk, case_id = desk
    client = signed_in(desk, "ada")
    page = client.get(f"/cases/{case_id}")
    assert page.text.count("<audio") == 2 and "admins only" in page.text
    assert client.get(f"/cases/{case_id}/attachments/1").data == ORIGINAL


def test_no_export_carries_the_workers_own_voice(desk):
    desk, case_id = desk
    for profile, expected in (("full", ["disguised"]), ("redacted", [])):
        (case,) = [case for case in desk.cases_store.iter_cases(CaseFilter()) if case.record["case_id"] == case_id]
        line = export_line(case, desk.cases_store.levels, profile)
        assert [item["voice"] for item in line.get("attachments", [])] == expected
        assert base64.b64encode(ORIGINAL).decode() not in str(line)


@pytest.mark.database_independent
def test_reports_count_voice_and_written_reports_apart():
    from datetime import date

    from desk.reports.facts import facts_of
    from desk.reports.figures import build_internal
    from desk.reports.render import as_json, render_html, tables

    records = [make_record("2026-01-05T10:00:00Z") | {"story_kind": "voice"} for _ in range(2)]
    records += [make_record("2026-01-06T10:00:00Z") | {"story_kind": "text"}, make_record("2026-01-07T10:00:00Z")]  # the last: before voice reports
    facts = [facts_of(record, "received", (None, None), ()) for record in records]
    report = build_internal(facts, start=date(2026, 1, 1), end=date(2026, 1, 31), profile="internal", categories=["wages"])
    assert dict(zip(report.by_story.rows, (row[0] for row in report.by_story.cells), strict=True)) == {"text": 2, "voice": 2}
    assert tables(report)["stories.csv"] == "story,cases\ntext,2\nvoice,2\n"
    assert {"label": "voice", "cases": 2, "hidden": False} in json.loads(as_json(report))["stories"]
    assert "voice report" in render_html(report, "January", fragment=True)
