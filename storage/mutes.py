"""Muting a sender who abuses the hotline, without anyone learning who they are.

Each confirmed case (and urgent alert) keeps its sender's keyed pseudonym
(crypto.sender_pseudonym, the one STATUS throttling uses: it cannot be turned back into the
address without the server's pepper) for `retention.case_sender_days`, and nothing else about
them. Within that time the desk may mute "the sender of case X" through the operator API: the
pseudonym is copied into `muted_senders` until the mute ends. While muted, what that sender
writes makes no draft and no case and gets no answer (bot/intake.py): silence, so the
hotline pays for no SMS to them and they are not told how to get around it; danger words still
get the emergency contacts, because a shared phone may be in other hands. The desk can unmute
at any time; `grievance purge` erases ended mutes and expired pseudonyms.

Times are kept to the minute, like the rest of the server's tables.

The check runs on every inbound message, so it must cost next to nothing: each process keeps the
(few) active mutes in memory (`MuteList`), read again at most every `REFRESH_SECONDS`, and at once
in the process that changed them. A mute or unmute made through another process's operator API
takes effect within that time. One more query in every message's transaction cost about as much
as the conversation's own look-up (measured: bench figure in BENCHMARKS.md).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from . import crypto
from .db import as_utc
from .models import CaseSender, MutedSender

MAX_MUTE_DAYS = 365
REFRESH_SECONDS = 10.0


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


@dataclass(frozen=True)
class MuteState:
    """What the desk may know: is the sender of a case muted, until when, and can they be muted."""

    muted: bool
    until: datetime | None
    sender_known: bool  # the case still holds its sender's pseudonym (within retention.case_sender_days)


class SenderMutes:
    """Case senders and mutes, inside the caller's transaction."""

    def __init__(self, session: Session, secrets: crypto.ServerSecrets) -> None:
        self.session = session
        self.secrets = secrets

    def remember(self, case_id: str, channel: str, address: str, now: datetime, keep: timedelta) -> None:
        """Keep who sent `case_id` (as a pseudonym) for `keep`; nothing when `keep` is zero."""
        if keep <= timedelta(0):
            return
        sender = crypto.sender_pseudonym(self.secrets, channel, address)
        found = self.session.get(CaseSender, case_id)
        if found is None:
            self.session.add(CaseSender(case_id=case_id, sender=sender, expires_at=_minute(now + keep)))
        else:  # the report of an alert: the same case, from the same chat as a rule
            found.sender, found.expires_at = sender, _minute(now + keep)

    def _sender(self, case_id: str, now: datetime) -> str | None:
        return self.session.execute(
            select(CaseSender.sender).where(CaseSender.case_id == case_id, CaseSender.expires_at > now)
        ).scalar()

    def mute(self, case_id: str, days: int, now: datetime) -> MuteState:
        """Mute the sender of `case_id` for `days` (1 to MAX_MUTE_DAYS); `sender_known` False when it cannot be."""
        if not 1 <= days <= MAX_MUTE_DAYS:
            raise ValueError(f"a mute lasts 1 to {MAX_MUTE_DAYS} days")
        sender = self._sender(case_id, now)
        if sender is None:
            return self.state(case_id, now)
        until = _minute(now + timedelta(days=days))
        found = self.session.get(MutedSender, sender)
        if found is None:
            self.session.add(MutedSender(sender=sender, case_id=case_id, muted_at=_minute(now), expires_at=until))
        else:
            found.case_id, found.muted_at, found.expires_at = case_id, _minute(now), until
        self.session.flush()
        return MuteState(True, until, True)

    def unmute(self, case_id: str, now: datetime) -> MuteState:
        """End the mute made from `case_id` (or of its sender, if muted from another of their cases)."""
        sender = self._sender(case_id, now)
        condition = MutedSender.case_id == case_id
        if sender is not None:
            condition = condition | (MutedSender.sender == sender)
        self.session.execute(delete(MutedSender).where(condition))
        return MuteState(False, None, sender is not None)

    def state(self, case_id: str, now: datetime) -> MuteState:
        sender = self._sender(case_id, now)
        condition = MutedSender.case_id == case_id
        if sender is not None:
            condition = condition | (MutedSender.sender == sender)
        until = self.session.execute(
            select(MutedSender.expires_at).where(condition, MutedSender.expires_at > now)
        ).scalar()
        return MuteState(until is not None, as_utc(until) if until is not None else None, sender is not None)


class MuteList:
    """The active mutes, in memory, for the check on every inbound message (see the module docstring)."""

    def __init__(self, sessions: sessionmaker[Session], secrets: crypto.ServerSecrets,
                 refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.sessions = sessions
        self.secrets = secrets
        self.refresh_seconds = refresh_seconds
        self._until: dict[str, datetime] = {}
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Read the mutes again at the next check (this process just changed them)."""
        self._loaded_at = None

    def is_muted(self, channel: str, address: str, now: datetime) -> bool:
        if self._loaded_at is None or time.monotonic() - self._loaded_at > self.refresh_seconds:
            self._load(now)
        until = self._until.get(crypto.sender_pseudonym(self.secrets, channel, address))
        return until is not None and until > now

    def _load(self, now: datetime) -> None:
        with self._lock:
            if self._loaded_at is not None and time.monotonic() - self._loaded_at <= self.refresh_seconds:
                return  # another thread just did
            with self.sessions.begin() as session:
                rows = session.execute(select(MutedSender.sender, MutedSender.expires_at).where(MutedSender.expires_at > now)).all()
            self._until = {sender: as_utc(expires) for sender, expires in rows}
            self._loaded_at = time.monotonic()


def purge(session: Session, now: datetime) -> int:
    """Erase ended mutes and the pseudonyms of cases past `retention.case_sender_days`; the number of rows."""
    erased = session.execute(delete(MutedSender).where(MutedSender.expires_at <= now)).rowcount
    return erased + session.execute(delete(CaseSender).where(CaseSender.expires_at <= now)).rowcount
