"""Workers who do not follow the menus, played end to end over the real HTTP paths (issue 10).

Each test is one person: what they type, in their language, on their channel, and what
they must (and must never) get back. Expected texts come from the catalogs themselves
(`t(language, key)`), so the tests check behaviour, not wording.
"""

from __future__ import annotations

import json

from sqlalchemy import func, select

from personas.persona_support import CODE_SHOWN, case_code_in, grievance
from storage.models import WorkerAnswer
from worker_scripts import ENGLISH_INTAKE, ENGLISH_INTAKE_CONTACT_YES

CONTACTS = ("Emergency services: 999", "Duty officer: 0100 200 300")
FIRE = "FIRE in factory doors locked people trapped help"


def t(hotline, language: str, key: str, **values) -> str:
    engine = hotline.services.intake.conversation
    return engine.t(language, key, **values)


def first_line(text: str) -> str:
    return text.strip().splitlines()[0]


def test_the_trapped_worker_whose_first_message_is_the_fire(hotline):
    worker = hotline.sms_worker("+8801711000301")
    first = worker.say(FIRE)
    assert all(contact in first for contact in CONTACTS), first  # at once, before any menu
    assert not hotline.pull(), "nothing is sent without the worker's YES"
    sent = worker.say("yes")
    code = case_code_in(sent)  # the worker is told what was sent, and keeps its code
    assert first_line(t(hotline, "en", "alert.sent", what="\x00", code="\x00").split("\x00")[0]) in sent
    assert t(hotline, "en", "ask.alert_contact") in sent  # and settles at once whether the team may write back
    hours = hotline.services.settings.deployment.alert_contact_within_hours
    assert t(hotline, "en", "alert.contact_yes", hours=hours) in worker.say("yes")
    (alert,) = hotline.pull()
    assert alert["urgent"] is True and alert.get("kind") == "alert"
    assert FIRE in json.dumps(alert, ensure_ascii=False)
    assert hotline.case_row(code).urgent is True
    # ... and then goes on with the full report, which joins the same case.
    worker.script("1", "yes")  # English, then consent: what they wrote is the start of the description
    worker.say("done")
    for _ in range(20):
        last = worker.read[-1]
        if t(hotline, "en", "summary.check", summary="\x00").split("\x00")[0] in last:
            break
        worker.say("2" if ("1 = YES" in last and (t(hotline, "en", "ask.contact_consent") in last
                                                  or t(hotline, "en", "ask.urgent") in last)) else
                    "1" if ("1 = YES" in last or t(hotline, "en", "ask.category") in last) else
                    "12" if t(hotline, "en", "ask.people_affected") in last else "Sunrise Garments Ltd")
    assert case_code_in(worker.say("1")) == code, "the report keeps the alert's code"
    (report,) = hotline.pull()
    assert report["case_id"] == alert["case_id"] and report.get("kind") == "report" and FIRE in report["description"]


def test_the_scared_bengali_worker_who_writes_the_story_first(hotline):
    story = "মালিক তিন মাস ধরে আমাদের বেতন দেয়নি, প্রতিবাদ করলে চাকরি থেকে বের করে দেবে বলেছে"
    worker = hotline.telegram_worker(555_000_302)
    welcome = worker.say(story)
    assert "বাংলা" in welcome and t(hotline, "bn", "language.menu") in welcome  # sure of Bengali: the header too
    assert sum("\u0980" <= char <= "\u09ff" for char in welcome) > 20, "greeted in Bengali, the language detected"
    assert t(hotline, "bn", "kept.note") in welcome, "told that the story was kept"
    notice = worker.say("২")  # বাংলা, listed first with its usual number: the privacy notice
    assert t(hotline, "bn", "kept.start", done="\x00").split("\x00")[0] in notice, "the story is not asked for again"
    worker.say(hotline.services.intake.conversation.word("done", "bn"))  # DONE in Bengali: that is all, and the consent
    for _ in range(20):
        last = worker.read[-1]
        if "রূপসী" in last or t(hotline, "bn", "summary.check", summary="\x00").split("\x00")[0] in last:
            break
        if t(hotline, "bn", "ask.workplace") in last:
            worker.say("রূপসী গার্মেন্টস")
        elif t(hotline, "bn", "ask.people_affected") in last:
            worker.say("৩৫ জন")
        elif any(t(hotline, "bn", key) in last for key in ("ask.urgent", "ask.contact_consent", "ask.referral_consent")):
            worker.say("না")
        elif t(hotline, "bn", "ask.brand") in last:
            worker.say("বাদ")
        elif "1 =" in last or "১ =" in last:
            worker.say("১")
        else:
            worker.say("আশুলিয়া")
    assert "রূপসী" in worker.read[-1]  # the summary
    code = case_code_in(worker.say("১"))
    (record,) = hotline.pull()
    assert story in record["description"]
    assert hotline.case_row(code).status == "received"


