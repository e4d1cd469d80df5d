"""The questions: the category (the NLU's suggestion first), then the configured ones.

A question is data (`flow.questions` in config.yaml: an id, a kind, optional or not);
one `QuestionStep` asks any of them. What the description already says (a workplace, a
place, how many people) is offered to confirm instead of typed again. Until the first
question is answered, text that answers nothing is more description.
"""

from __future__ import annotations

from nlu import fold, is_dont_know, match_word, parse_count, parse_menu_choice, parse_number, parse_yes_no
from nlu.entities import TIME
from nlu.vocabulary import languages as keyword_languages
from nlu.vocabulary import resolve_kind

from bot.config import Question
from bot.draft import STEP_SUMMARY, Draft

from .. import description
from ..context import Context
from ..contract import CaseDesk, Choices, Turn
from ..message import Message


class SuggestStep:
    """"Is this about: wages?" (the NLU's suggested category): YES takes it, NO shows the menu."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def prompt(self, draft: Draft) -> str:
        ctx, lang = self.ctx, draft.language
        text = ctx.t(lang, "ask.suggestion", category=ctx.t(lang, f"category.{draft.suggestion}"))
        return text + "\n" + ctx.wording.yes_no_hint(lang) + description.more_hint(ctx, draft)

    def choices(self, draft: Draft) -> Choices:
        return self.ctx.wording.yes_no(draft.language)

    def asks_yes_no(self, draft: Draft) -> bool:
        return True

    def take(self, draft: Draft, message: Message, desk: CaseDesk) -> Turn:
        ctx = self.ctx
        agreed = message.yes_no(draft.language)
        if agreed is None:
            more = description.more_description(ctx, draft, message) or description.join_description(ctx, draft, message)
            return more or ctx.ask(draft, ctx.t(draft.language, "error.yes_no"))
        draft.description_open = False
        category = ctx.flow.category_question
        if agreed and draft.suggestion:
            draft.answers[category.id] = draft.suggestion
            ctx.flow.advance(draft, ctx.flow.step_after(draft, category.id))
        else:
            ctx.flow.advance(draft, ctx.flow.category_step)
        return ctx.ask(draft)

    def keep(self, draft: Draft, message: Message, desk: CaseDesk) -> list[str]:
        return description.keep_words(self.ctx, draft, message)


class QuestionStep:
    """One configured question: text, yes/no, number or the category menu."""

    def __init__(self, ctx: Context, question: Question) -> None:
        self.ctx = ctx
        self.question = question

    def _offered(self, draft: Draft) -> bool:
        """The description named an answer to this question, to confirm (not when changing it from the summary)."""
        return not draft.editing and self.question.id in draft.offers

    def prompt(self, draft: Draft) -> str:
        ctx, lang, question = self.ctx, draft.language, self.question
        text = ctx.t(lang, f"ask.{question.id}")
        if self._offered(draft):
            return text + "\n" + ctx.t(lang, "ask.confirm_entity", value=draft.offers[question.id]) + "\n" + ctx.wording.yes_no_hint(lang)
        if question.kind == "category":
            menu = [f"{i} {ctx.t(lang, f'category.{c}')}" for i, c in enumerate(ctx.settings.flow.categories, 1)]
            text += "\n" + "\n".join(menu) + description.more_hint(ctx, draft)
        elif question.kind == "yes_no":
            text += "\n" + ctx.wording.yes_no_hint(lang)
        if question.optional:
            text += "\n" + ctx.t(lang, "hint.skip", skip=ctx.wording.word("skip", lang))
        return text

    def choices(self, draft: Draft) -> Choices:
        ctx, lang, question = self.ctx, draft.language, self.question
        if self._offered(draft) or question.kind == "yes_no":
            return ctx.wording.yes_no(lang)
        if question.kind == "category":
            return tuple((str(i), ctx.t(lang, f"category.{c}")) for i, c in enumerate(ctx.settings.flow.categories, 1))
        return ()

    def asks_yes_no(self, draft: Draft) -> bool:
        return self.question.kind == "yes_no" or self._offered(draft)

    def take(self, draft: Draft, message: Message, desk: CaseDesk) -> Turn:
        ctx, lang, question, text = self.ctx, draft.language, self.question, message.text
        offer = None if draft.editing else draft.offers.get(question.id)
        if offer is not None:
            agreed = message.yes_no(draft.language)
            if agreed is False:  # not right: ask the plain question
                del draft.offers[question.id]
                return ctx.ask(draft)
            if agreed is True:
                return self._store(draft, offer)
            # Anything else is the worker typing the answer themselves.
        skipped = match_word(text, "skip", lang) or (question.kind == "text" and message.dont_know)
        if question.kind == "text" and not skipped and _no_name(question, message, lang):
            # A bare number ("1", a menu choice sent twice) or a lone YES/NO is never a workplace,
            # a place or a date: the worker is told what is missing, in their language.
            return ctx.ask(draft, ctx.t(lang, "error.answer_in_words"), events=("not_an_answer",))
        if question.kind == "text" and not skipped and message.small_talk:
            # A greeting or an apology is never a workplace, a place or a name.
            return ctx.ask(draft, events=("filler",))
        if skipped and not question.optional:
            return ctx.ask(draft, ctx.t(lang, "error.required"))
        value, error = self._parse(draft, message) if not skipped else (None, None)
        if error:
            if question.kind in ("category", "yes_no"):
                # More of the story (also after BACK, when the description is closed) is kept.
                more = description.more_description(ctx, draft, message) or description.join_description(ctx, draft, message)
                if more:
                    return more
            if question.kind == "category":
                # The menu was just shown: a short hint, not 7 segments again.
                categories = len(ctx.settings.flow.categories)
                return Turn([ctx.t(lang, "hint.category_again", max=categories, help=ctx.wording.word("help", lang))], draft)
            return ctx.ask(draft, ctx.t(lang, error, max=len(ctx.settings.flow.categories)))
        return self._store(draft, value)

    def keep(self, draft: Draft, message: Message, desk: CaseDesk) -> list[str]:
        return description.keep_words(self.ctx, draft, message)

    def _store(self, draft: Draft, value: object) -> Turn:
        ctx, lang, question = self.ctx, draft.language, self.question
        draft.offers.pop(question.id, None)
        draft.description_open = False
        draft.answers[question.id] = value
        replies, urgent_now = [], False
        if question.marks_urgent:
            draft.urgent = bool(value)
            if value:
                urgent_now = True
                replies.append(ctx.wording.urgent_contacts_text(lang))
        if draft.editing:
            draft.editing, draft.step = False, STEP_SUMMARY
        else:
            ctx.flow.advance(draft, ctx.flow.step_after(draft, question.id))
        return ctx.ask(draft, *replies, urgent_now=urgent_now, events=("answer",))

    def _parse(self, draft: Draft, message: Message) -> tuple[object, str | None]:
        question, text = self.question, message.text
        if question.kind == "yes_no":
            answer = message.yes_no(draft.language)
            return answer, None if answer is not None else "error.yes_no"
        if question.kind == "number":
            if text.strip().isdecimal():  # the usual answer ("45", "৪৫"): digits alone, no words to read
                number = parse_number(text)
                return number, None if number is not None else "error.need_number"
            # "I don't know" is an answer: unknown (None), never an invented number.
            if is_dont_know(text, draft.language):
                return None, None
            count = parse_count(text, draft.language)  # "about 100", "kira2 100 orang"; "many" -> None
            return (count.value, None) if count is not None else (None, "error.need_number")
        if question.kind == "category":
            categories = self.ctx.settings.flow.categories
            choice = parse_menu_choice(text, len(categories))
            if choice:
                return categories[choice - 1], None
            key = fold(text)
            for code in categories:
                if key in {code, fold(self.ctx.t(draft.language, f"category.{code}"))}:
                    return code, None
            return None, "error.choose_number"
        if not message.has_alnum:
            return None, "error.need_words"
        return text, None


def _no_name(question: Question, message: Message, language: str) -> bool:
    """A bare number or a lone yes/no word, where a name, a place or a date is asked. A year
    ("2019") answers "when?" and is kept."""
    bare = message.text.strip().strip(".,;:!?#-").strip()
    if bare.isdecimal():
        return not (question.entity == TIME and len(bare) == 4 and bare.startswith(("19", "20")))
    # Any catalog's yes or no (workers mix: "sí" in an English chat), the worker's own first.
    return parse_yes_no(message.text, language) is not None or resolve_kind(message.text, keyword_languages()) in ("yes", "no")
