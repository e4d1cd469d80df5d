"""The desk's side of paging: the operator API's duty routes, the events in the audit log, the button, the CLI.

The real intake queues an urgent alert and its page; the real operator API serves the duty
routes over HTTP on loopback; the desk (its web app through Flask's client, its commands
through click) acknowledges and pulls the events into its hash-chained audit log.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.messages import InboundMessage
from bot.services import build_services
from desk.duty import DutyLog
from desk.operator_client import OperatorApiError, client_for
from desk.pulling import pull_page_events
from desk_web_support import Clock, Desk, csrf_of
from dialogue_support import LiveOperatorApi, new_token
from duty_support import SECOND_EMAIL_ACCOUNT, events, pages, send_alert, write_roster
from storage.duty import PageStore, exact_now, shown_ref
from storage.keys import init_keys


@pytest.fixture
def duty_services(settings_with, deployment_dir):
    write_roster(deployment_dir, [{"name": "Bo", "email": SECOND_EMAIL_ACCOUNT}, {"name": "Cy", "email": SECOND_EMAIL_ACCOUNT}])
    settings = settings_with(duty={"enabled": True, "roster": {"file": "keys/duty-roster.yaml"},
                                   "smtp": {"host": "127.0.0.1", "port": 2, "security": "none", "from_address": "pager@ngo.example.org"}})
    init_keys(settings, dev_operator_key=True)
    services = build_services(settings)
    yield services
    services.close()


@pytest.fixture
def api(duty_services, monkeypatch, settings_with):
    live = LiveOperatorApi(duty_services)
    monkeypatch.setenv("GRIEVANCE_OPERATOR_API_TOKEN", new_token(duty_services, "desk"))
    yield live, settings_with(operator_client={"url": live.url})
    live.close()


def alert(services) -> str:
    def send(sender, text, channel):
        return list(services.intake.receive(InboundMessage(channel=channel, sender=sender, text=text)).texts)

    send_alert(send)
    (page,) = pages(services)
    return page.ref


def test_the_operator_api_acknowledges_lists_and_tells_what_happened(duty_services, api):
    _live, operator_settings = api
    ref = alert(duty_services)
    with client_for(operator_settings) as client:
        (page,) = client.duty_pages()
        assert (page["ref"], page["shown_ref"], page["state"], page["reason"]) == (ref, shown_ref(ref), "open", "alert")
        (queued,) = client.duty_events(0)
        assert (queued["kind"], queued["ref"], queued["case_id"]) == ("queued", ref, page["case_id"])
        assert client.duty_events(queued["seq"]) == []
        answer = client.ack_page(shown_ref(ref).lower(), "cai")  # as typed from the phone: any case, with the dash
        assert answer["acknowledged"] is True and answer["page"]["acknowledged_by"] == "cai"
        assert client.ack_page(ref, "ada")["acknowledged"] is False  # ended: said so, nothing redone
        assert client.duty_pages() == [] and client.duty_pages(include_ended=True)[0]["state"] == "acknowledged"
        assert [e["kind"] for e in client.duty_events(0)] == ["queued", "acknowledged"]
        for bad_ref, by, status in (("QQQ-QQQ", "cai", 404), ("not a ref", "cai", 404), (ref, "", 400), (ref, "a\x1b[2J", 400)):
            with pytest.raises(OperatorApiError) as refused:
                client.ack_page(bad_ref, by)
            assert refused.value.status == status
        with pytest.raises(OperatorApiError) as refused:
            client.duty_events(-1)
        assert refused.value.status == 400
        test = client.test_page("Cy")
        assert test["person"] == "Cy"
        with pytest.raises(OperatorApiError) as refused:
            client.test_page("Nobody")
        assert refused.value.status == 404
    (test_page,) = [p for p in pages(duty_services) if p.reason == "test"]
    assert test_page.step == 1 and test_page.case_id is None


def test_the_duty_routes_need_a_token(duty_services, api):
    import httpx

    live, _settings = api
    for method, path in (("GET", "/v1/duty/pages"), ("GET", "/v1/duty/events"), ("POST", "/v1/duty/ABCDEF/ack"), ("POST", "/v1/duty/test")):
        assert httpx.request(method, live.url + path, json={"by": "x"}).status_code == 401


def test_each_event_is_audited_once_and_the_button_acknowledges(duty_services, api):
    _live, operator_settings = api
    ref = alert(duty_services)
    duty_services.pager.run_once(exact_now())  # Bo is paged (the mail server is down: the page is retried)
    desk = Desk(duty_services, Clock(), operator_client=lambda: client_for(operator_settings))
    desk.context.settings = operator_settings
    desk.add_accounts()
    desk.context.pull = desk.pull_from_intake
    desk.context.pull_now()
    with client_for(operator_settings) as client:
        assert pull_page_events(client, desk.cases_store) == 3  # queued, failed, retrying
        assert pull_page_events(client, desk.cases_store) == 0
        # A second desk on the same store keeps nothing twice.
        assert DutyLog(desk.store).record(client.duty_events(0), desk.clock()) == 0
    (case_id,) = desk.context.cases
    client = desk.client()
    assert desk.sign_in(client, "cai").status_code == 302
    inbox = client.get("/inbox").text
    assert 'id="duty-pages"' in inbox and shown_ref(ref) in inbox and f'action="/duty/{ref}/ack"' in inbox
    assert shown_ref(ref) in client.get(f"/cases/{case_id}").text
    assert client.post(f"/duty/{ref}/ack").status_code == 400  # no CSRF token: nothing changes
    assert [p.state for p in pages(duty_services)] == ["open"]
    done = client.post(f"/duty/{ref}/ack", data={"csrf_token": csrf_of(inbox)})
    assert done.status_code == 302 and done.location.endswith(f"/cases/{case_id}")
    assert "Page acknowledged" in client.get(done.location).text
    (page,) = pages(duty_services)
    assert page.state == "acknowledged" and page.acknowledged_by == "cai"
    assert 'id="duty-pages"' not in client.get("/inbox").text, "the banner is gone once acknowledged"
    audit = [(e.actor, e.action, e.target) for e in desk.store.audit_entries()]
    for line in (("duty-pager", "page_queued", case_id), ("duty-pager", "page_failed", case_id),
                 ("duty-pager", "page_retrying", case_id), ("cai", "page_ack", case_id),
                 ("duty-pager", "page_acknowledged", case_id)):
        assert line in audit, line
    failed = next(e for e in desk.store.audit_entries() if e.action == "page_failed")
    assert failed.detail.startswith(f"ref {shown_ref(ref)}; at ") and failed.detail.endswith("; Bo; email; smtp ConnectionRefusedError")
    assert SECOND_EMAIL_ACCOUNT not in " ".join(e.detail for e in desk.store.audit_entries())
    assert desk.store.verify_audit()[0]
    # Once acknowledged, the pager lets it be.
    duty_services.pager.run_once(exact_now())
    assert [e.kind for e in events(duty_services, ref)][-1] == "acknowledged"
    desk.close()


def test_only_case_workers_may_acknowledge(duty_services, api):
    _live, operator_settings = api
    ref = alert(duty_services)
    desk = Desk(duty_services, Clock(), operator_client=lambda: client_for(operator_settings))
    desk.add_accounts()
    anonymous = desk.client()
    assert anonymous.post(f"/duty/{ref}/ack").location.endswith("/login")
    analyst = desk.client()
    assert desk.sign_in(analyst, "ana").status_code == 302
    token = csrf_of(analyst.get("/patterns").text)
    assert analyst.post(f"/duty/{ref}/ack", data={"csrf_token": token}).status_code == 403
    assert [p.state for p in pages(duty_services)] == ["open"]
    desk.close()


def grievance(settings, *args: str):
    return CliRunner().invoke(cli, list(args), obj={"settings": settings}, catch_exceptions=False)


def test_the_duty_commands(duty_services, api):
    _live, operator_settings = api
    assert grievance(operator_settings, "duty", "status").output.strip() == "no page waits for an acknowledgement"
    ref = alert(duty_services)
    status = grievance(operator_settings, "duty", "status").output
    assert status.startswith(f"{shown_ref(ref)}  open  case ") and "alert" in status and "roster step 1" in status
    acked = grievance(operator_settings, "duty", "ack", shown_ref(ref), "--as", "cai")
    assert acked.exit_code == 0 and acked.output.strip() == f"page {shown_ref(ref)} acknowledged: nobody else will be called about it"
    again = grievance(operator_settings, "duty", "ack", ref)
    assert again.output.strip() == f"page {shown_ref(ref)} was acknowledged already by cai"
    wrong = grievance(operator_settings, "duty", "ack", "not-a-ref!")
    assert wrong.exit_code == 1 and "is not a page reference" in wrong.output
    assert "acknowledged by cai" in grievance(operator_settings, "duty", "status", "--all").output
    test = grievance(operator_settings, "duty", "test", "--person", "Cy").output
    assert test.startswith("test page ") and "queued for Cy" in test
    with duty_services.sessions.begin() as session:
        assert [p.reason for p in PageStore(session).pages()] == ["test"]


def test_the_button_says_plainly_when_the_page_is_not_acknowledged(duty_services, api):
    live, operator_settings = api
    ref = alert(duty_services)
    desk = Desk(duty_services, Clock(), operator_client=lambda: client_for(operator_settings))
    desk.add_accounts()
    with client_for(operator_settings) as client:
        pull_page_events(client, desk.cases_store)
    browser = desk.client()
    assert desk.sign_in(browser, "cai").status_code == 302
    token = csrf_of(browser.get("/inbox").text)
    live.close()  # the hotline server is unreachable
    answer = browser.post(f"/duty/{ref}/ack", data={"csrf_token": token}, follow_redirects=True).text
    assert "the page is NOT acknowledged and the next person may be called" in answer
    assert 'id="duty-pages"' in answer and "page_ack" not in [e.action for e in desk.store.audit_entries()]
    assert [p.state for p in pages(duty_services)] == ["open"]
    assert browser.post("/duty/not-a-page/ack", data={"csrf_token": token}).status_code == 404
    desk.close()


def test_ended_pages_and_their_events_are_erased_after_keep_days(duty_services):
    ref = alert(duty_services)
    with duty_services.sessions.begin() as session:
        PageStore(session).acknowledge(ref, "cai")
    now = exact_now()
    with duty_services.sessions.begin() as session:
        assert PageStore(session).purge(now - timedelta(days=30)) == 0
        assert PageStore(session).purge(now + timedelta(minutes=2)) == 1
    assert pages(duty_services) == [] and events(duty_services) == []


def test_an_unanswered_page_stays_in_the_banner_until_acknowledged(duty_services):
    desk = Desk(duty_services, Clock())
    duty_log = DutyLog(desk.store)
    case = "0b7d3c1e-2f4a-4b5c-9d6e-7f8a9b0c1d2e"

    def event(seq, ref, kind, **fields):
        return {"seq": seq, "ref": ref, "case_id": case, "kind": kind, "at": "2026-11-20T03:12:00+00:00", **fields}

    duty_log.record([event(1, "ACDEFH", "queued", detail="alert"), event(2, "ACDEFH", "sent", person="Bo", way="email"),
                     event(3, "ACDEFH", "unanswered", detail="no_acknowledgement"),
                     event(4, "TTTTTT", "queued", detail="test", case_id=None)], desk.clock())
    (page,) = duty_log.open_pages()
    assert (page.shown_ref, page.last, page.person, page.case_id) == ("ACD-EFH", "unanswered", "Bo", case)
    duty_log.record([event(5, "ACDEFH", "acknowledged", detail="cai")], desk.clock())
    assert duty_log.open_pages() == []
    assert [e.action for e in desk.store.audit_entries()] == ["page_queued", "page_sent", "page_unanswered", "page_queued",
                                                               "page_acknowledged"]
    desk.close()


def test_a_page_sent_while_it_was_acknowledged_stays_acknowledged(duty_services):
    """The pager sends, then records "sent"; an acknowledgement can land in between (seen in a live run
    on a loaded machine: the banner showed the page again after "Page acknowledged"). The message did
    go out, so the event is kept and audited, but an acknowledged page is ended for good."""
    desk = Desk(duty_services, Clock())
    duty_log = DutyLog(desk.store)
    case = "0b7d3c1e-2f4a-4b5c-9d6e-7f8a9b0c1d2e"

    def event(seq, kind, **fields):
        return {"seq": seq, "ref": "ACDEFH", "case_id": case, "kind": kind, "at": "2026-11-20T03:12:00+00:00", **fields}

    duty_log.record([event(1, "queued", detail="alert"), event(2, "sent", person="Ana", way="sms"),
                     event(3, "acknowledged", detail="cai"), event(4, "sent", person="Ana", way="email")], desk.clock())
    assert duty_log.open_pages() == []
    assert [e.action for e in desk.store.audit_entries()][-2:] == ["page_acknowledged", "page_sent"]
    desk.close()
