"""Every word of the desk in the case worker's language: stored values and errors included.

Reported (issue 22): in the Japanese desk, statuses (`received`, `in_dialogue`), roles, channels and
languages stayed as stored codes, and a reply error read `config error: operator_client.token:
environment variable GRIEVANCE_OPERATOR_API_TOKEN is not set`, in English, naming config keys. A
case worker now reads the value in Japanese and an error that says what they can do; the key names
stay in the desk's log for the administrator. The catalogs' completeness is in tests/test_desk_catalogs.py,
the real browser in tests/test_desk_browser.py.
"""

from __future__ import annotations

import logging
import re
import socket
import uuid

import httpx
import pytest

from desk.operator_client import OperatorApiError, OperatorClient, client_for
from desk_web_support import Clock, Desk, csrf_of

STATUS_CODES = ("received", "acknowledged", "in_review", "in_dialogue", "resolved", "closed")
NOT_SET_UP_JA = "このデスクでは返信の準備ができていません"
TOKEN_VARIABLE = "GRIEVANCE_OPERATOR_API_TOKEN"


def _record(*, language: str = "bn", channel: str = "sms", received: str = "2026-11-18T10:00:00Z") -> dict:
    return {
        "schema_version": 1, "case_id": str(uuid.uuid4()), "code": "41234567890126", "received_at": received,
        "acknowledge_by": "2026-11-25", "channel": channel, "language": language, "category": "wages", "urgent": False,
        "description": "Overtime has not been paid for two months", "contact": None,
        "answers": {"workplace": "Rahman Knitwear", "location": "Gazipur", "brand": None, "when": "since September",
                    "people_affected": 30, "urgent": False, "contact_consent": False},
        "nlu": {"backend": "builtin", "suggested_category": "wages", "confidence": 0.8, "urgent_signal": False},
    }


def _desk(services) -> Desk:
    built = Desk(services, Clock())
    built.add_accounts()
    built.store.set_language("cai", "ja")
    for record in (_record(), _record(language="en", channel="telegram", received="2026-11-19T08:00:00Z")):
        built.cases_store.add(record)
    built.context.refresh()
    return built


@pytest.fixture
def desk(services):
    built = _desk(services)
    yield built
    built.close()


def _signed_in(desk: Desk, name: str = "cai"):
    client = desk.client()
    assert desk.sign_in(client, name).status_code == 302
    return client


def _shown(html: str) -> str:
    """The words a reader sees: the page without its tags (attribute values such as option values are not read)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _raw_statuses(html: str) -> list[str]:
    return [code for code in STATUS_CODES if re.search(rf"(?<![\w-]){code}(?![\w-])", _shown(html))]


def _values_in_japanese(desk) -> None:
    """Statuses, roles, channels, languages, a refused move and the desk's own errors, for a Japanese case worker."""
    first, second = sorted(desk.context.cases, key=lambda c: desk.context.cases[c].record["received_at"])
    desk.cases_store.set_status(second, "in_dialogue", "called back", desk.clock())
    desk.context.refresh()
    client = _signed_in(desk)
    listing = client.get("/cases").text
    assert "受付済み" in listing and "対話中" in listing
    assert "ベンガル語" in listing and "Telegram" in listing
    assert _raw_statuses(listing) == []
    assert 'value="in_dialogue"' in listing, "the filter still sends the code"
    assert "ケースワーカー" in listing, "the role beside the name"
    case_page = client.get(f"/cases/{second}").text
    assert re.search(r'id="status">対話中<', case_page)
    assert "受付済み → 対話中" in case_page, "the status history"
    assert _raw_statuses(case_page) == []
    assert re.search(r'<option selected value="in_dialogue">対話中</option>|<option value="in_dialogue" selected>対話中</option>',
                     case_page), case_page[case_page.find('id="new-status"'):][:400]
    inbox = client.get("/inbox").text
    assert "受付済み" in inbox and _raw_statuses(inbox) == []
    # A move the lifecycle refuses, said with the statuses' words.
    page = client.get(f"/cases/{second}")
    back = client.post(f"/cases/{second}/status", data={"status": "received", "reason": "oops", "csrf_token": csrf_of(page.text)})
    assert "案件を「対話中」から「受付済み」に戻すことはできません" in _shown(client.get(back.location).text)
    # The desk's own errors.
    missing = client.get(f"/cases/{uuid.uuid4()}")
    assert missing.status_code == 404 and "そのようなページや案件はありません" in missing.text
    incomplete = client.post(f"/cases/{second}/note", data={"text": "", "csrf_token": csrf_of(page.text)})
    assert incomplete.status_code == 400 and "何も変更していません" in incomplete.text and "Bad Request" not in incomplete.text
    refused = client.get("/users")
    assert refused.status_code == 403 and "あなたの役割ではこのページを使えません" in refused.text
    # The same values in plain English for an English-speaking admin.
    admin = _signed_in(desk, "ada")
    english = admin.get(f"/cases/{second}").text
    assert 'id="status">in dialogue<' in english and "(admin)" in english
    # The audit log's actions and its check, for an admin who reads Japanese.
    desk.store.set_language("ada", "ja")
    audit = _shown(admin.get("/audit").text)
    assert "監査ログは改ざんされていません" in audit and "案件を開いた" in audit and "case_opened" not in audit