def test_the_worker_who_said_no_to_contact_is_never_written_to(hotline, make_settings, monkeypatch):
    worker = hotline.sms_worker("+8801711000303")
    code = case_code_in(worker.script(*ENGLISH_INTAKE, "1")[-1])  # the intake ends with "no" to contact
    assert hotline.case_row(code).reply_address is None, "no reply address is kept after NO"
    (record,) = hotline.pull()
    operator = hotline.operator(make_settings, monkeypatch)
    before = hotline.sms_sent()
    output = grievance(operator, "reply", record["case_id"][:8], "We are looking into this; did the wages arrive")
    assert "NOT sent" in output and "Kept for STATUS" in output  # the CLI says it is kept for STATUS
    grievance(operator, "cases", "status", record["case_id"][:8], "acknowledged", "--reason", "read by the team")
    assert hotline.sms_sent() == before, "no message and no status notice pushed to the worker"
    status = worker.say(f"STATUS {code}")
    assert "did the wages arrive" in status


def test_the_sms_worker_who_sends_stop(hotline, make_settings, monkeypatch):
    worker = hotline.sms_worker("+8801711000304")
    code = case_code_in(worker.script(*ENGLISH_INTAKE_CONTACT_YES, "1")[-1])  # this one agreed to be contacted
    (record,) = hotline.pull()
    assert worker.say("STOP", OptOutType="STOP") == "", "Twilio answers an opt-out itself"
    operator = hotline.operator(make_settings, monkeypatch)
    before = hotline.sms_sent()
    assert "NOT sent" in grievance(operator, "reply", record["case_id"][:8], "Can we call you this evening")
    assert hotline.sms_sent() == before, "nothing is sent to an opted-out number"
    assert "Can we call you this evening" in worker.say(f"STATUS {code}", OptOutType="")  # still readable
    worker.say("START", OptOutType="START")
    assert "sent to the worker" in grievance(operator, "reply", record["case_id"][:8], "We will call at six")
    assert hotline.sms_sent() == before + 1, "START undoes the opt-out"


def test_the_worker_who_pauses_and_says_hello(hotline, monkeypatch):
    worker = hotline.sms_worker("+8801711000305")
    worker.script("hi", "1", "yes", "The supervisor has not paid our wages for two months", "1")
    assert t(hotline, "en", "ask.workplace") in worker.read[-1]
    hotline.time_passes(monkeypatch, 180)
    back = worker.say("hello")
    assert t(hotline, "en", "welcome_back") in back and t(hotline, "en", "ask.workplace") in back, "welcome back, same question"
    assert t(hotline, "en", "ask.location") not in back, "hello is not the workplace"
    again = worker.say("sorry I had to go")
    assert t(hotline, "en", "ask.location") not in again, "an apology is not the workplace either"
    assert t(hotline, "en", "ask.location") in worker.say("Sunrise Garments Ltd")


def test_the_spanish_worker_who_picked_english_by_mistake(hotline):
    worker = hotline.sms_worker("+5215512345306")
    worker.script("hola", "1")  # English, by mistake
    switched = worker.say("Español")
    assert first_line(t(hotline, "es", "privacy", no="NO")) in switched and t(hotline, "es", "ask.description") in switched
    worker.say("sí")
    menu = worker.say("idioma")
    assert "Español" in menu and "English" in menu


