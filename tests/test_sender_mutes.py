"""Muting a sender who abuses the hotline: the desk names a case, the intake server mutes its sender by
their keyed pseudonym (never the number), makes no case from what they write and stays silent to them
(danger words still get the emergency contacts), until the mute ends or the desk lifts it."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from bot.messages import InboundMessage
from bot.operator_api import create_operator_app
from databases import ON_POSTGRES, needles_in_database
from desk.operator_client import OperatorClient
from desk_web_support import Clock, Desk, csrf_of
from dialogue_support import confirm_case, new_token
from leak_scan import needles_in_tree
from storage.db import utcnow
from storage.models import Case, CaseSender, Conversation, MutedSender
from storage.retention import purge_expired

ABUSER = "+8801700000666"
WORKER = "+8801700000777"


def say(services, sender: str, text: str) -> tuple[str, ...]:
    return services.intake.receive(InboundMessage(channel="sms", sender=sender, text=text)).texts


def count(services, model) -> int:
    with services.sessions.begin() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def api(services):
    client = create_operator_app(services).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {new_token(services)}"
    return client


def test_a_muted_sender_makes_no_case_and_gets_silence_but_danger_words_still_get_the_contacts(services, api, settings):
    case_id, _code = confirm_case(services, ABUSER)
    assert api.get(f"/v1/cases/{case_id}/mute").json == {"case_id": case_id, "muted": False, "until": None, "sender_known": True}
    muted = api.post(f"/v1/cases/{case_id}/mute", json={"days": 7})
    assert muted.status_code == 200 and muted.json["muted"] is True and muted.json["until"]
    cases, conversations = count(services, Case), count(services, Conversation)

    assert say(services, ABUSER, "hi") == ()
    assert say(services, ABUSER, "The supervisor has not paid our wages for two months") == ()
    danger = say(services, ABUSER, "fire in the building, we are trapped")
    assert len(danger) == 1 and all(contact in danger[0] for contact in settings.deployment.emergency_contacts)
    assert (count(services, Case), count(services, Conversation)) == (cases, conversations), "no draft, no case, no alert"
    assert say(services, WORKER, "hi"), "everyone else is answered as before"

    # The server keeps a keyed pseudonym, never the number: not in the database, not in its files.
    with services.sessions.begin() as session:
        row = session.execute(select(MutedSender)).scalar_one()
        assert row.case_id == case_id and ABUSER not in row.sender and len(row.sender) == 32
    if ON_POSTGRES:
        assert needles_in_database(settings.database_url, [ABUSER, ABUSER.lstrip("+")]) == []
    else:
        assert needles_in_tree(settings.path("var"), [ABUSER, ABUSER.lstrip("+")]) == []

    assert api.post(f"/v1/cases/{case_id}/unmute", json={}).json["muted"] is False
    assert say(services, ABUSER, "hi"), "unmuted: answered again"


def test_another_process_sees_a_mute_once_it_reads_its_list_again(services, api, settings):
    from bot.services import build_services

    case_id, _code = confirm_case(services, ABUSER)
    other = build_services(settings)  # another worker process of the same server, its list read at its first message
    try:
        assert other.intake.receive(InboundMessage(channel="sms", sender=WORKER, text="hi")).texts
        api.post(f"/v1/cases/{case_id}/mute", json={"days": 7})
        assert other.intake.receive(InboundMessage(channel="sms", sender=ABUSER, text="hi")).texts, \
            "within storage.mutes.REFRESH_SECONDS the other process has not read the mute yet"
        other.intake.mutes.refresh_seconds = 0  # its time to read the list again has come
        assert other.intake.receive(InboundMessage(channel="sms", sender=ABUSER, text="hello")).texts == ()
    finally:
        other.close()


def test_mute_routes_need_the_token_a_case_and_days_and_a_mute_ends_by_itself(services, api, settings):
    case_id, _code = confirm_case(services, ABUSER)
    for body in ({}, {"days": 0}, {"days": 366}, {"days": "7"}, {"days": True}, {"days": 1.5}, []):
        response = api.post(f"/v1/cases/{case_id}/mute", json=body)
        assert response.status_code == 400 and "days" in response.json["error"], body
    anonymous = create_operator_app(services).test_client()
    for method, path in (("get", "mute"), ("post", "mute"), ("post", "unmute")):
        assert getattr(anonymous, method)(f"/v1/cases/{case_id}/{path}", json={"days": 7}).status_code == 401
        assert getattr(api, method)(f"/v1/cases/{'0' * 8}-0000-0000-0000-{'0' * 12}/{path}", json={"days": 7}).status_code == 404
        assert getattr(api, method)(f"/v1/cases/not-a-case/{path}", json={"days": 7}).status_code == 404
    assert count(services, MutedSender) == 0

    # A mute ends by itself; the case's sender is forgotten after retention.case_sender_days, then nobody can be muted.
    api.post(f"/v1/cases/{case_id}/mute", json={"days": 1})
    later = utcnow() + timedelta(days=1, minutes=2)
    assert purge_expired(services.sessions, settings.retention, now=later).sender_mutes == 1
    assert count(services, MutedSender) == 0 and count(services, CaseSender) == 1
    after_retention = utcnow() + timedelta(days=settings.retention.case_sender_days, minutes=2)
    assert purge_expired(services.sessions, settings.retention, now=after_retention).sender_mutes == 1
    assert count(services, CaseSender) == 0
    refused = api.post(f"/v1/cases/{case_id}/mute", json={"days": 7})
    assert refused.status_code == 409 and refused.json["sender_known"] is False


# ---------------------------------------------------------------- from the case page


@pytest.fixture
def desk(services):
    operator = create_operator_app(services)
    token = new_token(services, "desk")
    built = Desk(services, Clock(), operator_client=lambda: OperatorClient(
        "http://operator.test", token, transport=httpx.WSGITransport(app=operator)))
    built.add_accounts()
    yield built
    built.close()


def test_an_admin_mutes_a_cases_sender_from_the_case_page_and_a_case_worker_can_lift_it(services, desk):
    case_id, _code = confirm_case(services, ABUSER)
    desk.pull_from_intake()
    desk.context.refresh()
    admin, worker = desk.client(), desk.client()
    assert desk.sign_in(admin, "ada").status_code == 302 and desk.sign_in(worker, "cai").status_code == 302

    page = worker.get(f"/cases/{case_id}").text
    assert 'id="mute-sender"' not in page, "case workers cannot mute"
    token = csrf_of(page)
    assert worker.post(f"/cases/{case_id}/mute", data={"days": "7", "csrf_token": token}).status_code == 403
    assert admin.post(f"/cases/{case_id}/mute", data={"days": "7"}).status_code == 400, "CSRF"
    assert count(services, MutedSender) == 0

    page = admin.get(f"/cases/{case_id}").text
    done = admin.post(f"/cases/{case_id}/mute", data={"days": "30", "csrf_token": csrf_of(page)}, follow_redirects=True)
    assert "is muted until" in done.text and 'id="sender-muted"' in done.text
    assert say(services, ABUSER, "hi") == ()
    lifted = worker.post(f"/cases/{case_id}/unmute", data={"csrf_token": token}, follow_redirects=True)
    assert "no longer muted" in lifted.text and 'id="sender-muted"' not in lifted.text
    assert say(services, ABUSER, "hi")
    lines = [(e.actor, e.action, e.target, e.detail) for e in desk.store.audit_entries() if e.action.startswith("sender_")]
    assert lines == [("ada", "sender_muted", case_id, "30 days"), ("cai", "sender_unmuted", case_id, "")]
