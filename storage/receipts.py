"""Inbound receipts: a provider's retry of a message already handled is recognised and ignored.

The receipt is inserted in the same transaction that handles the message,
with an atomic insert-or-nothing (never check-then-write): two deliveries of
one message, even at the same instant in two processes, handle it once. If
handling fails, the transaction and the receipt roll back together, so the
provider's retry is handled as new.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .models import InboundReceipt


def first_receipt(session: Session, key: str, now: datetime) -> bool:
    """Record the receipt; True the first time this key is seen, False for a repeat."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(InboundReceipt).values(key=key, received_at=now).on_conflict_do_nothing(index_elements=["key"])
    # RETURNING, not rowcount: an ORM-enabled insert does not report rowcount on psycopg.
    return session.execute(statement.returning(InboundReceipt.key)).scalar_one_or_none() is not None
