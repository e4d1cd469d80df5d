"""Answer windows (issue 19): once the team has written to a chat, the chat's next messages answer that case.

Through the real Intake and the real operator API app, on every kind of channel: the window
is keyed by the chat (channel and address, as a keyed blind index), holds nothing readable,
ends with NEW, STOP or DELETE, when the case is closed or after `session.answer_window_days`,
and is dropped by the purge once past its end.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.messages import InboundMessage
from bot.operator_api import create_operator_app
from dialogue_support import confirm_case, new_token
from storage import crypto
from storage.db import utcnow
from storage.keys import load_operator_identity
from storage.models import AnswerWindow, Case, Conversation, WorkerAnswer
from storage.retention import purge_expired

# (channel, adapter, address) of a worker on each kind of channel the hotline speaks.
CHATS = [
    ("sms", "twilio", "+8801711000501"),
    ("whatsapp", "twilio", "+8801711000502"),
    ("whatsapp", "whatsapp_cloud", "8801711000503"),
    ("whatsapp", "whatsapp_cloud", "BD.1234567890abcdef"),  # a WhatsApp username (BSUID) instead of a number
    ("telegram", "telegram", "777000503"),
    ("messenger", "messenger", "24100000000000503"),
    ("line", "line", "U4af4980629f0e3d1b5fbb0f7ec0dd503"),
]
TEAM = "We spoke to the factory. Are the wages paid now?"
ANSWER = "Only half was paid on Friday"


class Chat:
    def __init__(self, services, channel: str, adapter: str, address: str) -> None:
        self.services, self.channel, self.adapter, self.address = services, channel, adapter, address

    def say(self, text: str) -> list[str]:
        message = InboundMessage(channel=self.channel, sender=self.address, text=text, adapter=self.adapter)
        return list(self.services.intake.receive(message).texts)

    def word(self, kind: str, lang: str = "en") -> str:
        return self.services.intake.conversation.for_channel(reserves_opt_out_words=self.channel == "sms").word(kind, lang)


@pytest.fixture
def api(services):
    client = create_operator_app(services).test_client()
    token = new_token(services)

    def post(path: str, body: dict) -> dict:
        response = client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()

    return post


def sealed_answers(services) -> list[dict]:
    identity = load_operator_identity(services.settings.path(services.settings.operator.identity_file))
    with services.sessions.begin() as session:
        rows = session.execute(select(WorkerAnswer).order_by(WorkerAnswer.id)).scalars().all()
        return [json.loads(crypto.open_worker_answer([identity], row.sealed)) for row in rows]


def rows(services, model) -> list:
    with services.sessions.begin() as session:
        found = session.execute(select(model)).scalars().all()
        session.expunge_all()
        return found


@pytest.mark.parametrize(("channel", "adapter", "address"), CHATS, ids=[f"{c}-{a}" for c, a, _ in CHATS])
def test_on_every_channel_the_chat_the_team_wrote_to_answers_its_case(services, api, channel, adapter, address):
    case_id, _code = confirm_case(services, address, channel=channel, adapter=adapter, contact="yes")
    chat = Chat(services, channel, adapter, address)
    assert api(f"/v1/cases/{case_id}/messages", {"text": TEAM})["delivery"] == "sent_to_channel"
    (window,) = rows(services, AnswerWindow)
    assert address.encode() not in window.window and case_id.encode() not in window.window  # nothing readable
    assert window.lookup == crypto.conversation_lookup(services.secrets, channel, address)
    assert chat.say(ANSWER) == [services.catalogs.text("en", "dialogue.sent", new=chat.word("new_report"))]
    (answer,) = sealed_answers(services)
    assert answer["case_id"] == case_id and answer["text"] == ANSWER and answer["kind"] == "answer" and answer["urgent"] is False
    assert rows(services, Conversation) == [], "the window holds the state"
    # Another chat (another channel or number) is not the one the team wrote to.
    other = Chat(services, "telegram" if channel != "telegram" else "sms", adapter, address)
    assert services.catalogs.text("en", "language.menu") in "\n".join(other.say(ANSWER))


@pytest.mark.parametrize("ending", ["new", "stop", "delete"])
def test_new_stop_and_delete_end_the_window(services, api, ending):
    case_id, _ = confirm_case(services, "777000510", channel="telegram", adapter="telegram", contact="yes")
    chat = Chat(services, "telegram", "telegram", "777000510")
    api(f"/v1/cases/{case_id}/messages", {"text": TEAM})
    word = chat.word({"new": "new_report", "stop": "cancel", "delete": "delete"}[ending])
    chat.say(word)
    assert rows(services, AnswerWindow) == []
    assert services.catalogs.text("en", "language.menu") in "\n".join(chat.say(ANSWER))
    assert sealed_answers(services) == []


def test_closing_the_case_and_the_window_days_end_it_and_the_purge_drops_it(services, api, monkeypatch):
    import bot.intake

    closed_id, _ = confirm_case(services, "777000511", channel="telegram", adapter="telegram", contact="yes")
    late_id, _ = confirm_case(services, "777000512", channel="telegram", adapter="telegram", contact="yes")
    for case_id in (closed_id, late_id):
        api(f"/v1/cases/{case_id}/messages", {"text": TEAM})
    with services.sessions.begin() as session:  # closed from the desk (as if the feedback had been given)
        case = session.get(Case, closed_id)
        case.status, case.feedback = "closed", "given"
    menu = services.catalogs.text("en", "language.menu")
    assert menu in "\n".join(Chat(services, "telegram", "telegram", "777000511").say(ANSWER))
    days = services.settings.session.answer_window_days
    later = utcnow() + timedelta(days=days, minutes=1)
    monkeypatch.setattr(bot.intake, "utcnow", lambda: later)
    assert purge_expired(services.sessions, services.settings.retention, now=later).answer_windows == 1
    assert menu in "\n".join(Chat(services, "telegram", "telegram", "777000512").say(ANSWER))
    assert sealed_answers(services) == []


def test_a_stranger_with_the_code_never_moves_the_window_or_reads_the_answers(services, api, send):
    case_id, code = confirm_case(services, "+8801711000520", channel="sms", adapter="twilio", contact="yes")
    api(f"/v1/cases/{case_id}/messages", {"text": TEAM})
    stranger = Chat(services, "sms", "twilio", "+8801711000521")
    assert TEAM in "\n".join(stranger.say(f"STATUS {code}"))  # STATUS shows the news to whoever has the code, as before
    (window,) = rows(services, AnswerWindow)
    assert window.lookup == crypto.conversation_lookup(services.secrets, "sms", "+8801711000520")
