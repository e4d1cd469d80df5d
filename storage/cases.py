"""Confirmed cases on the intake side: the sealed case into the outbox, STATUS look-ups.

The intake server keeps, per case, only the blind index of its code, its
status, the urgent flag, an encrypted reply address for a limited time, and
the operator's messages to the worker. The case content exists here only as
the sealed blob in the outbox, which the server cannot open.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.casecode import new_case_code
from bot.messages import ReplyAddress

from . import crypto
from .models import Case, CaseMessage, OutboxEntry


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
    ) -> None:
        """Store a confirmed case: sealed into the outbox in this same transaction."""
        sealed = crypto.seal_case(self.secrets, json.dumps(record, ensure_ascii=False).encode())
        keep_address = reply_retention > timedelta(0)
        self.session.add(
            Case(
                case_id=case_id,
                code_lookup=crypto.case_code_lookup(self.secrets, code),
                status="received",
                urgent=urgent,
                created_at=now,
                reply_address=crypto.encrypt_reply_address(self.secrets, case_id, reply_address.to_json())
                if keep_address
                else None,
                reply_address_expires_at=now + reply_retention if keep_address else None,
            )
        )
        self.session.add(
            OutboxEntry(
                case_id=case_id, sealed=sealed, urgent=urgent, state="pending", attempts=0, next_attempt_at=now, created_at=now
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
