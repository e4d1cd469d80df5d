"""Confirmed cases on the intake side: the sealed case into the outbox, STATUS look-ups.

The intake server keeps, per case, only the blind index of its code, its
status, the urgent flag, whether the worker agreed to be contacted, an
encrypted reply address for a limited time (only if they agreed), and the
operator's messages to the worker. The case content exists here only as
the sealed blob in the outbox, which the server cannot open.
"""

from __future__ import annotations

import json
import secrets as _random
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.casecode import new_case_code
from bot.messages import ReplyAddress

from . import crypto
from .db import as_utc
from .models import Case, CaseMessage, OutboxEntry, WorkerAnswer
from .opt_outs import OptOuts

# The lifecycle an operator moves a case through; the worker reads it on STATUS.
CASE_STATUSES = ("received", "acknowledged", "in_review", "in_dialogue", "resolved", "closed")
ANSWER_FORMAT = 1
ANSWER_KINDS = ("answer", "contact", "feedback")  # what a sealed answer is (absent in older ones: "answer")


@dataclass(frozen=True)
class SealedAnswer:
    """A worker's answer waiting for the operator: its id, its case, and the sealed text."""

    id: str
    case_id: str
    sealed: bytes
    created_at: datetime


class CaseStore:
    """Writes confirmed cases and answers STATUS, inside the caller's transaction."""

    def __init__(self, session: Session, secrets: crypto.ServerSecrets) -> None:
        self.session = session
        self.secrets = secrets

    def new_identity(self) -> tuple[str, str]:
        """A fresh case id and a case code not used before."""
        while True:
            code = new_case_code()
            lookup = crypto.case_code_lookup(self.secrets, code)
            if self.session.execute(select(Case.case_id).where(Case.code_lookup == lookup)).first() is None:
                return str(uuid.uuid4()), code

    def add(
        self,
        *,
        case_id: str,
        code: str,
        record: dict,
        urgent: bool,
        reply_address: ReplyAddress,
        now: datetime,
        reply_retention: timedelta,
        language: str | None = None,
        contact_allowed: bool = False,
    ) -> None:
        """Store a confirmed case: sealed into the outbox in this same transaction.

        The reply address is kept only when the worker agreed to be contacted
        (`contact_allowed`, deny by default): after NO nothing is ever pushed to them,
        so nothing that could reach them is kept either. The report of a case that began as
        an urgent alert (`add_alert`) updates the case's row; it is queued under its case id,
        the alert under a delivery id of its own, so no sink takes the report for a redelivery
        of the alert.
        """
        self._keep_case(case_id, code, urgent, reply_address, now, reply_retention, language, contact_allowed)
        self._queue(case_id, record, urgent, now)

    def add_alert(
        self,
        *,
        case_id: str,
        code: str,
        record: dict,
        reply_address: ReplyAddress,
        now: datetime,
        reply_retention: timedelta,
        language: str | None = None,
    ) -> str:
        """Store an urgent alert: the case's row (made now, or kept from an earlier alert) and the
        sealed alert in the outbox, urgent, under a fresh delivery id, which is returned. The worker
        has not answered the contact question yet: no reply address is kept until the report says YES."""
        self._keep_case(case_id, code, True, reply_address, now, reply_retention, language, contact_allowed=None)
        delivery_id = str(uuid.uuid4())
        # Sealed inside, so the operator's pull can tie the signed queue item's id to this record.
        self._queue(delivery_id, {**record, "delivery_id": delivery_id}, True, now)
        return delivery_id

    def _keep_case(
        self,
        case_id: str,
        code: str,
        urgent: bool,
        reply_address: ReplyAddress,
        now: datetime,
        reply_retention: timedelta,
        language: str | None,
        contact_allowed: bool | None,
    ) -> None:
        """The case's row: made, or (after an alert) updated. `contact_allowed` None: not answered yet."""
        keep_address = bool(contact_allowed) and reply_retention > timedelta(0)
        address = crypto.encrypt_reply_address(self.secrets, case_id, reply_address.to_json()) if keep_address else None
        expires = now + reply_retention if keep_address else None
        case = self.session.get(Case, case_id)
        if case is not None:  # an alert came first (or comes in answer mode): the same case goes on
            case.urgent = case.urgent or urgent
            case.language = case.language or language
            if contact_allowed is not None:
                case.contact_allowed = contact_allowed
                if not contact_allowed:
                    case.reply_address, case.reply_address_expires_at = None, None
                elif case.reply_address is None:  # never replaced: see refresh_address
                    case.reply_address, case.reply_address_expires_at = address, expires
            return
        self.session.add(
            Case(
                case_id=case_id,
                code_lookup=crypto.case_code_lookup(self.secrets, code),
                status="received",
                urgent=urgent,
                created_at=now,
                reply_address=address,
                reply_address_expires_at=expires,
                language=language,
                contact_allowed=bool(contact_allowed),
            )
        )

    def _queue(self, delivery_id: str, record: dict, urgent: bool, now: datetime) -> None:
        sealed = crypto.seal_case(self.secrets, json.dumps(record, ensure_ascii=False).encode())
        self.session.add(
            OutboxEntry(
                case_id=delivery_id, sealed=sealed, urgent=urgent, state="pending", attempts=0, next_attempt_at=now, created_at=now
            )
        )

    def find_by_code(self, code: str) -> tuple[Case, list[str]] | None:
        """The case with this code and the operator's messages to the worker, oldest first."""
        case = self.session.execute(
            select(Case).where(Case.code_lookup == crypto.case_code_lookup(self.secrets, code))
        ).scalar_one_or_none()
        if case is None:
            return None
        rows = self.session.execute(
            select(CaseMessage).where(CaseMessage.case_id == case.case_id).order_by(CaseMessage.id)
        ).scalars()
        return case, [crypto.decrypt_case_message(self.secrets, case.case_id, row.body).decode() for row in rows]

    def add_message(self, case_id: str, text: str, now: datetime) -> None:
        """Leave a message from the operator for the worker (read out on STATUS)."""
        body = crypto.encrypt_case_message(self.secrets, case_id, text.encode())
        self.session.add(CaseMessage(case_id=case_id, body=body, created_at=now))

    # ------------------------------------------------------------ the dialogue with the worker

    def get(self, case_id: str) -> Case | None:
        return self.session.get(Case, case_id)

    def held_address(self, case: Case, now: datetime) -> ReplyAddress | None:
        """The worker's reply address while the case still holds it and they agreed to contact, else None."""
        if case.contact_allowed is not True or case.reply_address is None or case.reply_address_expires_at is None or as_utc(case.reply_address_expires_at) <= now:
            return None
        return ReplyAddress.from_json(crypto.decrypt_reply_address(self.secrets, case.case_id, case.reply_address))

    def refresh_address(self, case: Case, current: ReplyAddress, now: datetime) -> None:
        """The worker wrote again from the address the case holds: note when, for WhatsApp's 24-hour window.

        An address is never replaced by another one: whoever knows a code could otherwise
        redirect the operator's messages to their own phone. Nor is one ever stored here:
        a worker who declined contact and sends STATUS leaves no address behind.
        """
        held = self.held_address(case, now)
        if held is None or (held.adapter, held.channel, held.address) != (current.adapter, current.channel, current.address):
            return
        refreshed = ReplyAddress(held.adapter, held.channel, held.address, last_inbound_at=now)
        case.reply_address = crypto.encrypt_reply_address(self.secrets, case.case_id, refreshed.to_json())

    def reach(self, case: Case, now: datetime) -> tuple[ReplyAddress | None, str]:
        """Where a message to the worker may be pushed now, or None and why not.

        The reason is one of `sent_to_channel` (an address is returned), `contact_declined`
        (the worker said NO to contact, or the case predates that record), `address_expired`
        (past `reply_address_retention_days`) and `opted_out` (the address opted out at its provider).
        The address carries the case's language, so the channel can word the message for it
        (an SMS is folded to GSM-7 for the languages of `channels.twilio.gsm7_fold`).
        """
        if case.contact_allowed is not True:
            return None, "contact_declined"
        address = self.held_address(case, now)
        if address is None:
            return None, "address_expired"
        if OptOuts(self.session, self.secrets).is_opted_out(address):
            return None, "opted_out"
        return replace(address, language=case.language), "sent_to_channel"

    def allow_contact(self, case_id: str, allowed: bool, reply_address: ReplyAddress, now: datetime, reply_retention: timedelta) -> bool:
        """The worker answered, after an urgent alert, whether the team may write back on this chat:
        the case keeps this chat's address (YES) or none (NO), as a report's answer would. False when
        the case is gone."""
        if self.session.get(Case, case_id) is None:
            return False
        self._keep_case(case_id, "", False, reply_address, now, reply_retention, None, contact_allowed=allowed)
        return True

    def set_status(self, case: Case, status: str) -> bool:
        """Move the case to `status`; False when it was there already."""
        if status not in CASE_STATUSES:
            raise ValueError("unknown case status")
        if case.status == status:
            return False
        case.status = status
        return True

    def add_answer(self, case_id: str, text: str, now: datetime, *, kind: str = "answer", urgent: bool = False, **fields: object) -> str:
        """Seal a worker's answer to the operator at once and keep it until they fetch it; returns its id.

        The id is time-ordered and strictly increasing within the case (`ordered_answer_id`),
        so answers sent within one minute still reach the operator in the order they were sent.
        `kind` is "answer" (words to the team), "contact" (after an alert: may the team write back,
        `contact_allowed`) or "feedback" (`helped`: yes, partly, no or None; `text` the comment).
        `urgent`: the words spoke of danger; the case becomes urgent too.
        """
        if kind not in ANSWER_KINDS:
            raise ValueError("unknown answer kind")
        answer_id = self._next_answer_id(case_id)
        payload = {
            "format": ANSWER_FORMAT, "answer_id": answer_id, "case_id": case_id, "text": text, "received_at": now.isoformat(),
            "kind": kind, "urgent": urgent, **fields,
        }
        if urgent:
            case = self.session.get(Case, case_id)
            if case is not None:
                case.urgent = True
        sealed = crypto.seal_worker_answer(self.secrets, json.dumps(payload, ensure_ascii=False).encode())
        self.session.add(WorkerAnswer(id=answer_id, case_id=case_id, sealed=sealed, created_at=now))
        return answer_id

    def _next_answer_id(self, case_id: str) -> str:
        # The last answer of this case still waiting here: the new one must sort after it,
        # even when two arrive within a microsecond or the clock steps back.
        last = self.session.execute(
            select(func.max(WorkerAnswer.id)).where(WorkerAnswer.case_id == case_id, WorkerAnswer.id.like(f"{'_' * 14}8%"))
        ).scalar()
        floor = answer_sequence(last) + 1 if last else 0
        return ordered_answer_id(max(time.time_ns() // 1000, floor))

    def pending_answers(self, limit: int) -> list[SealedAnswer]:
        """Sealed answers not yet acknowledged by the operator, oldest first: by minute, then by
        their time-ordered id (the order they were sent; older uuid4 ids sort among themselves)."""
        rows = self.session.execute(select(WorkerAnswer).order_by(WorkerAnswer.created_at, WorkerAnswer.id).limit(limit)).scalars()
        return [SealedAnswer(row.id, row.case_id, row.sealed, row.created_at) for row in rows]

    def ack_answer(self, answer_id: str) -> bool:
        """The operator keeps the answer now: nothing of it stays here. False when no such answer waits."""
        return bool(self.session.execute(delete(WorkerAnswer).where(WorkerAnswer.id == answer_id)).rowcount)


def ordered_answer_id(sequence: int) -> str:
    """A UUID (version 8, RFC 9562) whose canonical text sorts by `sequence` (microseconds
    since the epoch, or one more than the case's last answer): 60 bits of it around the
    version digit, then the variant and 62 random bits. The operator API keeps taking it as
    any UUID."""
    if not 0 <= sequence < 1 << 60:
        raise ValueError("answer sequence out of range")
    high, low = sequence >> 12, sequence & 0xFFF
    tail = (0b10 << 62) | _random.randbits(62)
    return str(uuid.UUID(f"{high:012x}8{low:03x}{tail:016x}"))


def answer_sequence(answer_id: str) -> int:
    """The sequence `ordered_answer_id` put into `answer_id`."""
    digits = answer_id.replace("-", "")
    return (int(digits[:12], 16) << 12) | int(digits[13:16], 16)
