"""The dialogue with the worker as the desk's pages show it.

The thread (the team's messages and the worker's words, urgent ones marked, and the
contact answer after an alert as a line of its own), whether and how the worker can be
reached (desk/reach.py), the worker's view of the outcome (shown apart, never as a
message), and what a message will cost the worker by SMS once worded for them
(desk/worded.py). Kept out of the blueprint so the case page's other parts stay apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext

from desk.dialogue import DialogueEntry
from desk.reach import Reach, reach_of
from desk.worded import SmsCost, sms_cost


def thread(context, case_id: str) -> list[DialogueEntry]:
    return context.dialogue().thread(case_id)


def contact_questions(settings) -> list[str]:
    return [question.id for question in settings.flow.questions if question.grants_contact]


@dataclass(frozen=True)
class CaseDialogue:
    """What the case page shows of the dialogue."""

    entries: list[DialogueEntry]  # messages, words and contact answers, oldest first (no view of the outcome)
    reach: Reach
    reach_text: str
    reach_note: str | None
    outcome: DialogueEntry | None  # the worker's latest view of the outcome
    contact_questions: tuple[str, ...] = ()
    after_alert: bool | None = None  # the worker's latest answer, after an alert, to "may the team write back?"


def case_dialogue(context, record: dict) -> CaseDialogue:
    entries = thread(context, record["case_id"])
    questions = contact_questions(context.settings)
    reach = reach_of(record, entries, questions)
    outcomes = [entry for entry in entries if entry.kind == "feedback"]
    contacts = [entry.contact_allowed for entry in entries if entry.kind == "contact" and entry.contact_allowed is not None]
    return CaseDialogue(
        entries=[entry for entry in entries if entry.kind != "feedback"],
        reach=reach,
        reach_text=reach.sentence(gettext),
        reach_note=gettext(reach.note) if reach.note else None,
        outcome=outcomes[-1] if outcomes else None,
        contact_questions=tuple(questions),
        after_alert=contacts[-1] if contacts else None,
    )


def reply_cost(context, record: dict, text: str) -> SmsCost:
    """What `text` costs the worker of `record` by SMS, worded in the case's language."""
    return sms_cost(context.settings, record.get("language"), text)
