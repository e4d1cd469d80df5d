"""The worker's view of the outcome: when a case is resolved or closed, did it help?

Asked once per case, in the worker's language and on their channel: pushed when they
allowed contact (the answer comes back through the answer window), else shown at their
next STATUS. 1 yes, 2 partly, 3 no (or a yes/no word), then anything to add or SKIP.
The answer is sealed to the operator; the reports count it like every other figure.
"""

from __future__ import annotations

from nlu import is_filler, match_word, parse_menu_choice, parse_yes_no

from bot.draft import STEP_FEEDBACK_COMMENT, Draft

from ..context import Context
from ..contract import CaseDesk, Choices, Turn
from ..message import Message

HELPED = ("yes", "partly", "no")  # in the order of the menu
_RATING = "feedback"  # where the rating waits in `draft.answers` while the comment is asked


class FeedbackStep:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def prompt(self, draft: Draft) -> str:
        lines = [f"{number} {label}" for number, label in self.choices(draft)]
        return self.ctx.t(draft.language, "feedback.ask") + "\n" + "\n".join(lines)

    def choices(self, draft: Draft) -> Choices:
        lang = draft.language
        return tuple((str(i), self.ctx.t(lang, f"value.{value}")) for i, value in enumerate(HELPED, 1))

    def asks_yes_no(self, draft: Draft) -> bool:
        return True

    def take(self, draft: Draft, message: Message, desk: CaseDesk) -> Turn:
        ctx, lang = self.ctx, draft.language
        choice = parse_menu_choice(message.text, len(HELPED))
        if choice is None:
            said = parse_yes_no(message.text, lang)
            choice = None if said is None else 1 if said else 3
        if choice is None:
            if message.has_words and not is_filler(message.text, lang):  # words about the outcome: a comment, unrated
                return _done(ctx, draft, desk, None, message.text)
            return ctx.ask(draft, ctx.t(lang, "error.choose_number", max=len(HELPED)))
        draft.answers[_RATING] = HELPED[choice - 1]
        draft.step = STEP_FEEDBACK_COMMENT
        return ctx.ask(draft, events=("feedback_rated",))

    def keep(self, draft: Draft, message: Message, desk: CaseDesk) -> Turn:
        return urgent_answer(self.ctx, draft, message, desk)


class FeedbackCommentStep:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def prompt(self, draft: Draft) -> str:
        return self.ctx.t(draft.language, "feedback.comment", skip=self.ctx.wording.word("skip", draft.language))

    def choices(self, draft: Draft) -> Choices:
        return ()

    def asks_yes_no(self, draft: Draft) -> bool:
        return False

    def take(self, draft: Draft, message: Message, desk: CaseDesk) -> Turn:
        lang = draft.language
        skipped = match_word(message.text, "skip", lang) or message.dont_know or not message.has_alnum or is_filler(message.text, lang)
        return _done(self.ctx, draft, desk, draft.answers.get(_RATING), None if skipped else message.text)

    def keep(self, draft: Draft, message: Message, desk: CaseDesk) -> Turn:
        return urgent_answer(self.ctx, draft, message, desk)


def urgent_answer(ctx: Context, draft: Draft, message: Message, desk: CaseDesk) -> Turn:
    """Danger words instead of an answer about the outcome: they reach the team at once as an urgent
    answer into the case (that is the alert: no code needs to be typed), with the emergency contacts;
    then the same question again."""
    lang = draft.language
    if draft.dialogue_case is None or not desk.answer(draft.dialogue_case, message.text, urgent=True):
        return Turn([ctx.t(lang, "status.not_found")], None, events=["dialogue_gone"])
    contacts = ctx.t(lang, "danger.contacts", contacts=ctx.wording.contacts())
    return ctx.ask(draft, ctx.t(lang, "dialogue.sent_urgent"), contacts, urgent_now=True, events=("answer_back", "danger"))


def _done(ctx: Context, draft: Draft, desk: CaseDesk, helped: str | None, comment: str | None) -> Turn:
    lang = draft.language
    if draft.dialogue_case is None or not desk.feedback(draft.dialogue_case, helped, comment):
        return Turn([ctx.t(lang, "status.not_found")], None, events=["dialogue_gone"])
    return Turn([ctx.t(lang, "feedback.thanks")], None, events=["feedback"])
