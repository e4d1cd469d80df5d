"""One worker message in, the next state and the replies out: the conversation's entry point.

The conversation is pure: it knows no channel, no database and no key. It gets the
worker's draft (or None on first contact) and the message, and returns a `Turn`.
Storage, sealing and delivery happen around it in `bot.intake`; what it needs from the
outside (submitting a confirmed case, looking a case up by its code) comes through the
small `CaseDesk` interface.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from nlu import Understander

from bot import casecode
from bot.config import Settings
from bot.draft import ANSWER_STEPS, STEP_FEEDBACK, STEP_LANGUAGE, Draft
from bot.i18n import Catalogs

from . import rules
from .context import Context
from .contract import CaseDesk, Choices, Turn
from .flow import Flow
from .message import Message
from .steps import RemovedStep, build_steps
from .steps.story import take_voice_story
from .wording import Wording


class Conversation:
    """The intake conversation, configured by `Settings` and worded by `Catalogs`."""

    def __init__(
        self, settings: Settings, catalogs: Catalogs, understander: Understander, *, reserves_opt_out_words: bool = False
    ) -> None:
        self.settings = settings
        # The channel treats some whole-message words as opt-outs (SMS: STOP, CANCEL, END...):
        # the bot then names other words for its commands. A capability, not a provider.
        self.reserves_opt_out_words = reserves_opt_out_words
        self.wording = Wording(settings, catalogs, sms_safe=reserves_opt_out_words)
        self.ctx = Context(settings, self.wording, understander, Flow(settings))
        self.ctx.steps = build_steps(self.ctx)
        self.ctx.fallback = RemovedStep(self.ctx)
        self._variants: dict[bool, Conversation] = {reserves_opt_out_words: self}
        self._catalogs, self._understander = catalogs, understander
        self._resume_after = timedelta(minutes=settings.session.resume_after_minutes)
        self._dialogue_idle = timedelta(minutes=settings.session.status_dialogue_idle_minutes)

    def for_channel(self, *, reserves_opt_out_words: bool) -> Conversation:
        """This conversation, wording its hints for a channel that does (SMS) or does not reserve
        opt-out words. The variants share nothing that changes and are made once."""
        variant = self._variants.get(reserves_opt_out_words)
        if variant is None:
            variant = Conversation(self.settings, self._catalogs, self._understander, reserves_opt_out_words=reserves_opt_out_words)
            variant._variants = self._variants
            self._variants[reserves_opt_out_words] = variant
        return variant

    def message(self, raw: str) -> Message:
        """A worker's text, normalised once for the whole turn."""
        return Message.of(raw, self.settings.limits.max_message_chars)

    def handle(self, draft: Draft | None, message: Message | str, desk: CaseDesk, *, now: datetime | None = None) -> Turn:
        """Answer one message from a worker. `now` (UTC) lets the conversation notice a pause since
        the worker's last message; without it no pause is ever seen."""
        if not isinstance(message, Message):
            message = self.message(message)
        idle = _idle(draft, now)
        if draft is not None and draft.step in ANSWER_STEPS and not draft.window and idle is not None and idle >= self._dialogue_idle:
            # The answer-back after STATUS has gone quiet: a message days later is a new matter,
            # never an answer filed into the old case.
            draft = None
        alerted = draft.alert_code if draft is not None and not draft.dialogue_case else None
        paused = draft is not None and idle is not None and idle >= self._resume_after and draft.step != STEP_LANGUAGE and draft.step not in ANSWER_STEPS
        turn = rules.after_pause(self.ctx, draft, message, desk) if paused else rules.answer(self.ctx, draft, message, desk)
        if alerted and turn.draft is None and turn.case_code is None:  # ended (NO, STOP, DELETE) after an alert
            lang = draft.language or draft.danger_language
            turn.replies.append(self.t(lang, "alert.already_sent", code=casecode.format_code(alerted)))
        if turn.draft is not None:
            turn.choices = self.choices(turn.draft)
            if now is not None:
                turn.draft.seen_at = now.replace(second=0, microsecond=0).isoformat()
        return turn

    def voice_story(self, draft: Draft, seconds: float | None, *, now: datetime | None = None) -> Turn | None:
        """A voice note sent alone at "What happened?" is the story (`steps.story.take_voice_story`);
        None where it is no answer (the caller asks the same question again)."""
        turn = take_voice_story(self.ctx, draft, seconds)
        if turn is not None and turn.draft is not None:
            turn.choices = self.choices(turn.draft)
            if now is not None:
                turn.draft.seen_at = now.replace(second=0, microsecond=0).isoformat()
        return turn

    def prompt(self, draft: Draft) -> str:
        """The question the worker is asked at their current step."""
        return self.ctx.prompt(draft)

    def choices(self, draft: Draft) -> Choices:
        """The answers offered at the current step, as (what to send, label), for channels with buttons."""
        if draft.confirm_erase:
            return self.wording.yes_no(draft.language)
        return self.ctx.step_of(draft).choices(draft)

    def t(self, language: str | None, key: str, /, **values: object) -> str:
        return self.wording.t(language, key, **values)

    def word(self, kind: str, language: str | None) -> str:
        """How the bot names a keyword to the worker ("send STATUS"), for texts sent from elsewhere."""
        return self.wording.word(kind, language)

    def language_menu(self, draft: Draft | None = None) -> str:
        return self.wording.language_menu(draft.menu_languages if draft else None)

    def feedback_question(self, language: str | None) -> str:
        """Whether the outcome helped, with its options: pushed to a worker who allowed contact."""
        return self.ctx.steps[STEP_FEEDBACK].prompt(Draft(step=STEP_FEEDBACK, language=language))

    def urgent_contacts_text(self, language: str | None) -> str:
        return self.wording.urgent_contacts_text(language)


def _idle(draft: Draft | None, now: datetime | None) -> timedelta | None:
    if draft is None or now is None or not draft.seen_at:
        return None
    try:
        return now - datetime.fromisoformat(draft.seen_at)
    except (TypeError, ValueError):  # a draft from before this field, or a naive time
        return None
