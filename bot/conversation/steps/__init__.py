"""The table of steps: each place of the conversation, by the name a draft keeps in `draft.step`.

To add a step: write a class with the `Step` methods (bot/conversation/contract.py) in a
module here, give it a name in bot/draft.py, and add it to `build_steps`; move a worker to
it from another step's `take` (or from `Flow` for the route of a report).
"""

from __future__ import annotations

from bot.draft import (
    STEP_ALERT_CONTACT,
    STEP_CHANGE,
    STEP_CHANGE_DESCRIPTION,
    STEP_CONSENT,
    STEP_DANGER,
    STEP_DESCRIPTION,
    STEP_DIALOGUE,
    STEP_FEEDBACK,
    STEP_FEEDBACK_COMMENT,
    STEP_LANGUAGE,
    STEP_SUGGEST,
    STEP_SUMMARY,
    Draft,
    question_step,
)

from .. import description
from ..context import Context
from ..contract import CaseDesk, Choices, Step, Turn
from ..message import Message
from .danger import AlertContactStep, DangerStep
from .dialogue import DialogueStep
from .feedback import FeedbackCommentStep, FeedbackStep
from .language import LanguageStep
from .questions import QuestionStep, SuggestStep
from .story import ChangeDescriptionStep, ConsentStep, DescriptionStep
from .summary import ChangeStep, SummaryStep


def build_steps(ctx: Context) -> dict[str, Step]:
    """Every step of this deployment's conversation, by name (one per configured question)."""
    steps: dict[str, Step] = {
        STEP_LANGUAGE: LanguageStep(ctx),
        STEP_CONSENT: ConsentStep(ctx),
        STEP_DESCRIPTION: DescriptionStep(ctx),
        STEP_CHANGE_DESCRIPTION: ChangeDescriptionStep(ctx),
        STEP_SUGGEST: SuggestStep(ctx),
        STEP_SUMMARY: SummaryStep(ctx),
        STEP_CHANGE: ChangeStep(ctx),
        STEP_DANGER: DangerStep(ctx),
        STEP_ALERT_CONTACT: AlertContactStep(ctx),
        STEP_DIALOGUE: DialogueStep(ctx),
        STEP_FEEDBACK: FeedbackStep(ctx),
        STEP_FEEDBACK_COMMENT: FeedbackCommentStep(ctx),
    }
    for question in ctx.flow.questions:
        steps[question_step(question.id)] = QuestionStep(ctx, question)
    return steps


class RemovedStep:
    """A step the draft names but the deployment no longer has (a question removed from config
    since the draft was saved): the worker is taken back to the summary or the description."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def prompt(self, draft: Draft) -> str:
        return self.ctx.t(draft.language, "ask.description")

    def choices(self, draft: Draft) -> Choices:
        return ()

    def asks_yes_no(self, draft: Draft) -> bool:
        return False

    def take(self, draft: Draft, message: Message, desk: CaseDesk) -> Turn:
        draft.step = STEP_SUMMARY if draft.answers else STEP_DESCRIPTION
        return self.ctx.ask(draft, events=("step_reset",))

    def keep(self, draft: Draft, message: Message, desk: CaseDesk) -> list[str]:
        return description.keep_words(self.ctx, draft, message)
