"""The desk's side of the dialogue after the report (issue 19), played over the real HTTP paths.

Workers text the live hotline (tests/personas/persona_support.py: signed Twilio webhooks,
Telegram updates, the fake providers); the desk pulls the cases from the queue and the
workers' sealed answers from the operator API, as `grievance desk serve` does, and writes
through that API; a case worker uses the desk's web console. What must be plain there:
whether and how the worker can be reached (and why not), which answers are urgent, and what
the worker said about the outcome, which the reports count.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime

import pytest

from desk.dialogue import OperatorDialogue, pull_answers
from desk.operator_client import client_for
from desk.operator_store import store_location
from desk_web_support import Clock, Desk, csrf_of
from dialogue_support import expire_reply_address
from personas.persona_support import case_code_in, grievance
from storage.db import utcnow
from worker_scripts import ENGLISH_INTAKE, ENGLISH_INTAKE_CONTACT_YES

FIRE = "fire in the factory, the doors are locked and we are trapped"
QUESTION = "Are gloves given now? Reply YES or NO."
ANSWER = "NO still no gloves, 2 people burned last week"
DANGER = "they locked us in again tonight and there is smoke"
COMMENT = "They paid half, the rest is promised"


class LiveDesk(Desk):
    """A desk on the store the hotline's operator pulls into; it pulls cases and answers as `desk serve` does."""

    def __init__(self, hotline, operator) -> None:
        super().__init__(hotline.services, Clock(datetime.now(UTC)), operator_client=lambda: client_for(operator))
        self.operator = operator
        self.context.settings = operator
        self.context.pull = self.pull_everything
        self.add_accounts()

    def pull_everything(self) -> int:
        new = self.pull_from_intake()
        dialogue = OperatorDialogue(store_location(self.operator), self.identity)
        try:
            with client_for(self.operator) as client:
                pull_answers(client, dialogue, self.identity, clock=self.clock)
        finally:
            dialogue.close()
        return new

    def signed_in(self, name: str = "cai"):
        client = self.client()
        assert self.sign_in(client, name).status_code == 302
        return client


@pytest.fixture
def live_desk(hotline, make_settings, monkeypatch):
    built = []

    def build() -> LiveDesk:
        desk = LiveDesk(hotline, hotline.operator(make_settings, monkeypatch))
        built.append(desk)
        return desk

    yield build
    for desk in built:
        desk.close()


def reach_on(page: str) -> str:
    return page.split('id="reach">')[1].split("</p>")[0]


def thread_on(page: str) -> str:
    return page.split('id="thread">')[1].split("</ol>")[0]