# ---------------------------------------------------------------- the Patterns page's report

REPORT_ENGLISH = ("Cases by category", "Health and safety", "Where the cases stand", "Cases received per month",
                  "The mechanism's own performance", "Internal: do not publish", "not enough cases")
PATTERNS = "/patterns?start=2026-11-01&end=2026-11-30&profile=internal"


def _report_of(page: str) -> str:
    """The report the Patterns page embeds (desk/reports/templates/report_body.html), as HTML."""
    return page.split('<div class="report">', 1)[1].split("</main>", 1)[0]


def test_a_japanese_reader_reads_the_patterns_report_in_japanese_and_an_english_one_as_ever(desk):
    """Reported (issue 22): the Patterns page was Japanese around a report whose every word was English."""
    desk.cases_store.add(_record(language="vi", channel="whatsapp") | {"category": "safety"})
    desk.context.refresh()
    english_reader, japanese_reader = _signed_in(desk, "ana"), _signed_in(desk, "ada")
    desk.store.set_language("ada", "ja")
    before = _report_of(english_reader.get(PATTERNS).text)
    page = japanese_reader.get(PATTERNS)
    assert page.status_code == 200
    report = _report_of(page.text)
    text = _shown(report)
    assert "分類別の案件" in text and "案件の状況" in text and "窓口自身の対応状況" in text and "公開する苦情の一覧" in text
    assert "安全衛生" in text and "賃金" in text, "the categories"
    assert "受付済み" in text and "ベトナム語" in text and "WhatsApp" in text and "緊急でない" in text, "statuses, languages, channels"
    assert not [english for english in REPORT_ENGLISH if english in text]
    data = {"Test", "hotline", "Gazipur", "Rahman", "Knitwear"}  # the deployment's name (the report's title), a place, a workplace
    english_left = set(re.findall(r"[A-Za-z][A-Za-z_']*", text)) - data - {"SMS", "Telegram", "WhatsApp"}
    assert english_left == set(), f"English in the Japanese report: {sorted(english_left)}"
    assert 'src="data:image/svg+xml;base64,' in report and "<svg" not in report, "the charts are still images (CSP)"
    # An English reader's report is the one they had, before and after a Japanese reader's.
    after = _report_of(english_reader.get(PATTERNS).text)
    assert after == before
    assert all(english in _shown(before) for english in REPORT_ENGLISH[:3] + ("Internal: do not publish",))
    assert "<td>received</td>" in before and "<td>vi</td>" in before and "<td>whatsapp</td>" in before, "codes, as ever"


# ---------------------------------------------------------------- the reported reply error

