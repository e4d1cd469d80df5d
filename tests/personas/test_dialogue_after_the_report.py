"""The dialogue after the report (issue 19), played as the workers and the team would, over HTTP.

A worker who allowed contact is written to with `grievance reply`; they answer directly on
the same chat, as anyone answers a message, and the answer reaches `cases thread`, never a
new-report menu. The trapped worker who sent an alert settles at once whether the team may
write back, and can be written to. When the case is closed, the worker is asked whether it
helped: pushed when they allowed contact, else at their next STATUS.
"""

from __future__ import annotations

import pytest

from personas.persona_support import case_code_in, grievance
from storage.models import AnswerWindow
from worker_scripts import ENGLISH_INTAKE, ENGLISH_INTAKE_CONTACT_YES

QUESTION = "Are gloves given now? Reply YES or NO."
ANSWER = "NO still no gloves, 2 people burned last week"
FIRE = "fire in the factory, the doors are locked and we are trapped"


def t(hotline, key: str, lang: str = "en", **values) -> str:
    return hotline.services.catalogs.text(lang, key, **values)


def word(hotline, kind: str, lang: str = "en", sms: bool = True) -> str:
    return hotline.services.intake.conversation.for_channel(reserves_opt_out_words=sms).word(kind, lang)


def pushed_sms(hotline, number: str) -> list[str]:
    """What the team's side sent this number through Twilio's API (not the TwiML answers)."""
    hotline.settle()
    return [form["Body"] for form in hotline.twilio.messages if form.get("To") == number]


def windows(hotline) -> int:
    with hotline.services.sessions.begin() as session:
        return session.query(AnswerWindow).count()


def test_the_sms_worker_answers_the_team_directly_and_the_answer_reaches_the_case(hotline, make_settings, monkeypatch):
    """The issue's reproduction: the answer was lost behind a language menu."""
    worker = hotline.sms_worker("+8801711000401")
    code = case_code_in(worker.script(*ENGLISH_INTAKE_CONTACT_YES, "1")[-1])
    (record,) = hotline.pull()
    operator = hotline.operator(make_settings, monkeypatch)
    assert "sent to the worker" in grievance(operator, "reply", record["case_id"][:8], QUESTION)
    (pushed,) = pushed_sms(hotline, worker.number)
    assert pushed == t(hotline, "dialogue.operator_message", message=QUESTION)  # the team's words and how to answer
    answered = worker.say(ANSWER)
    assert answered == t(hotline, "dialogue.sent", new=word(hotline, "new_report")), "one short message, never a menu"
    assert t(hotline, "language.menu") not in answered
    grievance(operator, "cases", "replies")
    thread = grievance(operator, "cases", "thread", record["case_id"][:8])
    assert QUESTION in thread and ANSWER in thread
    assert thread.index(QUESTION) < thread.index(ANSWER)
    # A second answer goes the same way; STATUS keeps working beside it.
    assert worker.say("They gave gloves to the line leaders only") == answered
    assert QUESTION in worker.say(f"STATUS {code}")


def test_danger_in_an_answer_comes_first_and_reaches_the_team_as_urgent(hotline, make_settings, monkeypatch):
    worker = hotline.sms_worker("+8801711000402")
    code = case_code_in(worker.script(*ENGLISH_INTAKE_CONTACT_YES, "1")[-1])
    (record,) = hotline.pull()
    operator = hotline.operator(make_settings, monkeypatch)
    grievance(operator, "reply", record["case_id"][:8], QUESTION)
    assert hotline.case_row(code).urgent is False
    answered = worker.say(FIRE)
    assert answered.startswith(t(hotline, "dialogue.sent_urgent"))
    for contact in hotline.services.settings.deployment.emergency_contacts:
        assert contact in answered  # the emergency contacts, at once
    assert hotline.case_row(code).urgent is True
    grievance(operator, "cases", "replies")
    assert FIRE in grievance(operator, "cases", "thread", record["case_id"][:8])


def test_new_ends_the_answers_and_starts_a_new_report(hotline, make_settings, monkeypatch):
    worker = hotline.sms_worker("+8801711000403")
    worker.script(*ENGLISH_INTAKE_CONTACT_YES, "1")
    (record,) = hotline.pull()
    operator = hotline.operator(make_settings, monkeypatch)
    grievance(operator, "reply", record["case_id"][:8], QUESTION)
    assert windows(hotline) == 1
    fresh = worker.say(word(hotline, "new_report"))
    assert t(hotline, "language.menu") in fresh and windows(hotline) == 0
    assert t(hotline, "privacy", no=word(hotline, "no")).split("\n")[0] in worker.say("1")  # a new report goes on
    grievance(operator, "cases", "replies")
    assert ANSWER not in grievance(operator, "cases", "thread", record["case_id"][:8])


