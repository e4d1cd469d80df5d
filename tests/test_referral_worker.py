"""The worker's side of a referral: told that the company was told, and never more than they agreed to.

The worker reports over the real webhooks of the public app (Twilio SMS signed, Telegram with
its secret; fake providers on 127.0.0.1, tests/test_dialogue.py's hotline); the desk refers the
case and tells the intake server through the real operator API served over HTTP on loopback
(`POST /v1/cases/<id>/referred`). The worker reads the notice with STATUS; it is pushed to
their chat only if they allowed contact; it names no company, and comes once per case.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.operator_api import create_operator_app
from desk.operator_client import client_for
from desk.referral_flow import ReferralDesk
from desk_web_support import Clock, Desk
from dialogue_support import CODE_SHOWN, LiveOperatorApi, confirm_case, new_token
from referral_support import company_key
from storage import crypto
from storage.models import Case, CaseMessage
from test_dialogue import CHAT, hotline, make_settings  # noqa: F401  the fixtures of the two-channel hotline
from test_operator_api import REFUSED, bearer
from worker_scripts import ENGLISH_INTAKE

NOTICE = "The company concerned was told about the problem, without your name or number."
COMPANY = "Sunrise Garments Ltd"
BRAND = "Northwind Apparel"
# The English intake, then: contact, telling the company, and "1" to send.
SAYS_NO_CONTACT_YES_REFERRAL = [*ENGLISH_INTAKE[:-2], "no", "yes", "1"]
SAYS_YES_CONTACT_YES_REFERRAL = [*ENGLISH_INTAKE[:-2], "yes", "yes", "1"]


def count_messages(services) -> int:
    with services.sessions.begin() as session:
        return session.execute(select(func.count()).select_from(CaseMessage)).scalar_one()


# ---------------------------------------------------------------- the endpoint

@pytest.mark.parametrize("case", list(REFUSED))
def test_the_referred_route_refuses_a_request_without_a_valid_token(services, case):
    case_id, _ = confirm_case(services, "+8801711000141")
    api = create_operator_app(services).test_client()
    response = api.post(f"/v1/cases/{case_id}/referred", json={}, headers=REFUSED[case](services))
    assert response.status_code == 401 and response.get_json() == {"error": "unauthorized"}
    assert count_messages(services) == 0


@pytest.mark.parametrize("case_id", ["00000000-0000-0000-0000-000000000000", "not-a-case", "1" * 36])
def test_the_referred_route_answers_404_for_an_unknown_case_and_keeps_nothing(services, case_id):
    api = create_operator_app(services).test_client()
    response = api.post(f"/v1/cases/{case_id}/referred", json={}, headers=bearer(new_token(services)))
    assert response.status_code == 404 and count_messages(services) == 0


def test_the_notice_is_in_the_language_of_the_case(services):
    from bot.messages import InboundMessage
    from worker_scripts import BENGALI_INTAKE

    for text in [*BENGALI_INTAKE[:-2], "না", "হ্যাঁ", "১"]:  # no to contact, yes to telling the company
        services.intake.receive(InboundMessage(channel="sms", sender="+8801711000142", text=text, adapter="console"))
    with services.sessions.begin() as session:
        case_id = session.execute(select(Case.case_id)).scalar_one()
    api = create_operator_app(services).test_client()
    answer = api.post(f"/v1/cases/{case_id}/referred", json={}, headers=bearer(new_token(services)))
    assert answer.status_code == 201 and answer.get_json()["why"] == "contact_declined"
    with services.sessions.begin() as session:
        kept = [crypto.decrypt_case_message(services.secrets, case_id, row.body).decode()
                for row in session.execute(select(CaseMessage).where(CaseMessage.case_id == case_id)).scalars()]
    bengali = services.catalogs.text("bn", "referral.company_told")
    assert kept == [bengali] and "সংশ্লিষ্ট কোম্পানিকে" in bengali


# ---------------------------------------------------------------- end to end, over the webhooks

@pytest.fixture
def desk_side(hotline, make_settings, monkeypatch, tmp_path):  # noqa: F811
    """The operator's desk beside the hotline: the operator API over HTTP, a token, two companies."""
    services = hotline.services
    api = LiveOperatorApi(services)
    monkeypatch.setenv("GRIEVANCE_OPERATOR_API_TOKEN", new_token(services, "desk"))
    operator = make_settings[0](operator_client={"url": api.url})
    desk = Desk(services, Clock())
    work = ReferralDesk(operator, desk.store, lambda: client_for(operator), desk.clock)
    companies = [desk.store.add_company(name, company_key(tmp_path / name.split()[0])[1]) for name in (COMPANY, BRAND)]
    yield desk, work, companies
    api.close()
    desk.close()


