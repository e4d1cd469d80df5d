"""The voice line: scripted callers against signed webhooks, a fake Twilio behind them.

Each caller presses keys, speaks (a WAV the fake Twilio serves as the recording) and hangs up as a
phone would; the TwiML answers are parsed and checked, the recording must be fetched with the
account's credentials and DELETEd at Twilio, and the case is opened with the operator key as the
team would. A request not signed for the exact public URL is refused with nothing stored.
"""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.logs import reset_logging
from bot.services import build_services
from channels.voice.speech import Speaker
from fake_twilio import FakeTwilio
from storage.cases import CaseStore
from storage.db import utcnow
from storage.keys import init_keys
from storage.models import Case, Conversation, DraftMedia, InboundReceipt, WorkerAnswer
from test_channel_twilio import count
from test_voice_disguise import fundamental, samples, semitones
from channel_support import pulled
from voice_support import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, Caller, sign, spoken_wav

WORKER = "+8801711000000"
TABLES = (Conversation, InboundReceipt, Case, DraftMedia, WorkerAnswer)


@pytest.fixture
def fake():
    server = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    yield server
    server.close()


@pytest.fixture
def line(settings_with, fake, monkeypatch):
    """The hotline with its voice line on; `line.caller(number)` makes a phone."""
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    settings = settings_with(channels={"twilio": {"api_base_url": fake.url}, "voice": {"enabled": True}},
                             server={"public_url": PUBLIC_URL})
    init_keys(settings, dev_operator_key=True)
    services = build_services(settings)

    class Line:
        def __init__(self):
            self.services = services
            self.client = create_app(services).test_client()

        def caller(self, number: str | None = WORKER) -> Caller:
            return Caller(self.client, fake, number)

        def count(self, model) -> int:
            return count(services, model)

    yield Line()
    services.close()


def code_said(heard) -> str:
    """The case code read out (digit by digit, twice: both times the same)."""
    runs = [match.group(0) for text in heard.says for match in re.finditer(r"[0-9](?:, [0-9]){5,}", text)]
    assert len(runs) == 2 and runs[0] == runs[1], heard.says
    return runs[0].replace(", ", "")


def report_in_english(caller: Caller, menu=None, *, urgent: str = "2", contact: str = "1", referral: str = "2"):
    menu = menu or caller.call()
    assert menu.gather.get("numDigits") == "1" and menu.gather.get("actionOnEmptyResult") == "true"
    caller.press("1")  # English
    heard = caller.press("1")  # report a problem
    assert "recorded and sent, sealed" in heard.text  # the privacy notice first
    record = heard.record
    assert record.get("maxLength") == "180" and record.get("timeout") == "6"
    assert record.get("transcribe") == "false" and record.get("playBeep") == "true"
    assert record.get("action").startswith(PUBLIC_URL + "/webhooks/voice/recorded")
    heard = caller.speak(spoken_wav())
    assert "Your words are kept" in heard.text and "danger now" in heard.text
    caller.press(urgent)
    caller.press(contact)
    return caller.press(referral)


def test_a_caller_reports_by_voice_and_keypad_and_hears_the_code_twice(line, fake):
    caller = line.caller()
    first = caller.call()
    options = first.says
    # each language offered in its own words, in its own voice; danger from the first prompt on
    assert "For English, press 1." in options
    assert first.says_in("bn-IN") == ["বাংলার জন্য 2 চাপুন।"]
    assert first.says_in("vi-VN") == ["Tiếng Việt, bấm phím 3."]
    assert options[-1] == "If someone is in danger now, press 9."
    end = report_in_english(caller, first, contact="1")
    assert end.hung_up
    code = code_said(end)
    # the recording was fetched with the account's credentials, then deleted at Twilio
    gets = [r for r in fake.requests if r.method == "GET" and "/Recordings/" in r.path]
    assert gets and all(fake.authorized(r) for r in gets)
    assert fake.recording_deletes()[0] == caller.recording_sid
    assert not any(path.endswith(".wav") for path in fake.media)
    (case,) = line_pull(line)
    assert case["channel"] == "voice" and case["code"] == code
    assert case["answers"]["urgent"] is False and case["answers"]["contact_consent"] is True
    assert case["answers"]["referral_consent"] is False
    assert case["contact"] == {"channel": "voice", "address": WORKER}
    (attachment,) = case["attachments"]
    audio = base64.b64decode(attachment["data_base64"])
    assert attachment["content_type"] == "audio/ogg" and audio.startswith(b"OggS")
    assert b"CallerSecretTitle" not in audio  # cleaned like every voice note
    # and disguised like every voice note: the caller's 220 Hz is not what the team hears
    assert attachment["voice"] == "disguised"  # the only attachment: no original kept by default
    heard = fundamental(samples(audio, "ogg"))
    assert abs(semitones(heard / 220)) >= 3
    assert line.count(Conversation) == 0  # the call's state went with the sealed case


