"""The desk's side of the dialogue after the report, part by part (the whole path: tests/personas/test_desk_after_the_report.py).

Tables: what each sealed answer's kind means on the desk; whether and how the worker can be
reached, from every combination of what the desk knows; what a team message costs by SMS
once worded for the worker. Then the dialogue kept in the operator store (SQLite, or
PostgreSQL with GRIEVANCE_TEST_DB=postgresql): answers of each kind pulled from the intake
server's own store, what they change, pulled twice; `cases thread` printing each kind plainly.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from channel_support import pulled
from desk.dialogue import DialogueEntry, OperatorDialogue, pull_answers
from desk.operator_client import PendingReply
from desk.operator_store import OperatorStore, operator_cases, store_location
from desk.reach import reach_of
from desk.worded import sms_cost
from desk.worker_answers import operator_feedback, read_answer
from desk_support import identity_in, make_record, operator_deployment, run_cli, store_in
from dialogue_support import confirm_case
from storage.cases import CaseStore
from storage.db import utcnow
from storage.keys import load_operator_identity
from test_terminal_output import _no_raw_controls

CONTACT = ["contact_consent"]


# ---------------------------------------------------------------- what an answer's kind means

@pytest.mark.parametrize(("fields", "kind", "urgent", "allowed", "helped", "text"), [
    ({"text": "still no gloves"}, "answer", False, None, None, "still no gloves"),  # sealed before kinds existed
    ({"text": "smoke again", "kind": "answer", "urgent": True}, "answer", True, None, None, "smoke again"),
    ({"text": "", "kind": "contact", "contact_allowed": True}, "contact", False, True, None, ""),
    ({"text": "", "kind": "contact", "contact_allowed": False}, "contact", False, False, None, ""),
    ({"text": "", "kind": "contact", "contact_allowed": "yes"}, "contact", False, None, None, ""),  # not a yes/no: unknown
    ({"text": "paid half", "kind": "feedback", "helped": "partly"}, "feedback", False, None, "partly", "paid half"),
    ({"text": "no change", "kind": "feedback", "helped": None}, "feedback", False, None, None, "no change"),
    ({"text": "x", "kind": "feedback", "helped": "maybe"}, "feedback", False, None, None, "x"),
    ({"text": "from a newer server", "kind": "voice"}, "answer", False, None, None, "from a newer server"),  # never dropped
    ({"text": "x", "kind": "answer", "urgent": "true"}, "answer", False, None, None, "x"),  # only true is true
    ({"text": "x", "kind": "answer", "helped": "yes", "contact_allowed": True}, "answer", False, None, None, "x"),
])
def test_a_sealed_answer_is_read_by_its_kind(fields, kind, urgent, allowed, helped, text):
    answer = read_answer({"answer_id": "a1", "case_id": "c1", "received_at": "2026-12-01T10:00:00+00:00", **fields})
    assert (answer.kind, answer.urgent, answer.contact_allowed, answer.helped, answer.text) == (kind, urgent, allowed, helped, text)


# ---------------------------------------------------------------- whether and how the worker can be reached

def record(kind: str = "report", consent: bool | None = None, channel: str = "sms", received: str = "2026-12-01T10:00:00Z") -> dict:
    return {"case_id": "c1", "kind": kind, "channel": channel, "received_at": received, "answers": {"contact_consent": consent}}


def said(allowed: bool, at: str = "2026-12-01T10:05:00Z") -> DialogueEntry:
    return DialogueEntry("worker", at, "", kind="contact", contact_allowed=allowed)


def wrote(why: str, at: str = "2026-12-01T12:00:00Z") -> DialogueEntry:
    return DialogueEntry("operator", at, "Any news?", delivery="sent_to_channel" if why == "sent_to_channel" else "kept_for_status", why=why)


REACH = [
    # (record, thread, contact questions of the flow) -> (reachable, reason, day)
    ("report YES", record(consent=True), [], CONTACT, (True, "report_yes", "")),
    ("report NO", record(consent=False), [], CONTACT, (False, "report_no", "")),
    ("alert, not asked yet", record("alert"), [], CONTACT, (False, "not_asked", "")),
    ("a flow that never asks", record("alert"), [], [], (False, "never_asked", "")),
    ("alert, YES after it", record("alert"), [said(True)], CONTACT, (True, "alert_yes", "")),
    ("alert, NO after it", record("alert"), [said(False)], CONTACT, (False, "alert_no", "")),
    ("report settled at the alert", record(consent=True), [said(True)], CONTACT, (True, "alert_yes", "")),
    ("report changed after the alert", record(consent=False), [said(True)], CONTACT, (False, "report_no", "")),
    ("alert: written to before YES", record("alert"), [wrote("contact_declined", "2026-12-01T10:05:00Z"), said(True)], CONTACT,
     (True, "alert_yes", "")),
    ("alert: YES, then STOP", record("alert"), [said(True), wrote("opted_out")], CONTACT, (False, "opted_out", "2026-12-01")),
    ("alert: YES, and delivered", record("alert"), [said(True), wrote("sent_to_channel", "2026-12-02T08:00:00Z")], CONTACT,
     (True, "alert_yes", "2026-12-02")),
    ("alert: NO, written to", record("alert"), [said(False), wrote("contact_declined")], CONTACT, (False, "alert_no", "2026-12-01")),
    ("report YES, address expired", record(consent=True), [wrote("address_expired", "2026-12-20T08:00:00Z")], CONTACT,
     (False, "address_expired", "2026-12-20")),
    ("report YES, opted out in its hour", record(consent=True), [wrote("opted_out", "2026-12-01T10:20:00Z")], CONTACT,
     (False, "opted_out", "2026-12-01")),
    ("report YES: declined was the alert's", record(consent=True), [wrote("contact_declined", "2026-12-01T10:10:00Z")], CONTACT,
     (True, "report_yes", "")),
    ("report YES: declined after its hour", record(consent=True), [wrote("contact_declined", "2026-12-01T11:00:00Z")], CONTACT,
     (False, "contact_declined", "2026-12-01")),
    ("report NO, yet delivered later", record(consent=False), [wrote("sent_to_channel", "2026-12-03T09:00:00Z")], CONTACT,
     (True, "delivered", "2026-12-03")),
    ("report NO, written to", record(consent=False), [wrote("contact_declined")], CONTACT, (False, "report_no", "2026-12-01")),
    ("a message of before this version", record(consent=True), [DialogueEntry("operator", "2026-12-05T09:00:00Z", "hi")], CONTACT,
     (True, "report_yes", "")),
]


@pytest.mark.parametrize(("case", "thread", "questions", "expected"), [row[1:] for row in REACH], ids=[row[0] for row in REACH])
def test_the_desk_says_whether_and_how_the_worker_can_be_reached(case, thread, questions, expected):
    reach = reach_of(case, thread, questions)
    assert (reach.reachable, reach.reason, reach.day) == expected
    sentence = reach.sentence()
    assert sentence.startswith("Can be written to on their SMS chat" if reach.reachable else "Not reachable")
    assert ("they answer directly" in sentence) == reach.reachable
    assert ("they read your messages with STATUS and their code" in sentence) != reach.reachable
    assert "%(" not in sentence and (reach.day in sentence if reach.reason in ("delivered", "opted_out", "address_expired") else True)


def test_a_reachable_whatsapp_worker_comes_with_the_24_hour_note():
    assert "24 hours" in reach_of(record(consent=True, channel="whatsapp"), [], CONTACT).note
    assert reach_of(record(consent=True), [], CONTACT).note is None
    assert reach_of(record(consent=False, channel="whatsapp"), [], CONTACT).note is None
    assert "their WhatsApp chat" in reach_of(record(consent=True, channel="whatsapp"), [], CONTACT).sentence()


# ---------------------------------------------------------------- what a message costs the worker by SMS

TEAM = "We spoke to the factory manager today. The wages for October will be paid on Friday. Did you get them?"  # 102, GSM-7


@pytest.mark.parametrize(("language", "fold", "segments", "encoding", "opening"), [
    ("en", [], 2, "GSM-7", "Message from the hotline about your report:\n"),  # 1 segment alone, 2 worded (174)
    ("bn", [], 3, "UCS-2", "আপনার অভিযোগ নিয়ে হটলাইনের বার্তা:\n"),  # English words, Bengali around them: all UCS-2
    ("vi", [], 3, "UCS-2", "Tin nhắn từ đường dây nóng về hồ sơ của bạn:\n"),
    ("vi", ["vi"], 2, "GSM-7", "Tin nhan tu duong day nong ve ho so cua ban:\n"),  # folded as the hotline sends it
    ("th", [], 2, "GSM-7", "Message from the hotline about your report:\n"),  # not offered: the default language, as the server
])
def test_the_sms_counter_counts_what_the_worker_receives(settings_with, language, fold, segments, encoding, opening):
    settings = settings_with(channels={"twilio": {"gsm7_fold": fold}})
    cost = sms_cost(settings, language, TEAM)
    assert (cost.segments, cost.encoding, cost.messages) == (segments, encoding, 1)
    assert cost.parts[0].startswith(opening) and TEAM in cost.parts[0]


def test_a_long_message_is_counted_as_the_texts_it_is_split_into(settings_with):
    settings = settings_with(channels={"twilio": {"max_segments_per_message": 1}})
    cost = sms_cost(settings, "en", TEAM + " " + TEAM)
    assert cost.messages == len(cost.parts) >= 2 and cost.segments == cost.messages
    assert "".join(cost.parts).replace("\n", " ").count("Did you get them?") == 2


# ---------------------------------------------------------------- answers of each kind, pulled into the store

class InProcessClient:
    """The operator API's two calls for answers, served straight from the intake server's store;
    `fail_acks`: that many acknowledgements are lost (the desk stops, or the network fails)."""

    def __init__(self, services, fail_acks: int = 0) -> None:
        self.services, self.acked, self.fail_acks = services, [], fail_acks

    def replies(self, limit: int) -> list[PendingReply]:
        with self.services.sessions.begin() as session:
            return [PendingReply(a.id, a.case_id, a.created_at.isoformat(), a.sealed) for a in CaseStore(session, self.services.secrets).pending_answers(limit)]

    def ack(self, reply_id: str) -> None:
        if self.fail_acks:
            self.fail_acks -= 1
            raise ConnectionError("the acknowledgement was lost")
        with self.services.sessions.begin() as session:
            assert CaseStore(session, self.services.secrets).ack_answer(reply_id)
        self.acked.append(reply_id)


def seal(services, case_id: str, text: str, **kind) -> None:
    with services.sessions.begin() as session:
        CaseStore(session, services.secrets).add_answer(case_id, text, utcnow(), **kind)


def test_answers_of_each_kind_are_kept_and_change_what_they_should(services):
    case_id, _code = confirm_case(services, "+8801711000601", contact="yes")
    pulled(services)
    settings = services.settings
    identity = load_operator_identity(settings.path(settings.operator.identity_file))
    seal(services, case_id, "gloves came for the line leaders only")
    seal(services, case_id, "smoke in the stairs and the door is locked", urgent=True)
    seal(services, case_id, "", kind="contact", contact_allowed=True)
    seal(services, case_id, "They paid half", kind="feedback", helped="partly")
    dialogue = OperatorDialogue(store_location(settings), identity)
    try:
        client = InProcessClient(services)
        result = pull_answers(client, dialogue, identity)
        assert (result.kept, result.already_had, result.urgent, len(client.acked)) == (4, 0, 1, 4)
        entries = dialogue.thread(case_id)
        assert [(e.kind, e.urgent, e.contact_allowed, e.helped) for e in entries] == [
            ("answer", False, None, None), ("answer", True, None, None), ("contact", False, True, None), ("feedback", False, None, "partly")]
        assert all(e.kept_at and e.at.endswith(":00Z") for e in entries)
        with dialogue.engine.connect() as connection:
            assert connection.execute(select(operator_cases.c.urgent).where(operator_cases.c.case_id == case_id)).scalar_one() is True
            feedback = connection.execute(select(operator_feedback.c.case_id, operator_feedback.c.helped, operator_feedback.c.given_on)).all()
            blobs = b"".join(connection.execute(select(dialogue.table.c.body)).scalars())
        assert feedback == [(case_id, "partly", utcnow().date().isoformat())]
        assert b"They paid half" not in blobs and b"smoke" not in blobs, "the words stay encrypted"
    finally:
        dialogue.close()
    store = OperatorStore(store_location(settings), identity)
    try:
        assert [s.case_id for s in store.summaries(urgent_only=True)] == [case_id]
        assert store.get(case_id)["urgent"] is False, "the sealed record stays as the worker sent it"
    finally:
        store.close()


def test_a_pull_interrupted_before_its_acknowledgement_applies_the_answer_again_without_doubling_it(services):
    case_id, _code = confirm_case(services, "+8801711000602")
    pulled(services)
    settings = services.settings
    identity = load_operator_identity(settings.path(settings.operator.identity_file))
    seal(services, case_id, "no help at all", kind="feedback", helped="no")
    seal(services, case_id, "they beat him", urgent=True)
    dialogue = OperatorDialogue(store_location(settings), identity)
    try:
        with pytest.raises(ConnectionError):
            pull_answers(InProcessClient(services, fail_acks=1), dialogue, identity)
        result = pull_answers(InProcessClient(services), dialogue, identity)
        assert (result.kept, result.already_had) == (1, 1)
        assert [e.kind for e in dialogue.thread(case_id)] == ["feedback", "answer"]
        with dialogue.engine.connect() as connection:
            assert connection.execute(select(operator_feedback.c.helped)).scalars().all() == ["no"]
            assert connection.execute(select(operator_cases.c.urgent).where(operator_cases.c.case_id == case_id)).scalar_one() is True
    finally:
        dialogue.close()


def test_within_one_minute_the_thread_keeps_the_order_things_were_kept_in(tmp_path, operator_store):
    config = operator_deployment(tmp_path / "desk", operator_store)
    dialogue = OperatorDialogue(store_in(config), identity_in(config))
    case_id = str(uuid.uuid4())
    try:
        dialogue.add_sent(case_id, "Are gloves given now?", "2026-12-01T10:00:41.513+00:00")  # the team, to the second
        dialogue.keep_answer(read_answer({"answer_id": str(uuid.uuid4()), "case_id": case_id, "text": "NO",
                                          "received_at": "2026-12-01T10:00:00+00:00"}))  # the server: to the minute
        dialogue.add_sent(case_id, "Thank you", "2026-12-01T10:00:59Z")
        assert [e.text for e in dialogue.thread(case_id)] == ["Are gloves given now?", "NO", "Thank you"]
        assert {e.at for e in dialogue.thread(case_id)} == {"2026-12-01T10:00:00Z"}
    finally:
        dialogue.close()


# ---------------------------------------------------------------- `cases thread` prints every kind plainly

def test_cases_thread_prints_the_reach_and_each_kind_plainly_and_terminal_safe(tmp_path, operator_store):
    config = operator_deployment(tmp_path / "desk", operator_store)
    case = make_record(contact=True)  # a WhatsApp worker who said YES
    store = OperatorStore(store_in(config), identity_in(config))
    try:
        store.add(case)
    finally:
        store.close()
    dialogue = OperatorDialogue(store_in(config), identity_in(config))
    now = datetime.now(UTC).isoformat()
    answers = [
        {"text": "fire \x1b]0;owned title\x07 on the roof", "kind": "answer", "urgent": True},
        {"text": "", "kind": "contact", "contact_allowed": False},
        {"text": "paid \u202e01 OT\u202c only", "kind": "feedback", "helped": "partly"},
    ]
    try:
        dialogue.add_sent(case["case_id"], "Did the wages arrive?", now, {"delivery": "kept_for_status", "why": "opted_out"})
        for fields in answers:
            dialogue.keep_answer(read_answer({"answer_id": str(uuid.uuid4()), "case_id": case["case_id"], "received_at": now, **fields}))
    finally:
        dialogue.close()
    result = run_cli(config, "cases", "thread", case["case_id"][:8])
    assert result.exit_code == 0, result.output
    _no_raw_controls(result.output)
    lines = result.output.splitlines()
    assert lines[0].startswith("reach   Not reachable: their number opted out of the hotline's messages (STOP; its answer of ")
    assert lines[1].endswith("you     Did the wages arrive?  (kept for STATUS: opted_out)")
    assert lines[2].endswith("worker  URGENT: fire \\u001b]0;owned title\\u0007 on the roof")
    assert lines[3].endswith("worker  [contact] after the alert: they asked the team not to write to them")
    assert lines[4].endswith("worker  [outcome] it helped partly: paid \\u202e01 OT\\u202c only")


# ---------------------------------------------------------------- the console's Japanese

def test_every_reach_sentence_has_its_japanese_with_the_same_placeholders():
    import re
    from pathlib import Path

    from babel.messages.pofile import read_po

    from desk.reach import SENTENCES, WHATSAPP_NOTE

    with (Path(__file__).parents[1] / "desk/web/translations/ja/LC_MESSAGES/messages.po").open("rb") as po:
        catalog = read_po(po)
    for english in [*SENTENCES.values(), WHATSAPP_NOTE]:
        message = catalog.get(english)
        assert message is not None and message.string, english
        assert sorted(re.findall(r"%\(\w+\)s", message.string)) == sorted(re.findall(r"%\(\w+\)s", english)), english