def post_form(client, page_path: str, target: str, **fields) -> str:
    """Post one of the case page's forms with the page's CSRF token; the page it leads to."""
    token = csrf_of(client.get(page_path).text)
    response = client.post(target, data={**fields, "csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200
    return response.text


def test_the_trapped_worker_who_allowed_contact_after_the_alert_is_shown_as_reachable(hotline, live_desk):
    """The issue's reproduction: the desk said "The worker said NO to contact" after YES at the alert."""
    worker = hotline.telegram_worker(777000501)
    worker.say(FIRE)
    case_code_in(worker.say("yes"))  # the alert goes out
    worker.say("yes")  # and the team may write back on this chat
    desk = live_desk()
    assert desk.context.pull_now() == 1
    (case,) = desk.context.cases.values()
    assert case.record["kind"] == "alert" and case.urgent
    client = desk.signed_in()
    page = client.get(f"/cases/{case.case_id}").text
    assert "said NO to contact" not in page
    assert reach_on(page) == ("Can be written to on their Telegram chat (they allowed it after the alert); they answer directly.")
    assert "After the alert, the worker allowed the team to write to them on this chat." in thread_on(page)
    # The team writes at once: it reaches the trapped worker's chat.
    page = post_form(client, f"/cases/{case.case_id}", f"/cases/{case.case_id}/reply", text="Are you still inside? Help is coming",
                     action="send")
    assert "Sent to the worker&#39;s chat." in page and "(sent to their chat)" in thread_on(page)
    hotline.settle()
    assert "Are you still inside? Help is coming" in worker.fake.sent(worker.chat_id)[-1]["text"]
    thread = grievance(desk.operator, "cases", "thread", case.case_id[:8])
    assert thread.splitlines()[0] == "reach   " + reach_on(page)
    assert "[contact] after the alert: the team may write to them on this chat" in thread


def test_the_worker_who_refused_contact_after_the_alert_is_shown_as_not_reachable(hotline, live_desk):
    worker = hotline.telegram_worker(777000502)
    worker.say(FIRE)
    worker.say("yes")
    worker.say("no")  # the alert, but never write to me
    desk = live_desk()
    desk.context.pull_now()
    (case,) = desk.context.cases.values()
    client = desk.signed_in()
    page = client.get(f"/cases/{case.case_id}").text
    assert reach_on(page).startswith("Not reachable: after the alert they asked not to be written to; they read your messages "
                                     "with STATUS and their code.")
    page = post_form(client, f"/cases/{case.case_id}", f"/cases/{case.case_id}/reply", text="We have informed the police", action="send")
    assert "Kept for the worker" in page and "(kept for STATUS)" in thread_on(page)
    assert reach_on(page).startswith("Not reachable: after the alert they asked not to be written to")  # their words, not the server's
    assert worker.fake.sent(worker.chat_id)[-1]["text"] != "We have informed the police"
    desk.store.set_language("cai", "ja")
    assert reach_on(client.get(f"/cases/{case.case_id}").text).startswith("連絡できません。緊急通報の後、連絡しないよう求めました。")


def test_a_direct_answer_reaches_the_desk_and_the_inbox_says_so(hotline, live_desk):
    worker = hotline.sms_worker("+8801711000511")
    worker.script(*ENGLISH_INTAKE_CONTACT_YES, "1")
    desk = live_desk()
    assert desk.context.pull_now() == 1
    (case,) = desk.context.cases.values()
    client = desk.signed_in()
    page = client.get(f"/cases/{case.case_id}").text
    assert reach_on(page) == "Can be written to on their SMS chat (they said YES to contact in their report); they answer directly."
    post_form(client, f"/cases/{case.case_id}", f"/cases/{case.case_id}/reply", text=QUESTION, action="send")
    worker.say(ANSWER)  # straight back, no STATUS
    desk.clock.advance(minutes=5)
    desk.context.pull_now()
    inbox = client.get("/inbox").text
    assert case.case_id[:8] in inbox.split("New answers from workers")[1].split("Assigned to me")[0]
    assert 'id="urgent-banner"' not in inbox
    thread = thread_on(client.get(f"/cases/{case.case_id}").text)
    assert thread.index(QUESTION) < thread.index(ANSWER) and "URGENT" not in thread


def test_an_urgent_answer_makes_the_case_urgent_in_the_inbox_the_banner_and_the_list(hotline, live_desk):
    worker = hotline.sms_worker("+8801711000512")
    worker.script(*ENGLISH_INTAKE_CONTACT_YES, "1")
    desk = live_desk()
    desk.context.pull_now()
    (case,) = desk.context.cases.values()
    client = desk.signed_in()
    post_form(client, f"/cases/{case.case_id}", f"/cases/{case.case_id}/status", status="in_dialogue", reason="asked about gloves")
    post_form(client, f"/cases/{case.case_id}", f"/cases/{case.case_id}/reply", text=QUESTION, action="send")
    assert not desk.context.cases[case.case_id].urgent and "0 cases." in client.get("/cases?urgent=1").text
    answered = worker.say(DANGER)
    assert "Emergency services: 999" in answered  # the server gave the emergency contacts at once
    desk.clock.advance(minutes=5)
    desk.context.pull_now()
    assert desk.context.cases[case.case_id].urgent
    banner = client.get("/inbox").text.split('id="urgent-banner"')[1].split("</div>")[0]
    assert case.case_id[:8] in banner, "an urgent answer waits in the banner like a new alert, whatever the status"
    assert "1 cases." in client.get("/cases?urgent=1").text
    assert case.case_id[:8] in grievance(desk.operator, "cases", "list", "--urgent")
    page = client.get(f"/cases/{case.case_id}").text
    assert '<span class="tag urgent">URGENT</span> Wages' in page
    urgent_line = [line for line in thread_on(page).split("<li") if DANGER in line]
    assert len(urgent_line) == 1 and "URGENT" in urgent_line[0] and "emergency contacts" in urgent_line[0]
    assert 'id="urgent-banner"' not in client.get("/inbox").text, "seen: the case stays urgent, the banner moves on"
    assert "URGENT: " + DANGER in grievance(desk.operator, "cases", "thread", case.case_id[:8])
    assert "Emergency services: 999" in worker.say("fire on the stairs, we are trapped on the roof")
    pulled_by_hand = grievance(desk.operator, "cases", "replies")
    assert "kept 1 new answers" in pulled_by_hand and "URGENT: 1 of them spoke of danger" in pulled_by_hand


def test_a_closed_case_gets_the_workers_view_of_the_outcome_and_the_report_counts_it(hotline, live_desk, tmp_path):
    worker = hotline.sms_worker("+8801711000513")
    worker.script(*ENGLISH_INTAKE_CONTACT_YES, "1")
    desk = live_desk()
    desk.context.pull_now()
    (case,) = desk.context.cases.values()
    client = desk.signed_in()
    page = post_form(client, f"/cases/{case.case_id}", f"/cases/{case.case_id}/status", status="closed", reason="wages paid in part")
    assert 'id="outcome"' not in page
    assert worker.say("2").startswith(hotline.services.catalogs.text("en", "feedback.comment", skip="SKIP")[:20])  # partly
    worker.say(COMMENT)
    desk.clock.advance(minutes=5)
    desk.context.pull_now()
    page = client.get(f"/cases/{case.case_id}").text
    outcome = page.split('id="outcome">')[1].split("</div>")[0]
    assert "It helped partly." in outcome and COMMENT in outcome
    assert COMMENT not in thread_on(page), "the view of the outcome is no ordinary message"
    assert f"[outcome] it helped partly: {COMMENT}" in grievance(desk.operator, "cases", "thread", case.case_id[:8])
    # The reports count it (the public profile, for a period that has ended: tests/test_reports_outcome.py).
    today = utcnow().date()
    out = tmp_path / "internal"
    grievance(desk.operator, "report", "--from", today.replace(day=1).isoformat(), "--to", today.isoformat(),
              "--profile", "internal", "-o", str(out))
    rows = {row[0]: row for row in csv.reader((out / "worker_view.csv").read_text().splitlines())}
    assert rows["partly"][-1] == "1" and rows["total"][-1] == "1"
    assert COMMENT not in "".join(path.read_text() for path in out.iterdir())
    analyst = desk.signed_in("ana")
    patterns = analyst.get(f"/patterns?start={today.replace(day=1)}&end={today}&profile=internal").text
    assert "The workers' view of the outcome" in patterns and "It helped partly" in patterns


@pytest.mark.parametrize("how", ["opted_out", "address_expired"])
def test_the_servers_answer_says_why_a_worker_who_allowed_contact_cannot_be_reached_now(hotline, live_desk, how):
    worker = hotline.sms_worker("+8801711000514")
    worker.script(*ENGLISH_INTAKE_CONTACT_YES, "1")
    desk = live_desk()
    desk.context.pull_now()
    (case,) = desk.context.cases.values()
    if how == "opted_out":
        assert worker.say("STOP", OptOutType="STOP") == ""  # Twilio answers an opt-out itself
    else:
        expire_reply_address(hotline.services, case.case_id, utcnow())
    client = desk.signed_in()
    desk.clock.advance(minutes=1)
    page = post_form(client, f"/cases/{case.case_id}", f"/cases/{case.case_id}/reply", text=QUESTION, action="send")
    assert "Kept for the worker" in page
    expected = {"opted_out": "Not reachable: their number opted out of the hotline&#39;s messages (STOP; its answer of ",
                "address_expired": "Not reachable any more: the hotline no longer keeps the address of their chat"}[how]
    assert reach_on(page).startswith(expected)


def test_the_worker_who_said_no_in_the_report_is_not_reachable_and_the_counter_counts_the_worded_message(hotline, live_desk):
    worker = hotline.sms_worker("+8801711000515")
    worker.script(*ENGLISH_INTAKE, "1")  # NO to contact
    desk = live_desk()
    desk.context.pull_now()
    (case,) = desk.context.cases.values()
    client = desk.signed_in()
    page = client.get(f"/cases/{case.case_id}").text
    assert reach_on(page) == "Not reachable: they asked not to be contacted; they read your messages with STATUS and their code."
    text = "We spoke to the factory manager today. The wages for October will be paid on Friday. Did you get them?"
    counted = post_form(client, f"/cases/{case.case_id}", f"/cases/{case.case_id}/reply", text=text, action="count")
    # 102 GSM-7 characters alone (1 segment); with the hotline's words around them, what the worker receives: 174, 2 segments.
    assert "2 paid message(s) (GSM-7, 174 characters)" in counted
    assert "Message from the hotline about your report:\n" + text + "\nTo answer, just reply here." in counted