def line_pull(line):
    return pulled(line.services)


def test_danger_at_the_first_prompt_reads_the_contacts_and_alerts_the_team(line):
    caller = line.caller()
    caller.call()
    heard = caller.press("9")
    assert "If you are in danger now, call: Emergency services: 999. Duty officer: 0100 200 300." in heard.says
    assert any(text.startswith("The hotline team has been alerted now.") for text in heard.says)
    assert heard.gather is not None and "To go on with your report, press 1. If you have a case code, press 2." in heard.says  # the call goes on
    (alert,) = line_pull(line)
    assert alert["kind"] == "alert" and alert["urgent"] is True and alert["channel"] == "voice"


def test_a_bengali_caller_hangs_up_halfway_and_finishes_by_calling_back(line, fake):
    caller = line.caller()
    caller.call()
    heard = caller.press("2")  # বাংলা
    assert heard.says_in("bn-IN") and not heard.says_in("en-US")
    caller.press("1")
    caller.speak(spoken_wav(), hang_up=True)  # Twilio posts the recording, then the call ends
    caller.hang_up()
    assert set(fake.recording_deletes()) == {caller.recording_sid}  # deleted at once (and again by the status callback)
    assert line.count(Case) == 0 and line.count(Conversation) == 1 and line.count(DraftMedia) == 1  # kept like an unfinished chat
    again = caller.call()
    assert "আপনার রিপোর্ট রাখা আছে" in again.text and "আপনার রিপোর্ট চালিয়ে যেতে ১ চাপুন" in again.text
    heard = caller.press("1")  # go on: the recording is there, on to the keypad questions
    assert heard.record is None and "এখন কি কেউ বিপদে আছে?" in heard.text
    caller.press("2")
    caller.press("2")
    end = caller.press("1")
    code = code_said(end)
    (case,) = line_pull(line)
    assert case["language"] == "bn" and case["code"] == code and len(case["attachments"]) == 1
    assert case["contact"] is None and case["answers"]["referral_consent"] is True


def test_a_bengali_caller_in_danger_at_the_question_alerts_and_the_report_joins_the_alert(line):
    caller = line.caller()
    caller.call()
    caller.press("2")
    caller.press("1")
    caller.speak(spoken_wav())
    heard = caller.press("1")  # someone is in danger now: yes
    assert "আপনি এখন বিপদে থাকলে ফোন করুন: Emergency services: 999. Duty officer: 0100 200 300।" in heard.says
    assert any(text.startswith("হটলাইন দলকে এখনই সতর্ক করা হয়েছে।") for text in heard.says)
    caller.press("2")
    end = caller.press("2")
    code = code_said(end)
    cases = line_pull(line)
    assert len(cases) == 1 and cases[0]["code"] == code and cases[0]["urgent"] is True


def test_a_caller_calls_back_with_the_code_hears_the_team_and_records_an_answer(line, fake):
    caller = line.caller()
    code = code_said(report_in_english(caller))
    with line.services.sessions.begin() as session:
        cases = CaseStore(session, line.services.secrets)
        case, _ = cases.find_by_code(code)
        cases.add_message(case.case_id, "Are gloves given now?", utcnow())
        case_id = case.case_id
    caller.call()
    caller.press("1")
    heard = caller.press("2")  # I have a case code
    assert heard.gather.get("finishOnKey") == "#" and "Key in your case code" in heard.text
    wrong = caller.press("123")
    assert "No case has this code." in wrong.says
    heard = caller.press(code)
    assert "Your case is: received, waiting for the team." in heard.says
    assert "A message from the team: Are gloves given now?" in heard.says
    heard = caller.press("1")
    assert heard.record is not None and heard.record.get("finishOnKey") == "#"
    end = caller.speak(spoken_wav(frequency=330))
    assert "Your answer is sent to the team. Goodbye." in end.says and end.hung_up
    assert caller.recording_sid in fake.recording_deletes()
    with line.services.sessions.begin() as session:
        answers = session.execute(select(WorkerAnswer).where(WorkerAnswer.case_id == case_id)).scalars().all()
        assert len(answers) == 1


def test_silence_at_the_tone_goes_on_to_the_questions(line):
    caller = line.caller()
    caller.call()
    caller.press("1")
    caller.press("1")
    heard = caller.stay_silent()
    assert "Sorry, we could not keep a recording." in heard.says and "Is someone in danger now?" in heard.text


