"""Workers who follow every menu: the path the first release was built for, over the real HTTP paths."""

from __future__ import annotations

from personas.persona_support import SMS_HELP_WORDS, SMS_OPT_OUT_WORDS, case_code_in
from worker_scripts import BENGALI_INTAKE, ENGLISH_INTAKE


def test_the_careful_english_sms_worker_gets_a_code_and_the_operator_reads_the_case(hotline):
    worker = hotline.sms_worker("+8801711000101")
    replies = worker.script(*ENGLISH_INTAKE, "1")
    code = case_code_in(replies[-1])
    assert hotline.case_row(code).status == "received"
    (record,) = hotline.pull()
    assert "has not paid our wages" in record["description"]
    assert record["answers"]["workplace"] == "Sunrise Garments Ltd"


def test_the_careful_bengali_telegram_worker_reads_everything_in_bengali(hotline):
    worker = hotline.telegram_worker(555_000_201)
    replies = worker.script(*BENGALI_INTAKE, "১")
    code = case_code_in(replies[-1])
    assert all(not reply.isascii() for reply in replies[2:]), "every answer after the language menu is in Bengali"
    (record,) = hotline.pull()
    assert record["language"] == "bn" and "বেতন" in record["description"]
    assert hotline.case_row(code).urgent is False


def test_an_sms_worker_is_never_asked_to_send_an_opt_out_word(hotline):
    worker = hotline.sms_worker("+8801711000102")
    worker.script(*ENGLISH_INTAKE, "2", "1", "1")  # summary: change, description... then the same again
    for message in worker.read:
        words = {word.strip(".,:;!?()\"'").upper() for word in message.split()}
        assert not words & set(SMS_OPT_OUT_WORDS + SMS_HELP_WORDS), message


def test_the_lost_sms_worker_who_sends_help_halfway(hotline):
    """HELP is a Twilio keyword: with Advanced Opt-Out, Twilio answers it itself ("reply STOP to
    unsubscribe") and tells the app with OptOutType=HELP. The worker still gets the hotline's own
    help, naming EXIT to leave (never the word STOP, HELP or INFO); MENU, the help word the bot names on SMS,
    gives the same; and the worker goes on where they were."""
    worker = hotline.sms_worker("+8801711000103")
    worker.script(*ENGLISH_INTAKE[:5])
    question = worker.read[-1]
    help_text = worker.say("HELP", OptOutType="HELP")
    words = {word.strip(".,:;!?()\"'").upper() for word in help_text.split()}
    assert "EXIT" in words and not words & set(SMS_OPT_OUT_WORDS + SMS_HELP_WORDS), help_text
    assert question.splitlines()[-1] in help_text, "the help ends with the question the worker was at"
    assert worker.say("MENU") == help_text, "the word the bot names works"
    replies = worker.script(*ENGLISH_INTAKE[5:], "1")
    code = case_code_in(replies[-1])
    (record,) = hotline.pull()
    assert hotline.case_row(code).status == "received" and record["answers"]["workplace"] == "Sunrise Garments Ltd"