def pulled_record(desk, services) -> dict:
    (record,) = [r for r in _pull(desk, services)]
    return record


def _pull(desk, services):
    desk.pull_from_intake()
    return [desk.cases_store.get(summary.case_id) for summary in desk.cases_store.summaries()]


def test_a_worker_who_said_no_to_contact_reads_on_status_that_the_company_was_told(hotline, desk_side):  # noqa: F811
    desk, work, (company, brand) = desk_side
    services = hotline.services
    replies = [hotline.sms(text) for text in SAYS_NO_CONTACT_YES_REFERRAL]
    (shown_code,) = CODE_SHOWN.findall(replies[-1][-1])
    record = pulled_record(desk, services)
    services.dispatcher.run_once()
    sms_before = len(hotline.twilio.messages)

    made = work.refer(record, company, "cai")
    assert (made.worker_told, made.worker_told_why) == ("kept_for_status", "contact_declined")
    services.dispatcher.run_once()
    assert len(hotline.twilio.messages) == sms_before, "nothing is pushed to a worker who said NO to contact"

    answer = "\n".join(hotline.sms(f"STATUS {shown_code}"))
    assert f"Message from the hotline: {NOTICE}" in answer
    assert COMPANY not in answer and "Sunrise" not in answer  # never which company, nor anything the company got
    # A second referral of the same case (to the brand) tells the worker nothing new.
    second = work.refer(record, brand, "cai")
    assert second.worker_told == "already_told"
    assert "\n".join(hotline.sms(f"STATUS {shown_code}")).count(NOTICE) == 1
    audit = [(e.action, e.detail) for e in desk.store.audit_entries() if e.action == "worker_told_of_referral"]
    assert audit == [("worker_told_of_referral", f"{made.view.referral_id[:8]} kept_for_status contact_declined"),
                     ("worker_told_of_referral", f"{second.view.referral_id[:8]} already_told")]


def test_a_worker_who_allowed_contact_gets_the_notice_on_their_chat(hotline, desk_side):  # noqa: F811
    desk, work, (company, _brand) = desk_side
    services = hotline.services
    for text in SAYS_YES_CONTACT_YES_REFERRAL:
        hotline.telegram_says(text)
    record = pulled_record(desk, services)
    before = len(hotline.telegram.sent(CHAT))
    made = work.refer(record, company, "cai")
    assert (made.worker_told, made.worker_told_why) == ("sent_to_channel", "sent_to_channel")
    services.dispatcher.run_once()
    hotline.telegram.wait_for(lambda: len(hotline.telegram.sent(CHAT)) > before, what="the referral notice")
    pushed = hotline.telegram.sent(CHAT)[before:]
    # Worded as every message from the team: the notice, and how to answer (reply on the same chat, issue 19).
    assert len(pushed) == 1 and pushed[0]["text"] == services.catalogs.text("en", "dialogue.operator_message", message=NOTICE)
    assert COMPANY not in pushed[0]["text"]


def test_when_the_intake_server_is_down_the_worker_is_told_later(hotline, make_settings, monkeypatch, tmp_path):  # noqa: F811
    services = hotline.services
    monkeypatch.setenv("GRIEVANCE_OPERATOR_API_TOKEN", new_token(services, "desk"))
    down = make_settings[0](operator_client={"url": "http://127.0.0.1:9", "timeout_seconds": 2})  # nothing listens there
    desk = Desk(services, Clock())
    try:
        company = desk.store.add_company(COMPANY, company_key(tmp_path / "company")[1])
        replies = [hotline.sms(text) for text in SAYS_NO_CONTACT_YES_REFERRAL]
        (shown_code,) = CODE_SHOWN.findall(replies[-1][-1])
        record = pulled_record(desk, services)
        made = ReferralDesk(down, desk.store, lambda: client_for(down), desk.clock).refer(record, company, "cai")
        assert (made.worker_told, made.worker_told_why) == ("pending", "server_unreachable")
        assert NOTICE not in "\n".join(hotline.sms(f"STATUS {shown_code}"))
        api = LiveOperatorApi(services)
        try:
            up = make_settings[0](operator_client={"url": api.url})
            told = ReferralDesk(up, desk.store, lambda: client_for(up), desk.clock).tell_worker(made.view.referral_id, "cai")
        finally:
            api.close()
        assert told == ("kept_for_status", "contact_declined")
        assert NOTICE in "\n".join(hotline.sms(f"STATUS {shown_code}"))
    finally:
        desk.close()