def test_the_window_ends_after_its_days_and_when_the_case_is_closed(hotline, make_settings, monkeypatch):
    days = hotline.services.settings.session.answer_window_days
    late = hotline.sms_worker("+8801711000404")
    code = case_code_in(late.script(*ENGLISH_INTAKE_CONTACT_YES, "1")[-1])
    closed = hotline.sms_worker("+8801711000405")
    closed.script(*ENGLISH_INTAKE_CONTACT_YES, "1")
    records = hotline.pull()
    assert len(records) == 2
    operator = hotline.operator(make_settings, monkeypatch)
    for record in records:
        grievance(operator, "reply", record["case_id"][:8], QUESTION)
    (closing,) = [r for r in records if hotline.case_row(code).case_id != r["case_id"]]
    grievance(operator, "cases", "status", closing["case_id"][:8], "closed", "--reason", "resolved with the factory")
    # Closing asks once whether it helped; after that the chat's messages no longer go to the case.
    assert closed.say("1") == t(hotline, "feedback.comment", skip=word(hotline, "skip"))
    assert closed.say(word(hotline, "skip")) == t(hotline, "feedback.thanks")
    assert t(hotline, "welcome", name=hotline.services.settings.deployment.name) in closed.say("hello again")
    hotline.time_passes(monkeypatch, days * 24 * 60 + 1)
    assert t(hotline, "welcome", name=hotline.services.settings.deployment.name) in late.say(ANSWER)
    assert QUESTION in late.say(f"STATUS {code}"), "STATUS works after the window"


def test_the_worker_who_said_no_to_contact_starts_a_new_report_as_before(hotline, make_settings, monkeypatch):
    worker = hotline.sms_worker("+8801711000406")
    worker.script(*ENGLISH_INTAKE, "1")  # NO to contact: nothing pushed, no window
    (record,) = hotline.pull()
    operator = hotline.operator(make_settings, monkeypatch)
    assert "NOT sent" in grievance(operator, "reply", record["case_id"][:8], QUESTION)
    assert windows(hotline) == 0 and pushed_sms(hotline, worker.number) == []
    assert t(hotline, "language.menu") in worker.say("hello")


def test_the_trapped_worker_who_sent_an_alert_can_be_written_to_at_once(hotline, make_settings, monkeypatch):
    """The issue's reproduction: YES sent the alert, the desk then said the worker said NO to contact."""
    worker = hotline.telegram_worker(777000401)
    first = worker.say(FIRE)
    assert t(hotline, "ask.alert") in first
    sent = worker.say("yes")
    code = case_code_in(sent)
    assert t(hotline, "ask.alert_contact") in sent
    hours = hotline.services.settings.deployment.alert_contact_within_hours
    told = worker.say("yes")
    assert t(hotline, "alert.contact_yes", hours=hours) in told
    assert "7 days" not in sent + told
    row = hotline.case_row(code)
    assert row.contact_allowed is True and row.reply_address is not None
    (alert,) = hotline.pull()
    assert alert["kind"] == "alert"
    operator = hotline.operator(make_settings, monkeypatch)
    assert "sent to the worker" in grievance(operator, "reply", alert["case_id"][:8], "Are you still inside? Help is coming")
    hotline.settle()
    assert "Are you still inside" in worker.fake.sent(worker.chat_id)[-1]["text"]


@pytest.mark.parametrize("contact", [True, False], ids=["pushed", "at-status"])
def test_after_closing_the_worker_is_asked_once_whether_it_helped(hotline, make_settings, monkeypatch, contact):
    worker = hotline.sms_worker("+8801711000407")
    code = case_code_in(worker.script(*(ENGLISH_INTAKE_CONTACT_YES if contact else ENGLISH_INTAKE), "1")[-1])
    (record,) = hotline.pull()
    operator = hotline.operator(make_settings, monkeypatch)
    grievance(operator, "cases", "status", record["case_id"][:8], "resolved", "--reason", "wages paid")
    question = t(hotline, "feedback.ask")
    if contact:
        (pushed,) = pushed_sms(hotline, worker.number)
        assert pushed.startswith(question)
        rated = worker.say("2")
    else:
        assert pushed_sms(hotline, worker.number) == []
        status = worker.say(f"STATUS {code}")
        assert t(hotline, "case_status.resolved") in status and question in status
        rated = worker.say("2")
    assert rated == t(hotline, "feedback.comment", skip=word(hotline, "skip"))
    assert worker.say("They paid half, the rest is promised") == t(hotline, "feedback.thanks")
    assert hotline.case_row(code).feedback == "given"
    grievance(operator, "cases", "status", record["case_id"][:8], "closed", "--reason", "done")
    assert question not in worker.say(f"STATUS {code}"), "asked once"
