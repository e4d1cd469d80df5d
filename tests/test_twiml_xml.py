"""TwiML replies are always well-formed XML 1.0, whatever characters a reply's text holds."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from bot.messages import Reply
from channels.twilio_inbound import twiml_reply

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

FORBIDDEN = [chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20))] + ["\ud800", "\udfff", "\ufffe", "\uffff"]


@pytest.mark.parametrize("channel", ["sms", "whatsapp"])
@pytest.mark.parametrize("character", FORBIDDEN, ids=lambda c: f"U+{ord(c):04X}")
def test_a_character_xml_forbids_is_dropped_and_the_rest_is_kept(channel, character):
    xml = twiml_reply(Reply((f"Your case: wages{character} & <hours>", "Second\tline\r\nthird")), channel, 3)
    root = ET.fromstring(xml.encode("utf-8"))
    text = "".join(message.text or "" for message in root.iter("Message"))
    assert text == "Your case: wages & <hours>\n\nSecond\tline\nthird"  # XML parsers read CR LF as LF


def test_a_reply_made_only_of_forbidden_characters_still_parses():
    root = ET.fromstring(twiml_reply(Reply(("\x0b\x00",)), "sms", 3))
    assert root.tag == "Response" and all(not message.text for message in root.iter("Message"))
