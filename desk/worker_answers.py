"""What a worker's sealed answer means on the desk, and what it changes there.

A sealed answer says what it is (`kind`, storage/cases.py `CaseStore.add_answer`):
- "answer": words to the team. `urgent` when they spoke of danger: the intake server made
  the case urgent and gave them the emergency contacts; the desk makes the case urgent too.
- "contact": after an urgent alert, whether the team may write back on that chat
  (`contact_allowed` true or false); no words.
- "feedback": a resolved or closed case asked whether it helped: `helped` is "yes",
  "partly", "no" or None (no choice made), the comment in `text`.
An answer may carry `attachments` (a caller's answer recorded on the voice line): each as a
case record's attachments are (content_type, size, sha256, data_base64, voice, seconds); only
recordings and photos are kept, each kept encrypted in the dialogue like the words.
Answers sealed before kinds existed have none: they are words to the team, and so is an
answer of a kind this desk does not know yet (nothing a worker sent is dropped).

The worker's view of the outcome is also kept apart (`operator_feedback`) for the pattern
reports: the choice and the day the desk kept it only, readable like a case's status; the
comment stays encrypted in the dialogue.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, Engine, MetaData, String, Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from .operator_store import operator_cases

KINDS = ("answer", "contact", "feedback")
HELPED = ("yes", "partly", "no")

_metadata = MetaData()
operator_feedback = Table(
    "operator_feedback",
    _metadata,
    Column("answer_id", String(36), primary_key=True),
    Column("case_id", String(36), nullable=False, index=True),
    Column("given_on", String(10), nullable=False),  # YYYY-MM-DD the desk kept it: a report counts by month, no finer
    Column("helped", String(8), nullable=True),  # yes | partly | no | None (no choice made)
)


@dataclass(frozen=True)
class WorkerAnswer:
    """One opened answer: its words and what kind of answer it is."""

    answer_id: str
    case_id: str
    text: str
    received_at: str
    kind: str = "answer"
    urgent: bool = False
    contact_allowed: bool | None = None
    helped: str | None = None
    attachments: tuple[dict, ...] = ()  # recordings (or photos), as a case record's attachments


def _attachments(items: object) -> tuple[dict, ...]:
    """The recordings and photos of an answer; anything else in the list is not one (never a 500 on the page)."""
    if not isinstance(items, list):
        return ()
    return tuple(item for item in items if isinstance(item, dict) and isinstance(item.get("data_base64"), str)
                 and isinstance(item.get("content_type"), str) and item["content_type"].startswith(("audio/", "image/")))


def read_answer(fields: dict) -> WorkerAnswer:
    """The answer a sealed payload holds (already checked to name its case and id)."""
    kind = fields.get("kind") if fields.get("kind") in KINDS else "answer"
    allowed = fields.get("contact_allowed")
    helped = fields.get("helped")
    text = fields.get("text")
    return WorkerAnswer(
        answer_id=str(fields["answer_id"]),
        case_id=str(fields["case_id"]),
        text=text if isinstance(text, str) else "",
        received_at=str(fields["received_at"]),
        kind=kind,
        urgent=fields.get("urgent") is True,
        contact_allowed=allowed if kind == "contact" and isinstance(allowed, bool) else None,
        helped=helped if kind == "feedback" and helped in HELPED else None,
        attachments=_attachments(fields.get("attachments")),
    )


def create_tables(connection) -> None:
    _metadata.create_all(connection)


def apply_answer(engine: Engine, answer: WorkerAnswer, kept_on: str | None = None) -> None:
    """What the answer changes on the desk; safe to repeat (a pull interrupted before its
    acknowledgement applies the same answer again). `kept_on` (YYYY-MM-DD, default: the day the
    worker answered): the day the desk kept it, the month a report counts it in."""
    with engine.begin() as connection:
        if answer.urgent:
            # The readable urgency column, as an alert that joins a case sets it: the inbox, the
            # banner, `cases list --urgent` and exports' filter see it. The sealed record stays as
            # the worker sent it.
            connection.execute(update(operator_cases).where(operator_cases.c.case_id == answer.case_id).values(urgent=True))
    if answer.kind == "feedback":
        try:
            with engine.begin() as connection:
                connection.execute(insert(operator_feedback).values(
                    answer_id=answer.answer_id, case_id=answer.case_id, given_on=(kept_on or answer.received_at)[:10],
                    helped=answer.helped))
        except IntegrityError:
            pass  # kept at an earlier pull


def feedback_given(connection) -> list[tuple[str, str, str | None]]:
    """Every worker's view of an outcome: (case id, day, helped), the latest per case last."""
    c = operator_feedback.c
    return [tuple(row) for row in connection.execute(select(c.case_id, c.given_on, c.helped).order_by(c.given_on, c.answer_id))]
