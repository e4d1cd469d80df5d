"""The dialogue with each worker, on the operator's machine: what was sent, what they answered.

Kept in its own table of the operator's local store file (beside the cases of
desk/operator_store.py), encrypted at rest with the same key derived from
the operator's private key. `pull_answers` fetches the worker's sealed answers
from the operator API, opens them with the private key, keeps them here and
only then acknowledges them, so an interrupted pull loses nothing.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import BigInteger, Column, Identity, LargeBinary, MetaData, String, Table, insert, literal_column, select
from sqlalchemy.exc import IntegrityError

from storage import crypto
from .operator_store import StoreLocation, open_store, serialize

def _dialogue_table(metadata: MetaData, *extra: Column) -> Table:
    return Table(
        "operator_dialogue",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("case_id", String(36), nullable=False, index=True),
        Column("direction", String(8), nullable=False),  # "operator" (to the worker) | "worker" (their answer)
        Column("at", String(32), nullable=False),
        Column("body", LargeBinary, nullable=False),
        *extra,
    )


_metadata = MetaData()
dialogue_entries = _dialogue_table(_metadata)
# PostgreSQL has no rowid: there the order entries were kept in is a column of its own.
_pg_metadata = MetaData()
_pg_dialogue_entries = _dialogue_table(_pg_metadata, Column("kept", BigInteger, Identity(), nullable=False))


@dataclass(frozen=True)
class DialogueEntry:
    direction: str
    at: str
    text: str


@dataclass(frozen=True)
class PullAnswersResult:
    kept: int
    already_had: int


class OperatorDialogue:
    """The dialogue table of the operator's store; opened only with the operator's key."""

    def __init__(self, location: StoreLocation | Path | str, identity: str) -> None:
        self.engine = open_store(location)  # the same store as the cases, opened the same way
        on_postgres = self.engine.dialect.name == "postgresql"
        self.table = _pg_dialogue_entries if on_postgres else dialogue_entries
        # Within one minute, the order entries were kept in: SQLite's rowid, or PostgreSQL's own column.
        self.kept_order = self.table.c.kept if on_postgres else literal_column("rowid")
        with self.engine.begin() as connection:
            serialize(connection, "schema")
            (_pg_metadata if on_postgres else _metadata).create_all(connection)
        self.key = crypto.operator_store_key(identity)

    def close(self) -> None:
        self.engine.dispose()

    def _add(self, entry_id: str, case_id: str, direction: str, at: str, text: str) -> bool:
        body = crypto.encrypt_store_record(self.key, f"dialogue/{entry_id}", json.dumps({"case_id": case_id, "text": text}).encode())
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(self.table).values(id=entry_id, case_id=case_id, direction=direction, at=at, body=body))
        except IntegrityError:
            return False
        return True

    def add_sent(self, case_id: str, text: str, at: str) -> None:
        """Remember a message the operator sent to the worker."""
        self._add(str(uuid.uuid4()), case_id, "operator", at, text)

    def add_answer(self, answer_id: str, case_id: str, text: str, at: str) -> bool:
        """Keep a worker's answer; False when it was here already (pulling twice is harmless)."""
        return self._add(answer_id, case_id, "worker", at, text)

    def thread(self, case_id: str) -> list[DialogueEntry]:
        """The dialogue about one case, oldest first."""
        with self.engine.connect() as connection:
            c = self.table.c
            rows = connection.execute(
                select(c.id, c.direction, c.at, c.body)
                .where(c.case_id == case_id)
                .order_by(c.at, self.kept_order)  # times are to the minute; within one, the order they were kept in
            ).all()
        entries = []
        for entry_id, direction, at, body in rows:
            fields = json.loads(crypto.decrypt_store_record(self.key, f"dialogue/{entry_id}", body))
            if fields["case_id"] != case_id:  # a row moved to another case: refuse it
                raise crypto.DecryptionError("a dialogue entry does not belong to this case")
            entries.append(DialogueEntry(direction, at, fields["text"]))
        return entries


def pull_answers(client, dialogue: OperatorDialogue, identity: str, batch: int = 100) -> PullAnswersResult:
    """Fetch every waiting answer, open it with the key, keep it, then acknowledge it."""
    kept = already = 0
    while True:
        pending = client.replies(batch)
        if not pending:
            return PullAnswersResult(kept, already)
        for reply in pending:
            fields = json.loads(crypto.open_worker_answer([identity], reply.sealed))
            # The sealed payload names its own case and id: the server cannot move an answer to another case.
            if fields.get("case_id") != reply.case_id or fields.get("answer_id") != reply.id:
                raise crypto.DecryptionError("a sealed answer does not match the case it was listed under")
            if dialogue.add_answer(reply.id, reply.case_id, fields["text"], fields["received_at"]):
                kept += 1
            else:
                already += 1
            client.ack(reply.id)
