"""Where the worker goes next: the order of the steps and of the configured questions.

The route of a report is language, privacy notice (the story is the consent), description,
the category (the NLU's suggestion first), the configured questions in their order, and the
summary. BACK retraces it through `draft.history`.
"""

from __future__ import annotations

from bot.config import Question, Settings
from bot.draft import STEP_SUMMARY, Draft, question_step


class Flow:
    """The configured questions and the order they are asked in."""

    def __init__(self, settings: Settings) -> None:
        self.questions: tuple[Question, ...] = settings.flow.questions
        self.by_id = {q.id: q for q in self.questions}
        self.category_question = next(q for q in self.questions if q.kind == "category")
        self.category_step = question_step(self.category_question.id)
        # The question whose YES lets the team write to the worker first (asked again after an alert).
        self.contact_question = next((q for q in self.questions if q.grants_contact), None)

    def advance(self, draft: Draft, step: str) -> None:
        """Go on to `step`; BACK returns to where the worker is now."""
        draft.history.append(draft.step)
        draft.step = step

    def question_order(self, draft: Draft) -> list[str]:
        """The configured order; when the description spoke of danger, the urgency question
        comes right after the category, so emergency contacts reach the worker sooner. Not
        when the alert question was asked: the contacts came with it, and the worker who just
        answered it is not asked about danger again at once (it keeps its configured place)."""
        ids = [q.id for q in self.questions]
        if draft.urgent_signal and not draft.danger_asked:
            urgent_ids = [q.id for q in self.questions if q.marks_urgent]
            rest = [i for i in ids if i not in urgent_ids]
            at = rest.index(self.category_question.id) + 1
            ids = rest[:at] + urgent_ids + rest[at:]
        return ids

    def step_after(self, draft: Draft, question_id: str) -> str:
        """The step after the question `question_id`: the next question, or the summary."""
        ids = self.question_order(draft)
        following = [i for i in ids[ids.index(question_id) + 1 :] if i not in draft.settled]
        return question_step(following[0]) if following else STEP_SUMMARY

    def changeable(self) -> list[str]:
        """What CHANGE at the summary offers, in its menu's order."""
        return ["description", *(q.id for q in self.questions)]