def test_one_number_holds_one_line_at_a_time(line):
    first, second = line.caller(), line.caller()
    first.call()
    busy = second.call()
    assert busy.hung_up and busy.gather is None and "Another call from your number is in progress" in busy.text
    first.hang_up()
    assert second.call().gather is not None
    assert line.caller("+8801999000000").call().gather is not None  # other numbers are not held up


def test_a_hidden_number_is_never_asked_for_contact(line):
    caller = line.caller(number=None)
    caller.call()
    caller.press("1")
    caller.press("1")
    caller.speak(spoken_wav())
    caller.press("2")
    heard = caller.press("2")  # the referral question follows the danger one directly
    assert heard.hung_up
    (case,) = line_pull(line)
    assert case["contact"] is None and case["answers"]["contact_consent"] is None


ROUTES = ("/webhooks/voice", "/webhooks/voice/step?s=menu", "/webhooks/voice/recorded?s=report",
          "/webhooks/voice/recording", "/webhooks/voice/status")


REFUSALS = [(route, "another token") for route in ROUTES] + [
    (route, how) for route in ROUTES[:3:2] for how in ("unsigned", "signed for the URL Flask sees")]


def test_a_mis_signed_webhook_is_refused_and_nothing_is_stored(line, fake):
    caller = line.caller()
    url, sid = fake.add_recording(spoken_wav())
    form = caller.form(Digits="1", RecordingUrl=url, RecordingSid=sid, CallStatus="completed")
    for route, how in REFUSALS:
        signature = {"unsigned": "", "another token": sign(PUBLIC_URL + route, form, "0" * 32),
                     "signed for the URL Flask sees": sign("http://localhost" + route, form)}[how]
        response = line.client.post(route, data=form, headers={"X-Twilio-Signature": signature} if signature else {},
                                    base_url="http://localhost")
        assert response.status_code == 403 and b"Response" not in response.data, (route, how)
    assert {model.__tablename__: line.count(model) for model in TABLES} == dict.fromkeys((m.__tablename__ for m in TABLES), 0)
    assert fake.requests == []  # the recording was neither fetched nor deleted
    # the same request, signed for the public URL, is taken: the refusals were the signature's
    assert caller.post(PUBLIC_URL + "/webhooks/voice", form).status_code == 200
    assert line.count(Conversation) == 1


@pytest.mark.database_independent
def test_the_start_up_check_says_how_each_language_is_spoken(tmp_path):
    from bot.i18n import Catalogs

    languages = ("en", "bn", "ne", "my", "km")
    (tmp_path / "ne").mkdir()
    catalogs = Catalogs(languages)
    from channels.voice.speech import recordable_keys

    for key in recordable_keys(catalogs):
        (tmp_path / "ne" / f"{key}.mp3").write_bytes(b"ID3")
    speaker = Speaker(catalogs, languages, "en", tmp_path, PUBLIC_URL, "/webhooks/voice/prompts")
    report = "\n".join(speaker.report())
    assert "en: Twilio text-to-speech Google.en-US-Standard-C" in report
    assert "bn: Twilio text-to-speech Google.bn-IN-Standard-A" in report
    assert "ne: recorded prompts" in report
    assert "my: not offered" in report and "km: not offered" in report
    assert speaker.languages == ("en", "bn", "ne")
    from twilio.twiml.voice_response import VoiceResponse

    response = VoiceResponse()
    speaker.say(response, "ne", "voice.menu")
    assert f"<Play>{PUBLIC_URL}/webhooks/voice/prompts/ne/voice.menu.mp3</Play>" in str(response)



@pytest.mark.database_independent
def test_the_voice_prompts_command_lists_what_to_record(tmp_path):
    import yaml
    from click.testing import CliRunner

    from bot.cli import cli
    from databases import example_config

    config = example_config(None)
    config["deployment"]["languages"] = ["en", "bn", "ne", "km"]
    config["channels"]["voice"]["prompts_dir"] = "prompts"
    (tmp_path / "prompts" / "ne").mkdir(parents=True)
    (tmp_path / "prompts" / "ne" / "voice.menu.mp3").write_bytes(b"ID3")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    try:
        result = CliRunner().invoke(cli, ["--config", str(tmp_path / "config.yaml"), "voice-prompts", "--language", "ne"])
    finally:
        reset_logging()  # the command set up logging in this process
    assert result.exit_code == 0, result.output
    assert "voice line: bn: Twilio text-to-speech Google.bn-IN-Standard-A" in result.output
    assert "voice line: ne: not offered on the voice line" in result.output
    assert "  recorded  voice.menu.mp3  समस्या बताउन १ थिच्नुहोस्।" in result.output
    assert "  missing   voice.privacy.mp3  " in result.output
    assert "voice.case_code" not in result.output  # a text with a value in it is never recorded


