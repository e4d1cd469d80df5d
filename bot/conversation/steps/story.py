"""The worker's story: the privacy notice that asks for it, the description, and changing it.

At the privacy notice the story is the consent to report (NO keeps nothing); then the
description takes as many messages as the worker sends until they answer the next
question. From the summary, CHANGE of the description asks whether to add to it or
replace it.
"""

from __future__ import annotations

from nlu import match_word, parse_menu_choice, parse_yes_no

from bot.draft import STEP_CHANGE_DESCRIPTION, STEP_CONSENT, STEP_DESCRIPTION, STEP_SUMMARY, Draft

from .. import description
from ..context import Context
from ..contract import CaseDesk, Choices, Turn
from ..message import Message


class ConsentStep:
    """The privacy notice with "What happened?": the worker's story is the consent to report,
    and the start of the description. NO (a word: no numbered choice is shown here, and a
    repeated menu number must never end the report) keeps nothing; YES asks what happened;
    small talk or no words asks again."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def prompt(self, draft: Draft) -> str:
        ctx, lang = self.ctx, draft.language
        notice = ctx.t(lang, "privacy", no=ctx.wording.word("no", lang))
        if draft.kept:  # after a kept first message: "add more, or send DONE"
            return notice + "\n\n" + ctx.t(lang, "kept.start", done=ctx.wording.word("done", lang))
        return notice + "\n\n" + ctx.t(lang, "ask.description")

    def choices(self, draft: Draft) -> Choices:
        return ()

    def asks_yes_no(self, draft: Draft) -> bool:
        return True

    def take(self, draft: Draft, message: Message, desk: CaseDesk) -> Turn:
        ctx, lang, text = self.ctx, draft.language, message.text
        agreed = parse_yes_no(text, lang)
        if agreed is False:  # the draft, and with it whatever was kept, is erased
            return Turn([ctx.t(lang, "consent.declined")], None, events=["consent_declined"])
        done = match_word(text, "done", lang)
        if agreed is None and not done and message.small_talk:  # "hello", "ok thanks": no story, no answer
            return ctx.ask(draft, events=("filler",))
        if agreed is None and not done and not message.has_words:  # a number, emoji, punctuation
            return ctx.ask(draft, ctx.t(lang, "error.need_words"), events=("need_words",))
        if (agreed or done) and not draft.kept:
            description.give_consent(ctx, draft)
            return ctx.ask(draft, events=("consent",))
        description.give_consent(ctx, draft)
        if agreed or done:  # YES or DONE after a kept message: that message is the description
            turn = description.after_description(ctx, draft)
        else:
            turn = answer_description(ctx, draft, message)
        turn.events[:0] = ["consent"]
        return turn

    def keep(self, draft: Draft, message: Message, desk: CaseDesk) -> list[str]:
        # The story at the privacy notice is the consent, danger or not.
        description.give_consent(self.ctx, draft)
        return answer_description(self.ctx, draft, message).replies[:-1]


class DescriptionStep:
    """What happened, in free text; several messages are fine."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def prompt(self, draft: Draft) -> str:
        return self.ctx.t(draft.language, "ask.description")

    def choices(self, draft: Draft) -> Choices:
        return ()

    def asks_yes_no(self, draft: Draft) -> bool:
        return False

    def take(self, draft: Draft, message: Message, desk: CaseDesk) -> Turn:
        if message.small_talk and not match_word(message.text, "done", draft.language):
            # "hello", "sorry", "ok" is no account of what happened: ask again, keep nothing.
            return self.ctx.ask(draft, events=("filler",))
        return answer_description(self.ctx, draft, message)

    def keep(self, draft: Draft, message: Message, desk: CaseDesk) -> list[str]:
        return answer_description(self.ctx, draft, message).replies[:-1]  # its next question comes after the alert question


