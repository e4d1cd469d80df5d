"""The operator's local case store, on the operator's own machine, encrypted at rest.

`grievance cases pull --key FILE` (storage/pull.py) opens each sealed case from the queue with
the operator's private key and keeps it here, re-encrypted under a key derived
from that same private key: a copied store file is useless without it. Only
the fields an operator filters on (category, urgency, status, date) are kept
readable beside the ciphertext; none of them identifies a worker.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Boolean, Column, LargeBinary, MetaData, String, Table, create_engine, event, insert, select
from sqlalchemy.exc import IntegrityError


from . import crypto

STORE_FORMAT = 1

_metadata = MetaData()
operator_cases = Table(
    "operator_cases",
    _metadata,
    Column("case_id", String(36), primary_key=True),
    Column("received_at", String(20), nullable=False),
    Column("category", String(40), nullable=False),
    Column("urgent", Boolean, nullable=False),
    Column("status", String(20), nullable=False),
    Column("record", LargeBinary, nullable=False),
)


class OperatorStoreError(Exception):
    """The store cannot be opened or does not belong to this key."""


@dataclass(frozen=True)
class CaseSummary:
    case_id: str
    received_at: str
    category: str
    urgent: bool
    status: str


def _pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


class OperatorStore:
    """Cases the operator has pulled, opened only with the operator's key."""

    def __init__(self, path: Path, identity: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self.engine = create_engine(f"sqlite:///{path}", future=True)
        event.listen(self.engine, "connect", _pragmas)
        _metadata.create_all(self.engine)
        self.key = crypto.operator_store_key(identity)

    def close(self) -> None:
        self.engine.dispose()

    def add(self, record: dict) -> bool:
        """Keep a case; False when it was already here (pulling twice is harmless)."""
        blob = crypto.encrypt_store_record(self.key, record["case_id"], json.dumps(record, ensure_ascii=False).encode())
        values = {
            "case_id": record["case_id"],
            "received_at": record["received_at"],
            "category": record["category"],
            "urgent": record["urgent"],
            "status": "received",
            "record": blob,
        }
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(operator_cases).values(**values))
        except IntegrityError:
            return False
        return True

    def summaries(self, *, urgent_only: bool = False, category: str | None = None, status: str | None = None) -> list[CaseSummary]:
        """Cases, urgent first, newest first within each."""
        query = select(*(operator_cases.c[name] for name in CaseSummary.__dataclass_fields__))
        if urgent_only:
            query = query.where(operator_cases.c.urgent.is_(True))
        if category:
            query = query.where(operator_cases.c.category == category)
        if status:
            query = query.where(operator_cases.c.status == status)
        query = query.order_by(operator_cases.c.urgent.desc(), operator_cases.c.received_at.desc())
        with self.engine.connect() as connection:
            return [CaseSummary(*row) for row in connection.execute(query)]

    def get(self, case_id: str) -> dict | None:
        """The full case record; `case_id` may be a unique prefix of at least 6 characters."""
        if len(case_id) < 6:
            return None
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(operator_cases.c.case_id, operator_cases.c.record, operator_cases.c.status).where(
                    operator_cases.c.case_id.startswith(case_id, autoescape=True)
                )
            ).all()
        if len(rows) != 1:
            return None
        full_id, blob, status = rows[0]
        try:
            record = json.loads(crypto.decrypt_store_record(self.key, full_id, blob))
        except crypto.DecryptionError:
            raise OperatorStoreError("this store was written with another operator key") from None
        return {**record, "status": status}
