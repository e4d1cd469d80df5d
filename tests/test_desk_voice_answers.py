"""A caller's recorded answer reaches the team: the voice line's call back with the case code,
the answer recorded, pulled by the desk and kept encrypted in the dialogue, played inline on the
case page with its length (byte ranges, roles checked, audit-logged like a report's voice notes);
the caller's own voice, where the deployment keeps it, to admins alone."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.services import build_services
from desk.dialogue import pull_answers
from desk_web_support import Clock, Desk
from fake_twilio import FakeTwilio
from storage.cases import CaseStore
from storage.keys import init_keys
from test_channel_voice import code_said, report_in_english
from test_desk_dialogue_kinds import InProcessClient
from voice_support import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, Caller, spoken_wav


@pytest.fixture
def called_back(settings_with, monkeypatch):
    """A caller reports, calls back with the code and records an answer (the deployment keeps the
    original voice); the desk pulls the case and the answer. -> (desk, case id, answer id)."""
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    settings = settings_with(channels={"twilio": {"api_base_url": fake.url}, "voice": {"enabled": True}},
                             server={"public_url": PUBLIC_URL}, media={"voice_disguise": {"keep_original": True}})
    init_keys(settings, dev_operator_key=True)
    services = build_services(settings)
    caller = Caller(create_app(services).test_client(), fake, "+8801711000000")
    code = code_said(report_in_english(caller))
    caller.call()
    caller.press("1")
    caller.press("2")  # I have a case code
    caller.press(code)
    caller.press("1")  # record an answer
    assert "Your answer is sent to the team." in caller.speak(spoken_wav(seconds=2.0, frequency=330)).text
    desk = Desk(services, Clock())
    desk.add_accounts()
    assert desk.pull_from_intake() == 1
    desk.context.refresh()
    with services.sessions.begin() as session:
        case_id = CaseStore(session, services.secrets).find_by_code(code)[0].case_id
    assert pull_answers(InProcessClient(services), desk.context.dialogue(), desk.identity).kept == 1
    (answer,) = [entry for entry in desk.context.dialogue().thread(case_id) if entry.direction == "worker"]
    yield desk, case_id, answer
    desk.close()
    services.close()
    fake.close()


def signed_in(desk: Desk, name: str):
    client = desk.client()
    assert desk.sign_in(client, name).status_code == 302
    return client


def test_the_desk_keeps_a_recorded_answer_encrypted_and_plays_it_to_case_workers(called_back):
    desk, case_id, answer = called_back
    assert [item["voice"] for item in answer.attachments] == ["disguised", "original"]
    disguised = base64.b64decode(answer.attachments[0]["data_base64"])
    assert disguised.startswith(b"OggS") and 1.5 < answer.attachments[0]["seconds"] < 2.5
    dialogue = desk.context.dialogue()
    with dialogue.engine.connect() as connection:
        blobs = b"".join(connection.execute(select(dialogue.table.c.body)).scalars())
    assert disguised[-64:] not in blobs and answer.attachments[0]["data_base64"][-64:].encode() not in blobs, "kept encrypted"

    client = signed_in(desk, "cai")  # a case worker
    page = client.get(f"/cases/{case_id}")
    src = f"/cases/{case_id}/answers/{answer.entry_id}/0"
    assert f'src="{src}"' in page.text and "recorded answer" in page.text
    thread = page.text[page.text.index('id="thread"'):]
    assert thread.count("<audio") == 1 and "0:02" in thread and "voice disguised" in thread and "admins only" not in thread
    played = client.get(src)
    assert played.status_code == 200 and played.data == disguised and played.mimetype == "audio/ogg"
    tail = client.get(src, headers={"Range": "bytes=10-"})  # how a player finds an Ogg's length
    assert tail.status_code == 206 and tail.data == disguised[10:]
    assert client.get(f"/cases/{case_id}/answers/{answer.entry_id}/1").status_code == 404  # the caller's own voice: not for them
    assert client.get(f"/cases/{case_id}/answers/{answer.entry_id}/2").status_code == 404
    assert client.get(f"/cases/{case_id}/answers/no-such-answer/0").status_code == 404
    assert client.get(f"/cases/{'0' * 36}/answers/{answer.entry_id}/0").status_code == 404  # only under its own case
    opened = [e for e in desk.store.audit_entries() if e.action == "answer_recording_opened"]
    assert [(e.actor, e.target) for e in opened] == [("cai", case_id)] * 2
    assert signed_in(desk, "ana").get(src).status_code == 403  # an analyst hears no worker


def test_only_admins_hear_the_callers_own_voice_in_an_answer(called_back):
    desk, case_id, answer = called_back
    client = signed_in(desk, "ada")
    thread = client.get(f"/cases/{case_id}").text
    thread = thread[thread.index('id="thread"'):]
    assert thread.count("<audio") == 2 and "admins only" in thread
    original = client.get(f"/cases/{case_id}/answers/{answer.entry_id}/1")
    assert original.status_code == 200 and original.data == base64.b64decode(answer.attachments[1]["data_base64"])


@pytest.mark.database_independent
def test_only_recordings_and_photos_of_an_answer_are_kept():
    from desk.worker_answers import read_answer

    voice = {"content_type": "audio/ogg", "data_base64": "T2dnUw==", "voice": "disguised", "seconds": 1.0}
    fields = {"answer_id": "a1", "case_id": "c1", "received_at": "2026-12-01T10:00:00+00:00", "text": ""}
    odd = [voice, {"content_type": "text/html", "data_base64": "PGI+"}, {"content_type": "audio/ogg"}, "junk", None]
    assert read_answer(fields | {"attachments": odd}).attachments == (voice,)
    assert read_answer(fields | {"attachments": "T2dnUw=="}).attachments == ()
    assert read_answer(fields).attachments == ()