def test_the_burmese_worker_typing_in_zawgyi(hotline):
    worker = hotline.telegram_worker(555_000_307)
    worker.say("hi")
    burmese = str(hotline.settings.deployment.languages.index("my") + 1)
    worker.say(burmese)
    consented = worker.say("ဟုတ္ကဲ့")  # "yes", typed in Zawgyi
    assert t(hotline, "my", "ask.description") in consented


def test_the_worker_who_does_not_know(hotline):
    worker = hotline.sms_worker("+5215512345308")
    worker.script("hola", "4", "sí", "No nos pagan las horas extra desde hace tres meses", "1",
                  "Confecciones del Norte", "Monterrey")
    assert t(hotline, "es", "ask.brand") in worker.read[-1]
    worker.say("no sé")  # the brand
    worker.say("desde enero, y sigue")  # when, and whether it goes on
    worker.say("no sé")  # how many people
    assert t(hotline, "es", "ask.urgent") in worker.read[-1], "don't know is an answer, not a refusal"
    worker.script("no", "no", "no")
    code = case_code_in(worker.say("1"))
    (record,) = hotline.pull()
    assert record["answers"]["brand"] is None
    assert record["answers"]["people_affected"] is None
    assert hotline.case_row(code)


def test_the_worker_who_edits_the_story(hotline):
    worker = hotline.sms_worker("+8801711000309")
    worker.script(*ENGLISH_INTAKE)
    worker.script("2", "1")  # change the description
    worker.say("He also took our passports and keeps them in his office")
    code = case_code_in(worker.say("1"))
    (record,) = hotline.pull()
    assert "has not paid our wages" in record["description"], "the story is added to, not replaced"
    assert "took our passports" in record["description"]
    assert hotline.case_row(code)


def test_the_worker_who_checks_status_and_days_later_reports_something_new(hotline, monkeypatch):
    first_phone = hotline.sms_worker("+8801711000310")
    code = case_code_in(first_phone.script(*ENGLISH_INTAKE, "1")[-1])
    hotline.pull()
    friend = hotline.telegram_worker(555_000_310)
    friend.say(f"STATUS {code}")
    friend.say("Half of the wages came on Friday")
    hotline.time_passes(monkeypatch, 60 * 24 * 2)
    fresh = friend.say("My supervisor shouts at the girls on our line every day")
    assert t(hotline, "en", "dialogue.added", cancel="X").split("X")[0][:20] not in fresh, "not filed into the old case"
    with hotline.services.sessions.begin() as session:
        assert session.execute(select(func.count()).select_from(WorkerAnswer)).scalar_one() == 1


def test_the_worker_in_a_hurry_who_writes_everything_at_once(hotline):
    story = "Sunrise Garments in Gazipur has not paid 40 of us for two months, the owner says wait"
    worker = hotline.sms_worker("+8801711000311")
    assert t(hotline, "en", "kept.note") in worker.say(story)
    notice = worker.say("1")  # English: the privacy notice
    assert t(hotline, "en", "kept.start", done="\x00").split("\x00")[0] in notice, "the story was kept, not asked again"
    assert t(hotline, "en", "ask.suggestion", category="\x00").split("\x00")[0] in worker.say("yes"), "YES: on with the story"


def test_the_worker_on_a_shared_phone_erases_the_chat(hotline):
    worker = hotline.telegram_worker(555_000_312)
    replies = worker.script(*ENGLISH_INTAKE, "1")
    assert CODE_SHOWN.search(replies[-1])
    hotline.settle()
    bot_messages = {message["message_id"] for message in hotline.telegram.sent(555_000_312)}
    worker.say("DELETE")
    deleted = set()
    for params in hotline.telegram.called("deleteMessages"):
        deleted |= set(params["message_ids"])
    for params in hotline.telegram.called("deleteMessage"):
        deleted.add(params["message_id"])
    assert bot_messages <= deleted, "the summary and the code are gone from the phone too"
