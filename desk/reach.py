"""Whether and how the worker of a case can be reached, and why not, from what the desk knows.

What the desk knows: the report's answer to the contact question (a question with
`grants_contact`), a later "contact" answer (after an urgent alert the worker said whether
the team may write back on that chat), the case's channel, and what the operator API
answered the last time the team wrote (`why`: sent_to_channel, contact_declined,
address_expired, opted_out), which is the intake server's own word on that day.

The worker's answer settles consent: a report carries the final answer (after an alert,
the one given there); an alert alone, the contact answer that followed it, if any. The
server's answer to a message sent later wins over both: it knows what the desk cannot see
(the address kept only so long, a number that sent STOP).

Sentences are English; the web console translates them (flask-babel looks each up as is).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .dialogue import DialogueEntry

CHANNEL_NAMES = {"sms": "SMS", "whatsapp": "WhatsApp", "telegram": "Telegram", "messenger": "Messenger", "line": "LINE",
                 "console": "console"}
_TO_STATUS = "they read your messages with STATUS and their code"
_DIRECT = "they answer directly"
SENTENCES = {
    "report_yes": f"Can be written to on their %(channel)s chat (they said YES to contact in their report); {_DIRECT}.",
    "alert_yes": f"Can be written to on their %(channel)s chat (they allowed it after the alert); {_DIRECT}.",
    "delivered": f"Can be written to on their %(channel)s chat (your message of %(day)s reached it); {_DIRECT}.",
    "report_no": f"Not reachable: they asked not to be contacted; {_TO_STATUS}.",
    "alert_no": f"Not reachable: after the alert they asked not to be written to; {_TO_STATUS}.",
    "not_asked": f"Not reachable yet: they have not said whether the team may write to them (the alert came first); {_TO_STATUS}.",
    "never_asked": f"Not reachable: this hotline does not ask workers whether the team may write to them; {_TO_STATUS}.",
    "contact_declined": f"Not reachable: the hotline holds no agreement to write to them (its answer of %(day)s); {_TO_STATUS}.",
    "address_expired": ("Not reachable any more: the hotline no longer keeps the address of their chat (it is kept for a "
                        f"limited time after their last message; its answer of %(day)s); {_TO_STATUS}."),
    "opted_out": ("Not reachable: their number opted out of the hotline's messages (STOP; its answer of %(day)s); "
                  f"{_TO_STATUS}, and START lets messages reach them again."),
}
# Said beside a reachable WhatsApp worker: what goes out after Meta's 24-hour window.
WHATSAPP_NOTE = ("On WhatsApp, more than 24 hours after their last message only a notice goes out (there is news, send "
                 "STATUS and the code), never your words.")
_SERVER_WORDS = ("sent_to_channel", "contact_declined", "address_expired", "opted_out")


@dataclass(frozen=True)
class Reach:
    """Can the team's message be pushed to the worker now, and the reason (a key of SENTENCES)."""

    reachable: bool
    reason: str
    channel: str
    day: str = ""  # the day of the operator API's answer the reason rests on, when it does

    def values(self) -> dict[str, str]:
        return {"channel": CHANNEL_NAMES.get(self.channel, self.channel), "day": self.day}

    def sentence(self, translate=None) -> str:
        """The plain sentence, through `translate` (a gettext) when given."""
        template = SENTENCES[self.reason]
        return translate(template, **self.values()) if translate else template % self.values()

    @property
    def note(self) -> str | None:
        return WHATSAPP_NOTE if self.reachable and self.channel == "whatsapp" else None


def _hour_after(received_at: str) -> str:
    """The end of the hour a record was received in (records are stamped to the hour), as dialogue times are written."""
    try:
        moment = datetime.fromisoformat(received_at.replace("Z", "+00:00"))
    except ValueError:
        return received_at
    return (moment + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:00Z")


def reach_of(record: dict, thread: Sequence[DialogueEntry], contact_questions: Sequence[str]) -> Reach:
    """How the worker of `record` can be reached, from the record, its dialogue (oldest first) and the flow's contact questions."""
    channel = str(record.get("channel", ""))
    answers = record.get("answers") or {}
    stated = [answers[q] for q in contact_questions if isinstance(answers.get(q), bool)]
    contacts = [i for i, entry in enumerate(thread) if entry.kind == "contact" and entry.contact_allowed is not None]
    told = [i for i, entry in enumerate(thread) if entry.direction == "operator" and entry.why in _SERVER_WORDS]
    last_told = told[-1] if told else None
    if record.get("kind", "report") != "alert" and stated:
        # The report's answer is the final one (an alert's contact answer always comes before its report).
        allowed = any(stated)
        via_alert = bool(contacts) and thread[contacts[-1]].contact_allowed == allowed
        reason = ("alert_" if via_alert else "report_") + ("yes" if allowed else "no")
        # The report is stamped to the hour. A server's answer that contradicts it (no agreement held
        # where the report said YES, a message delivered where it said NO) can only be older than the
        # report, from the time of its alert: within the report's hour it is taken as older. Opted out
        # and expired hold whenever they were said.
        contradicting = "contact_declined" if allowed else "sent_to_channel"
        fresh = last_told is not None and (
            thread[last_told].why != contradicting or thread[last_told].at >= _hour_after(str(record.get("received_at", "")))
        )
    elif contacts:
        allowed = bool(thread[contacts[-1]].contact_allowed)
        reason = "alert_yes" if allowed else "alert_no"
        fresh = last_told is not None and last_told > contacts[-1]  # the order they were kept in
    else:
        allowed, reason = False, "not_asked" if contact_questions else "never_asked"
        fresh = last_told is not None
    if not fresh:
        return Reach(allowed, reason, channel)
    why, day = thread[last_told].why, thread[last_told].at[:10]
    if why == "sent_to_channel":
        return Reach(True, reason if allowed else "delivered", channel, day)
    if why == "contact_declined" and not allowed:
        return Reach(False, reason, channel, day)  # what the worker said, in their own terms
    return Reach(False, why, channel, day)
