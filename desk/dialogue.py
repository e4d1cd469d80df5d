"""The dialogue with each worker, on the operator's machine: what was sent, what they answered.

Kept in its own table of the operator's local store file (beside the cases of
desk/operator_store.py), encrypted at rest with the same key derived from
the operator's private key. `pull_answers` fetches the worker's sealed answers
from the operator API, opens them with the private key, keeps them here and
only then acknowledges them, so an interrupted pull loses nothing.

Each entry's encrypted body holds, beside its words, what kind of entry it is: a message
the team sent (with the operator API's answer: was it pushed to the worker's chat, and
why not), or a worker's answer of a kind desk/worker_answers.py describes (words, urgent
words, the contact answer after an alert, the view of the outcome), with an answer's recordings
(`attachments`: a caller's answer on the voice line) encrypted with them.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import BigInteger, Column, Identity, LargeBinary, MetaData, String, Table, insert, literal_column, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from storage import crypto
from .operator_store import StoreLocation, open_store, serialize
from .worker_answers import WorkerAnswer, apply_answer, create_tables, read_answer

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
    """One line of the dialogue. `kind`: "message" (the team's), or the kind of the worker's answer."""

    direction: str
    at: str
    text: str
    kind: str = "message"
    urgent: bool = False
    contact_allowed: bool | None = None  # a "contact" answer: may the team write back
    helped: str | None = None  # a "feedback" answer: yes, partly, no or None
    delivery: str | None = None  # a team message: the operator API's `delivery` (sent_to_channel, kept_for_status)
    why: str | None = None  # and its `why` (sent_to_channel, contact_declined, address_expired, opted_out)
    case_id: str = ""
    kept_at: str | None = None  # a worker's answer: when this desk kept it (to the second), for "new since you looked"
    attachments: tuple[dict, ...] = ()  # a worker's answer: its recordings (desk/worker_answers.py), kept encrypted with the words
    entry_id: str = ""

    @property
    def is_words(self) -> bool:
        """A message of the team or words of the worker (not a contact answer or the view of the outcome)."""
        return self.kind in ("message", "answer")


# What an entry's encrypted body holds beside its case and words, when it has it.
_DETAILS = ("kind", "urgent", "contact_allowed", "helped", "delivery", "why", "kept_at", "attachments")


def to_the_minute(stamp: str) -> str:
    """A dialogue time as kept: UTC, to the minute (the intake server sends answers' times so coarse;
    the team's messages are kept the same way, so that within one minute the order they were kept in
    decides, never a finer time on one side only)."""
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    if moment.tzinfo is None:
        return stamp
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:00Z")


@dataclass(frozen=True)
class AnswerMark:
    """What the inbox needs of one answer from a worker: its case, when this desk kept it, whether it was urgent."""

    case_id: str
    kept: str  # to the second ("YYYY-MM-DDTHH:MM:SS"): compared with when a case worker last opened the case
    urgent: bool


@dataclass(frozen=True)
class PullAnswersResult:
    kept: int
    already_had: int
    urgent: int = 0  # of those kept now, answers that spoke of danger


class OperatorDialogue:
    """The dialogue table of the operator's store; opened only with the operator's key."""

    def __init__(self, location: StoreLocation | Path | str | Engine, identity: str) -> None:
        # The same store as the cases, opened the same way; or the engine the desk already has on it (not closed here).
        self._own_engine = not isinstance(location, Engine)
        self.engine = open_store(location) if self._own_engine else location
        on_postgres = self.engine.dialect.name == "postgresql"
        self.table = _pg_dialogue_entries if on_postgres else dialogue_entries
        # Within one minute, the order entries were kept in: SQLite's rowid, or PostgreSQL's own column.
        self.kept_order = self.table.c.kept if on_postgres else literal_column("rowid")
        with self.engine.begin() as connection:
            serialize(connection, "schema")
            (_pg_metadata if on_postgres else _metadata).create_all(connection)
            create_tables(connection)
        self.key = crypto.operator_store_key(identity)

    def close(self) -> None:
        if self._own_engine:
            self.engine.dispose()

    def _add(self, entry_id: str, case_id: str, direction: str, at: str, text: str, **details: object) -> bool:
        fields = {"case_id": case_id, "text": text, **{name: value for name, value in details.items() if value is not None}}
        body = crypto.encrypt_store_record(self.key, f"dialogue/{entry_id}", json.dumps(fields).encode())
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(self.table).values(id=entry_id, case_id=case_id, direction=direction, at=to_the_minute(at),
                                                             body=body))
        except IntegrityError:
            return False
        return True

    def add_sent(self, case_id: str, text: str, at: str, answer: dict | None = None) -> None:
        """Remember a message the operator sent to the worker, and what the operator API answered
        (`delivery` and `why`: whether it reached their chat, and why not)."""
        answer = answer or {}
        delivery, why = answer.get("delivery"), answer.get("why")
        self._add(str(uuid.uuid4()), case_id, "operator", at, text,
                  delivery=delivery if isinstance(delivery, str) else None, why=why if isinstance(why, str) else None)

    def add_answer(self, answer_id: str, case_id: str, text: str, at: str) -> bool:
        """Keep a worker's answer (words); False when it was here already (pulling twice is harmless)."""
        return self.keep_answer(WorkerAnswer(answer_id, case_id, text, at))

    def keep_answer(self, answer: WorkerAnswer, now: datetime | None = None) -> bool:
        """Keep a worker's answer of any kind (`now`: when the desk keeps it); False when it was here already."""
        kept_at = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self._add(answer.answer_id, answer.case_id, "worker", answer.received_at, answer.text, kind=answer.kind,
                         urgent=answer.urgent or None, contact_allowed=answer.contact_allowed, helped=answer.helped, kept_at=kept_at,
                         attachments=list(answer.attachments) or None)

    def thread(self, case_id: str) -> list[DialogueEntry]:
        """The dialogue about one case, oldest first."""
        return self.threads(case_id).get(case_id, [])

    def threads(self, case_id: str | None = None) -> dict[str, list[DialogueEntry]]:
        """The dialogue of every case (or of `case_id` only), by case id, each oldest first."""
        c = self.table.c
        query = select(c.id, c.case_id, c.direction, c.at, c.body)
        if case_id is not None:
            query = query.where(c.case_id == case_id)
        with self.engine.connect() as connection:
            # Times are to the minute or second; within one, the order they were kept in.
            rows = connection.execute(query.order_by(c.case_id, c.at, self.kept_order)).all()
        found: dict[str, list[DialogueEntry]] = {}
        for entry_id, row_case, direction, at, body in rows:
            fields = json.loads(crypto.decrypt_store_record(self.key, f"dialogue/{entry_id}", body))
            if fields["case_id"] != row_case:  # a row moved to another case: refuse it
                raise crypto.DecryptionError("a dialogue entry does not belong to this case")
            details = {name: fields[name] for name in _DETAILS if name in fields}
            details.setdefault("kind", "message" if direction == "operator" else "answer")  # kept before kinds existed
            details["attachments"] = tuple(details.get("attachments") or ())
            found.setdefault(row_case, []).append(DialogueEntry(direction, at, fields["text"], case_id=row_case, entry_id=entry_id, **details))
        return found

    def answer_marks(self, known: dict[str, AnswerMark]) -> tuple[dict[str, AnswerMark], bool]:
        """Every answer from a worker, by entry id, and whether that differs from `known` (which are not opened again).

        The list of ids is one light query; only the bodies of answers not in `known` are read and opened.
        """
        c = self.table.c
        with self.engine.connect() as connection:
            ids = connection.execute(select(c.id).where(c.direction == "worker")).scalars().all()
            missing = [entry_id for entry_id in ids if entry_id not in known]
            opened: dict[str, AnswerMark] = {}
            for start in range(0, len(missing), 500):
                query = select(c.id, c.case_id, c.at, c.body).where(c.id.in_(missing[start:start + 500]))
                for entry_id, case_id, at, body in connection.execute(query):
                    fields = json.loads(crypto.decrypt_store_record(self.key, f"dialogue/{entry_id}", body))
                    if fields["case_id"] != case_id:  # a row moved to another case: refuse it
                        raise crypto.DecryptionError("a dialogue entry does not belong to this case")
                    opened[entry_id] = AnswerMark(case_id, (fields.get("kept_at") or at)[:19], fields.get("urgent") is True)
        marks = {entry_id: known.get(entry_id) or opened[entry_id] for entry_id in ids if entry_id in known or entry_id in opened}
        return marks, bool(opened) or len(marks) != len(known)


def pull_answers(client, dialogue: OperatorDialogue, identity: str, batch: int = 100, clock=None) -> PullAnswersResult:
    """Fetch every waiting answer, open it with the key, keep it, then acknowledge it (`clock`: the desk's, for when it was kept)."""
    kept = already = urgent = 0
    while True:
        pending = client.replies(batch)
        if not pending:
            return PullAnswersResult(kept, already, urgent)
        for reply in pending:
            fields = json.loads(crypto.open_worker_answer([identity], reply.sealed))
            # The sealed payload names its own case and id: the server cannot move an answer to another case.
            if fields.get("case_id") != reply.case_id or fields.get("answer_id") != reply.id:
                raise crypto.DecryptionError("a sealed answer does not match the case it was listed under")
            answer = read_answer(fields)
            now = clock() if clock else datetime.now(UTC)
            if dialogue.keep_answer(answer, now):
                kept += 1
                urgent += answer.urgent
            else:
                already += 1
            apply_answer(dialogue.engine, answer, now.astimezone(UTC).date().isoformat())  # again after an interrupted pull: idempotent
            client.ack(reply.id)