def _reply(desk: Desk, client, case_id: str) -> str:
    page = client.get(f"/cases/{case_id}")
    answer = client.post(f"/cases/{case_id}/reply", data={"text": "Were you paid this week?", "action": "send",
                                                         "csrf_token": csrf_of(page.text)})
    assert answer.status_code == 302
    return _shown(client.get(answer.location).text)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_japanese_case_worker_reads_values_and_a_failed_reply_in_japanese(desk, settings_with, monkeypatch, caplog):
    """One desk for both (each desk costs seconds): the values first, then the reply that fails in four ways."""
    _values_in_japanese(desk)
    client = _signed_in(desk)
    case = next(case_id for case_id, case in desk.context.cases.items() if case.status == "received")
    caplog.set_level(logging.WARNING)
    # A desk without a hotline server.
    shown = _reply(desk, client, case)
    assert NOT_SET_UP_JA in shown and "operator_client" not in shown
    # The reported one: the token's variable is not set.
    monkeypatch.delenv(TOKEN_VARIABLE, raising=False)
    settings = settings_with(operator_client={"url": "http://127.0.0.1:9", "token": {"env": TOKEN_VARIABLE}})
    desk.context.operator_client = lambda: client_for(settings)
    shown = _reply(desk, client, case)
    assert "メッセージは送られていません" in shown and NOT_SET_UP_JA in shown and "管理者" in shown
    for detail in (TOKEN_VARIABLE, "operator_client", "config error", "environment variable"):
        assert detail not in shown
    assert TOKEN_VARIABLE in caplog.text, "the administrator finds the missing variable in the desk's log"
    # A hotline server that does not answer: the reply, and the status pushed after a change here.
    url = f"http://127.0.0.1:{_closed_port()}"
    desk.context.operator_client = lambda: OperatorClient(url, "a-token-for-the-test-0001", timeout=2)
    shown = _reply(desk, client, case)
    assert "ホットラインのサーバーにつながりませんでした" in shown and "ConnectError" not in shown
    page = client.get(f"/cases/{case}")
    moved = client.post(f"/cases/{case}/status", data={"status": "acknowledged", "reason": "read", "csrf_token": csrf_of(page.text)})
    shown = _shown(client.get(moved.location).text)
    assert "古い状態が見えています" in shown and "ホットラインのサーバーにつながりませんでした" in shown
    # A token the server no longer accepts (a fake server's 401).
    transport = httpx.MockTransport(lambda request: httpx.Response(401, json={"error": "unknown token"}))
    desk.context.operator_client = lambda: OperatorClient("http://127.0.0.1:1", "old-token-0001", transport=transport)
    shown = _reply(desk, client, case)
    assert "新しいトークン" in shown and "401" not in shown and "old-token" not in shown


@pytest.fixture
def babel_app():
    """An app with the desk's catalogs and nothing else (no store): for the sentences alone."""
    from flask import Flask
    from flask_babel import Babel

    from desk.web import _compiled_translations

    app = Flask("sentences")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = _compiled_translations()
    Babel(app)
    return app


@pytest.mark.database_independent
@pytest.mark.parametrize(("error", "english", "japanese"), [
    (OperatorApiError("cannot reach the operator API (ConnectError)", 0), "could not be reached", "つながりませんでした"),
    (OperatorApiError("operator API refused: HTTP 401 (check the token: ...)", 401), "did not accept this desk's key", "新しいトークン"),
    (OperatorApiError("operator API refused: HTTP 404 no such case", 404), "no longer holds this case", "もうこの案件がありません"),
    (OperatorApiError("operator API refused: HTTP 422 text too long", 422), "refused it", "断られました"),
    (OperatorApiError("operator API refused: HTTP 503", 503), "had a problem", "問題が起きました"),
    (RuntimeError("something unexpected with words in it"), "went wrong on this desk", "このデスクで問題が起きました"),
])
def test_each_kind_of_operator_api_failure_has_its_sentence_in_both_languages(babel_app, error, english, japanese):
    from flask_babel import force_locale

    from desk.web.problems import operator_problem

    with babel_app.test_request_context():
        with force_locale("en"):
            said = operator_problem(error, "test")
            assert english in said and "HTTP" not in said and "operator API" not in said
        with force_locale("ja"):
            said = operator_problem(error, "test")
            assert japanese in said and "HTTP" not in said and "words in it" not in said


@pytest.mark.database_independent
def test_the_worker_not_told_of_a_referral_names_no_config_key(babel_app):
    from desk.web.referrals import worker_told_sentence

    with babel_app.test_request_context():
        for why in ("no_operator_api", "no_api_token"):
            said = worker_told_sentence("pending", why)
            assert "not set up on this desk" in said and "operator_client" not in said and "token" not in said
        assert "HTTP" not in worker_told_sentence("pending", "http_500")


@pytest.mark.database_independent
def test_every_refusal_a_page_can_show_has_its_words():
    from pathlib import Path

    from desk.web.problems import DESK_REFUSALS

    desk_code = Path(__file__).resolve().parents[1] / "desk"
    raised = set()
    for module in ("store.py", "referral_store.py", "referral_flow.py"):
        raised |= set(re.findall(r'raise DeskError\("([^"{]+)"\)', (desk_code / module).read_text()))
    assert len(raised) > 15
    assert raised - set(DESK_REFUSALS) == set()