def answer_description(ctx: Context, draft: Draft, message: Message) -> Turn:
    """Take a message at the description: more of it, DONE, or (from the summary) its change."""
    lang, text = draft.language, message.text
    if match_word(text, "done", lang) and draft.description:
        if draft.editing:
            # DONE while changing the description from the summary goes back to the summary.
            draft.editing, draft.step = False, STEP_SUMMARY
            return ctx.ask(draft)
        return description.after_description(ctx, draft)
    if not message.has_words or match_word(text, "done", lang):  # DONE before writing anything
        return ctx.ask(draft, ctx.t(lang, "error.need_words"), events=("need_words",))
    if draft.editing and draft.replace_description:  # CHANGE, then "replace": the new text replaces it
        draft.description, draft.voice_story = [], 0
    refused = description.add(ctx, draft, text)
    if refused:
        return refused
    if draft.editing:
        draft.editing, draft.step, draft.replace_description = False, STEP_SUMMARY, False
        return ctx.ask(draft)
    return description.after_description(ctx, draft, thanks=True)


VOICE_MARK = "\U0001f3a4"  # a microphone: the description's line for a voice note, in no language


def voice_mark(seconds: float | None) -> str:
    """The description's line for a voice note that is the story: "🎤 1:05" (its length)."""
    if seconds is None:
        return VOICE_MARK
    whole = round(seconds)
    return f"{VOICE_MARK} {whole // 60}:{whole % 60:02d}"


def take_voice_story(ctx: Context, draft: Draft, seconds: float | None) -> Turn | None:
    """A voice note sent alone at "What happened?" (the privacy notice, the description, or its
    change from the summary) is the story: a voice report. Nothing asks the worker to type it;
    the flow goes on to the next question. None at any other step (there it is an attachment)."""
    if draft.confirm_erase or draft.step not in (STEP_CONSENT, STEP_DESCRIPTION, STEP_CHANGE_DESCRIPTION):
        return None
    if draft.step == STEP_CONSENT:  # a story is the consent to report, spoken as much as written
        description.give_consent(ctx, draft)
    elif draft.step == STEP_CHANGE_DESCRIPTION:  # a voice note there is an addition
        draft.replace_description, draft.step = False, STEP_DESCRIPTION
    if draft.editing and draft.replace_description:
        draft.description, draft.voice_story = [], 0
    draft.description.append(voice_mark(seconds))
    draft.voice_story += 1
    if draft.editing:
        draft.editing, draft.step, draft.replace_description = False, STEP_SUMMARY, False
        return ctx.ask(draft, events=("voice_story",))
    turn = description.after_description(ctx, draft, thanks=True)
    turn.events.append("voice_story")
    return turn


class ChangeDescriptionStep:
    """CHANGE of the description: 1 add to it (the default), 2 replace it. Text typed here is added."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def prompt(self, draft: Draft) -> str:
        ctx, lang = self.ctx, draft.language
        options = f"1 {ctx.t(lang, 'value.add')}\n2 {ctx.t(lang, 'value.replace')}"
        return ctx.t(lang, "ask.change_description") + "\n" + options

    def choices(self, draft: Draft) -> Choices:
        lang = draft.language
        return (("1", self.ctx.t(lang, "value.add")), ("2", self.ctx.t(lang, "value.replace")))

    def asks_yes_no(self, draft: Draft) -> bool:
        return False

    def take(self, draft: Draft, message: Message, desk: CaseDesk) -> Turn:
        choice = parse_menu_choice(message.text, 2)
        if choice:
            draft.replace_description, draft.step = choice == 2, STEP_DESCRIPTION
            return self.ctx.ask(draft)
        if not message.has_words:
            return self.ctx.ask(draft, self.ctx.t(draft.language, "error.choose_number", max=2))
        return self._as_addition(draft).take(draft, message, desk)  # the text itself is the addition

    def keep(self, draft: Draft, message: Message, desk: CaseDesk) -> list[str]:
        return self._as_addition(draft).keep(draft, message, desk)

    def _as_addition(self, draft: Draft) -> DescriptionStep:
        draft.replace_description, draft.step = False, STEP_DESCRIPTION
        return self.ctx.steps[STEP_DESCRIPTION]
