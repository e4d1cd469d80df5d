"""Answer windows: once the team has written to a worker's chat, what that chat sends next answers that case.

The team's message (or the question whether the outcome helped) reaches the worker on
their chat only when they allowed contact; the operator API then opens a window on that
chat: its keyed blind index (the same as the conversation's), and encrypted under the data
key, which case it answers into, in which language, and what is asked (an answer, or the
feedback question). The intake (bot/intake.py) finds it when the chat writes with no report
in progress. A window ends when it expires (`session.answer_window_days`), when the worker
sends NEW, STOP or DELETE, or when the case is closed (the intake looks at the case when
the chat writes); `grievance purge` drops expired ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.messages import ReplyAddress

from . import crypto
from .db import as_utc
from .models import AnswerWindow

ASKS = ("answer", "feedback")


@dataclass(frozen=True)
class OpenWindow:
    case_id: str
    language: str | None
    asks: str  # "answer": the team's message; "feedback": did the outcome help?


class AnswerWindows:
    """Opens, finds and closes answer windows inside the caller's transaction."""

    def __init__(self, session: Session, secrets: crypto.ServerSecrets) -> None:
        self.session = session
        self.secrets = secrets

    def lookup_of(self, address: ReplyAddress) -> str:
        return crypto.conversation_lookup(self.secrets, address.channel, address.address)

    def open(self, address: ReplyAddress, case_id: str, language: str | None, asks: str, now: datetime, lasting: timedelta) -> None:
        """Open (or move to this case) the window of the chat at `address`."""
        if asks not in ASKS:
            raise ValueError("unknown answer window kind")
        lookup = self.lookup_of(address)
        blob = crypto.encrypt_answer_window(
            self.secrets, lookup, json.dumps({"case_id": case_id, "language": language, "asks": asks}).encode()
        )
        row = self.session.get(AnswerWindow, lookup)
        if row is None:
            self.session.add(AnswerWindow(lookup=lookup, window=blob, expires_at=now + lasting))
        else:
            row.window, row.expires_at = blob, now + lasting

    def find(self, lookup: str, now: datetime) -> OpenWindow | None:
        """The chat's open window, or None (an expired or unreadable one is dropped)."""
        row = self.session.get(AnswerWindow, lookup)
        if row is None:
            return None
        if as_utc(row.expires_at) <= now:
            self.close(lookup)
            return None
        try:
            fields = json.loads(crypto.decrypt_answer_window(self.secrets, lookup, row.window))
        except crypto.DecryptionError:  # a retired data key: the window is unreadable for good
            self.close(lookup)
            return None
        return OpenWindow(fields["case_id"], fields.get("language"), fields.get("asks", "answer"))

    def close(self, lookup: str) -> None:
        self.session.execute(delete(AnswerWindow).where(AnswerWindow.lookup == lookup))


def purge_expired(session: Session, now: datetime) -> int:
    """Drop the windows past their end; returns how many."""
    return session.execute(delete(AnswerWindow).where(AnswerWindow.expires_at <= now)).rowcount or 0
