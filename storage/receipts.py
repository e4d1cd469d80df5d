"""Inbound receipts: a provider's retry of a message already handled is recognised and ignored.

The receipt is inserted in the same transaction that handles the message,
with an atomic insert-or-nothing (never check-then-write): two deliveries of
one message, even at the same instant in two processes, handle it once. If
handling fails, the transaction and the receipt roll back together, so the
provider's retry is handled as new.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .models import InboundReceipt

_TABLE = InboundReceipt.__table__


def _statement(insert):
    # Built once per dialect (Core, not ORM: compiled once and cached; this runs for every message).
    # RETURNING, not rowcount: psycopg does not report rowcount for ON CONFLICT DO NOTHING reliably.
    return (
        insert(_TABLE)
        .values(key=bindparam("key"), received_at=bindparam("received_at"))
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(_TABLE.c.key)
    )


_INSERTS = {"postgresql": _statement(pg_insert), "sqlite": _statement(sqlite_insert)}


def first_receipt(session: Session, key: str, now: datetime) -> bool:
    """Record the receipt; True the first time this key is seen, False for a repeat."""
    connection = session.connection()
    statement = _INSERTS[connection.dialect.name]
    return connection.execute(statement, {"key": key, "received_at": now}).first() is not None
