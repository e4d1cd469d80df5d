"""The per-message shortcuts give exactly what the general code they replace gives."""

from __future__ import annotations

import json
import random
from dataclasses import asdict

import pytest
from twilio.twiml.messaging_response import MessagingResponse

from bot.draft import Draft
from bot.messages import Reply
from channels.sms_segments import split_for_sms
from channels.twilio_inbound import WHATSAPP_MAX_CHARS, split_by_length, twiml_reply

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

ALPHABET = "ab Z1?!.&<>\"'\t\n\r]]>\u00e9\u2019\u09ac\u0995\U0001f600;#x"


def library_twiml(reply: Reply, channel: str, max_segments: int) -> str:
    response = MessagingResponse()
    if reply.texts and not reply.duplicate:
        text = "\n\n".join(reply.texts)
        parts = split_for_sms(text, max_segments) if channel == "sms" else split_by_length(text, WHATSAPP_MAX_CHARS)
        for part in parts:
            response.message(part)
    return str(response)


@pytest.mark.parametrize("channel", ["sms", "whatsapp"])
def test_twiml_is_what_twilios_library_writes(channel):
    rng = random.Random(7)
    for _ in range(1500):
        texts = tuple("".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 400))) for _ in range(rng.randint(0, 3)))
        reply = Reply(texts, duplicate=rng.random() < 0.05)
        assert twiml_reply(reply, channel, 3) == library_twiml(reply, channel, 3)


def test_draft_json_is_what_asdict_gives():
    draft = Draft(step="q:place", language="bn", description=["wages", "\u09ac\u09c7\u09a4\u09a8"], description_open=True,
                  answers={"category": "wages", "count": 40, "dates": ["a", "b"], "nested": {"k": [1, 2.5, None]}},
                  history=["consent", "description"], message_refs=["SM1"], offers={"place": "Gazipur"}, urgent=True)
    assert json.loads(draft.to_json()) == {"format": 1, **asdict(draft)}
    assert Draft.from_json(draft.to_json()) == draft