def test_a_call_past_its_length_ends_and_keeps_what_was_said(line, monkeypatch):
    import channels.voice.calls as calls

    caller = line.caller()
    caller.call()
    caller.press("1")
    caller.press("1")
    caller.speak(spoken_wav())
    later = utcnow() + timedelta(seconds=line.services.settings.channels.voice.max_call_seconds + 1)
    monkeypatch.setattr(calls, "utcnow", lambda: later)
    heard = caller.press("2")
    assert heard.hung_up and "The time for this call is over. What you said is kept." in heard.text
    assert line.count(Case) == 0 and line.count(DraftMedia) == 1


@pytest.mark.database_independent
def test_a_recorded_prompt_is_served_and_nothing_else_is(tmp_path):
    from bot.i18n import Catalogs

    (tmp_path / "prompts" / "en").mkdir(parents=True)
    (tmp_path / "prompts" / "en" / "voice.menu.mp3").write_bytes(b"ID3 menu")
    (tmp_path / "secret.mp3").write_bytes(b"not a prompt")
    speaker = Speaker(Catalogs(("en",)), ("en",), "en", tmp_path / "prompts", PUBLIC_URL, "/webhooks/voice/prompts")
    assert speaker.prompt_file("en", "voice.menu") == tmp_path / "prompts" / "en" / "voice.menu.mp3"
    for language, key in (("..", "secret"), ("en", "../secret"), ("en", ".."), ("en/..", "secret"), ("EN", "voice.menu")):
        assert speaker.prompt_file(language, key) is None


def test_a_redelivered_recording_is_kept_once_and_fetched_once(line, fake):
    caller = line.caller()
    caller.call()
    caller.press("1")
    record = caller.press("1").record
    url, sid = fake.add_recording(spoken_wav())
    form = caller.form(RecordingUrl=url, RecordingSid=sid, RecordingDuration="1", Digits="#")
    first = caller.post(record.get("action"), form)
    again = caller.post(record.get("action"), form)  # Twilio retried the action
    assert first.status_code == again.status_code == 200 and b"Is someone in danger now?" in again.data
    assert line.count(DraftMedia) == 1
    assert len([r for r in fake.requests if r.method == "GET" and sid in r.path]) == 1


FAKE_ESPEAK = """#!{python}
import sys, wave
args = sys.argv[1:]
assert args[0] == "-v" and args[2] == "-w" and len(args) == 5, args
with open(args[3] + ".args", "w", encoding="utf-8") as note:
    note.write(args[1] + "\\n" + args[4])
with wave.open(args[3], "wb") as out:
    out.setnchannels(1); out.setsampwidth(2); out.setframerate(8000); out.writeframes(bytes(1600))
"""


@pytest.mark.database_independent
def test_prompts_are_made_with_espeak_at_install_for_nepali_and_burmese(tmp_path, monkeypatch):
    """espeak-ng itself is not on the test machines: a stand-in with its command line takes its
    place on PATH and records how it was called; the files it makes are played like recordings."""
    import sys

    import yaml
    from click.testing import CliRunner

    from bot.cli import cli
    from databases import example_config

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "espeak-ng").write_text(FAKE_ESPEAK.format(python=sys.executable))
    (bin_dir / "espeak-ng").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    config = example_config(None)
    config["deployment"]["languages"] = ["en", "ne", "my", "km"]
    config["channels"]["voice"]["prompts_dir"] = "prompts"
    (tmp_path / "prompts" / "ne").mkdir(parents=True)
    (tmp_path / "prompts" / "ne" / "voice.menu.mp3").write_bytes(b"ID3 a person's recording")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    try:
        result = CliRunner().invoke(cli, ["--config", str(tmp_path / "config.yaml"), "voice-prompts", "--make-speech"])
    finally:
        reset_logging()
    assert result.exit_code == 0, result.output
    assert "voice line: ne: recorded prompts" in result.output and "voice line: my: recorded prompts" in result.output
    assert "voice line: km: not offered" in result.output  # espeak-ng has no Khmer
    assert (tmp_path / "prompts" / "ne" / "voice.menu.mp3").read_bytes() == b"ID3 a person's recording"  # never overwritten
    assert not (tmp_path / "prompts" / "ne" / "voice.menu.wav").exists()
    voice, text = (tmp_path / "prompts" / "my" / "voice.menu.wav.args").read_text(encoding="utf-8").split("\n", 1)
    assert voice == "my" and text == "ပြဿနာ တိုင်ကြားရန် ၁ ကို နှိပ်ပါ။ ကိစ္စကုဒ် ရှိရင် ၂ ကို နှိပ်ပါ။"
