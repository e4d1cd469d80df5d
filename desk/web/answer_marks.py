"""When each case last had an answer from its worker, for the inbox's "new answers" and the urgent banner.

An answer's kind, urgency and the time the desk kept it are inside its encrypted body: each answer is
opened once, the first time the inbox looks, and remembered (its case, a time, a flag; never its
words). Each later look is one query of the answers' ids, so an answer kept by a pull, by another
desk on the same store or by a test appears at once, and an erased one disappears.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class CaseAnswers:
    """The latest answer of a case's worker, and the latest urgent one (times kept to the second)."""

    last: str
    last_urgent: str | None

    def new_since(self, seen_at: str | None) -> bool:
        """Something from the worker since a case worker last opened the case (`seen_at`, None: never)."""
        return seen_at is None or self.last > seen_at[:19]

    def urgent_since(self, seen_at: str | None) -> bool:
        """The worker spoke of danger since the case worker last opened the case."""
        return self.last_urgent is not None and (seen_at is None or self.last_urgent > seen_at[:19])


class AnswerMarks:
    """The answers opened so far, and what they say per case."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._marks: dict = {}
        self._per_case: dict[str, CaseAnswers] = {}

    def per_case(self, dialogue) -> dict[str, CaseAnswers]:
        """By case id, for the cases that have answers (`dialogue`: the desk's desk.dialogue.OperatorDialogue)."""
        with self._lock:
            marks, changed = dialogue.answer_marks(self._marks)
            if changed:
                per_case: dict[str, CaseAnswers] = {}
                for mark in marks.values():
                    before = per_case.get(mark.case_id)
                    last = max(before.last, mark.kept) if before else mark.kept
                    urgent = before.last_urgent if before else None
                    if mark.urgent and (urgent is None or mark.kept > urgent):
                        urgent = mark.kept
                    per_case[mark.case_id] = CaseAnswers(last, urgent)
                self._marks, self._per_case = marks, per_case
            return self._per_case
