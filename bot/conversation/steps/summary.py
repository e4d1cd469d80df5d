"""The summary read back before sending (1 send, 2 change one answer, 3 cancel), and CHANGE.

On send the case is sealed and queued through the `CaseDesk`, and the worker gets the
case code and when to expect an acknowledgement.
"""

from __future__ import annotations

from nlu import Command, match_word, parse_menu_choice

from bot import casecode
from bot.config import Question
from bot.draft import STEP_CHANGE, STEP_CHANGE_DESCRIPTION, STEP_SUMMARY, Draft, question_step

from .. import description
from ..erase import ask_before_erasing
from ..context import Context
from ..contract import CaseDesk, Choices, Turn
from ..message import Message


class SummaryStep:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def prompt(self, draft: Draft) -> str:
        lang = draft.language
        options = ", ".join(f"{number} {label}" for number, label in self.choices(draft))
        return self.ctx.t(lang, "summary.check", summary=self._summary(draft)) + "\n" + options

    def choices(self, draft: Draft) -> Choices:
        """1 send, 2 change, 3 cancel: the same words in the text and on the buttons."""
        word = self.ctx.wording.word
        return tuple((str(i), word(kind, draft.language)) for i, kind in enumerate(("confirm", "change", "cancel"), 1))

    def asks_yes_no(self, draft: Draft) -> bool:
        return False

    def take(self, draft: Draft, message: Message, desk: CaseDesk) -> Turn:
        ctx, lang, text = self.ctx, draft.language, message.text
        choice = parse_menu_choice(text, 3)
        if choice is None:
            choice = 1 if match_word(text, "confirm", lang) else 2 if match_word(text, "change", lang) else None
        if choice == 1:
            code = desk.submit(draft)
            # An urgent report (danger now, or an alert first) is not told to wait the usual days.
            urgent = draft.urgent or draft.alert_case is not None
            reply = ctx.t(
                lang, "confirmed.urgent" if urgent else "confirmed", code=casecode.format_code(code),
                days=ctx.settings.deployment.acknowledge_within_days, status=ctx.wording.word("status", lang),
            )
            return Turn([reply], None, case_code=code, events=["confirmed"])
        if choice == 2:
            ctx.flow.advance(draft, STEP_CHANGE)
            return ctx.ask(draft)
        if choice == 3:
            return ask_before_erasing(ctx, draft, Command.CANCEL) or Turn([ctx.t(lang, "cancelled")], None, events=["cancel"])
        return ctx.ask(draft, ctx.t(lang, "error.choose_number", max=3))

    def keep(self, draft: Draft, message: Message, desk: CaseDesk) -> list[str]:
        return description.keep_words(self.ctx, draft, message)

    def _summary(self, draft: Draft) -> str:
        """The answers read back, in as few SMS segments as it takes (one in English): one line
        per answer. The worker's own words (the type, a workplace, a place, a time) stand alone,
        the worker knows them; a number and a yes/no carry their short label. An optional question
        left unanswered is left out. The description is not quoted: the worker wrote it minutes
        ago, a few words of it checked nothing and cost a segment; CHANGE 1 adds to it or replaces it."""
        lang = draft.language
        lines = []
        for question in self.ctx.flow.questions:
            value = draft.answers.get(question.id)
            if value is None and question.optional:
                continue
            shown = self._show_value(lang, question, value)
            if question.kind in ("text", "category") and value is not None:
                lines.append(shown)
            else:
                lines.append(f"{self.ctx.t(lang, f'label.{question.id}')}: {shown}")
        return "\n".join(lines)

    def _show_value(self, lang: str | None, question: Question, value: object) -> str:
        if value is None:
            return "-"
        if question.kind == "yes_no":
            return self.ctx.t(lang, "value.yes" if value else "value.no")
        if question.kind == "category":
            return self.ctx.t(lang, f"category.{value}")
        return str(value)


class ChangeStep:
    """Which answer to change: the description first, then each question."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def prompt(self, draft: Draft) -> str:
        lines = [f"{number} {label}" for number, label in self.choices(draft)]
        return self.ctx.t(draft.language, "ask.change") + "\n" + "\n".join(lines)

    def choices(self, draft: Draft) -> Choices:
        labels = (self.ctx.t(draft.language, f"label.{field_id}") for field_id in self.ctx.flow.changeable())
        return tuple((str(i), label) for i, label in enumerate(labels, 1))

    def asks_yes_no(self, draft: Draft) -> bool:
        return False

    def take(self, draft: Draft, message: Message, desk: CaseDesk) -> Turn:
        fields = self.ctx.flow.changeable()
        choice = parse_menu_choice(message.text, len(fields))
        if choice is None:
            return self.ctx.ask(draft, self.ctx.t(draft.language, "error.choose_number", max=len(fields)))
        draft.editing = True
        draft.step = STEP_CHANGE_DESCRIPTION if choice == 1 else question_step(fields[choice - 1])
        if choice == 1:  # new text may speak of danger again: then the alert question is asked again
            draft.danger_asked, draft.replace_description = False, False
        # The edit returns to the summary by itself: the summary entry CHANGE pushed on the
        # history would make the next BACK from the summary land on the summary again.
        if draft.history and draft.history[-1] == STEP_SUMMARY:
            draft.history.pop()
        return self.ctx.ask(draft)

    def keep(self, draft: Draft, message: Message, desk: CaseDesk) -> list[str]:
        return description.keep_words(self.ctx, draft, message)
