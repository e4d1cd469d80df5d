"""One webhook of a call, in one database transaction: the caller's draft, their open calls, the case desk.

A call's state is a `Draft` like a chat's (so a report a caller hung up on is kept exactly like an
unfinished chat, encrypted, until `session.idle_expiry_hours`, and calling back goes on with it),
found by the blind index of ("voice", the caller's number). A caller who hides their number is
known by the call alone: their report cannot be finished by calling back, and the team cannot
call them. `draft.call` holds what only a call has: its step, and the calls that number has open
(keyed hashes of the CallSids, with when each began), which bound how many lines one number holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.case_desk import IntakeCaseDesk
from bot.draft import Draft
from bot.intake import Intake
from bot.messages import InboundMessage, MediaItem, ReplyAddress
from storage import crypto
from storage.conversations import ConversationStore
from storage.db import utcnow
from storage.receipts import first_receipt

CHANNEL = "voice"
ADAPTER = "voice"
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
# What Twilio puts in From when the caller hid their number: not an address anyone can call back.
_HIDDEN = {"+266696687", "+7378742833", "+2562533", "+86282452253", "+8656696"}
# The description a voice report carries: the caller's words are the recording attached.
VOICE_DESCRIPTION = "[Voice report: the caller's recording is attached.]"
VOICE_ANSWER = "[Voice answer: the caller's recording is attached.]"


def caller_address(from_number: str, call_sid: str) -> tuple[str, bool]:
    """(the address the call's draft is kept under, whether it is a number that can be called back)."""
    number = (from_number or "").strip()
    if _PHONE.match(number) and number not in _HIDDEN:
        return number, True
    return "call:" + call_sid, False


@dataclass
class Call:
    """The state of one call for the length of one webhook (see `open_call`)."""

    intake: Intake
    session: object
    conversations: ConversationStore
    lookup: str
    sender: str
    reachable: bool  # the caller's number is known: contact and finishing by calling back are possible
    call_key: str  # keyed hash of the CallSid
    draft: Draft | None
    desk: IntakeCaseDesk
    now: datetime

    @property
    def state(self) -> dict:
        if self.draft is None:
            self.draft = Draft(description=[VOICE_DESCRIPTION])
        return self.draft.call

    def admit(self, limit: int, max_seconds: int) -> bool:
        """Count this call among the number's open calls; False when the number already holds `limit`."""
        open_calls = self.state.setdefault("open", {})
        stale = (self.now - timedelta(seconds=max_seconds + 120)).isoformat()
        for key in [key for key, since in open_calls.items() if since < stale]:  # a call whose end we never heard
            del open_calls[key]
        if self.call_key in open_calls:
            return True
        if len(open_calls) >= limit:
            return False
        open_calls[self.call_key] = self.now.isoformat()
        return True

    def seconds_in(self) -> float:
        """How long this call has lasted (0 when it is not known)."""
        since = self.state.get("open", {}).get(self.call_key)
        return (self.now - datetime.fromisoformat(since)).total_seconds() if since else 0.0

    def ended(self) -> None:
        self.state.get("open", {}).pop(self.call_key, None)

    def keep_recording(self, item: MediaItem, recording_sid: str) -> bool:
        """Keep a recording with the report (within the report's caps); False if it was kept before
        (Twilio redelivered the action) or the caps are full."""
        receipt = crypto.inbound_receipt_key(self.intake.secrets, ADAPTER, recording_sid)
        if not first_receipt(self.session, receipt, self.now):
            return False
        limits = self.intake.settings.limits
        count, size = self.conversations.media_usage(self.lookup)
        if count + 1 > limits.max_attachments_per_report or size + len(item.data) > limits.max_attachment_bytes_per_report:
            return False
        self.save()  # the draft's row must exist before its media
        self.conversations.add_media(self.lookup, item, self.now)
        return True

    def reporting(self) -> bool:
        """A report is in progress: something said, answered or alerted that must not be lost."""
        draft = self.draft
        return draft is not None and bool(draft.call.get("recorded") or draft.answers or draft.alert_case)

    def save(self) -> None:
        if self.draft is not None:
            self.conversations.save(self.lookup, self.draft, self.desk.reply_address, self.now)

    def erase(self) -> None:
        self.conversations.erase(self.lookup)
        self.draft = None


def reply_address(intake: Intake, sender: str) -> ReplyAddress:
    """Where the team reaches a caller who allowed it: by SMS from the same Twilio number when
    SMS is on, else nowhere but the next call (the voice adapter sends nothing)."""
    twilio = intake.settings.channels.twilio
    if twilio.enabled and twilio.sms_from and not sender.startswith("call:"):
        return ReplyAddress("twilio", "sms", sender)
    return ReplyAddress(ADAPTER, CHANNEL, sender)


@contextmanager
def open_call(intake: Intake, from_number: str, call_sid: str) -> Iterator[Call]:
    """The call's state in one transaction; saved (or erased) when the block ends without error."""
    sender, reachable = caller_address(from_number, call_sid)
    lookup = crypto.conversation_lookup(intake.secrets, CHANNEL, sender)
    call_key = crypto.inbound_receipt_key(intake.secrets, "voice-call", call_sid)
    with intake.sessions.begin() as session:
        now = utcnow()
        conversations = ConversationStore(session, intake.secrets, intake.idle_expiry)
        loaded = conversations.load(lookup, now)
        address = reply_address(intake, sender)
        message = InboundMessage(channel=CHANNEL, sender=sender, text="", adapter=address.adapter)
        desk = IntakeCaseDesk(intake.settings, intake.secrets, intake.understander.name, session, message,
                              conversations, lookup, address)
        call = Call(intake, session, conversations, lookup, sender, reachable, call_key, loaded.draft, desk, now)
        yield call
        if call.draft is not None:
            call.save()
