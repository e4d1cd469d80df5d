"""The answer-back: the worker's messages are answers into a sealed case, sent to the operator at once.

Two ways in. STATUS <code> shows a case's status and the team's messages, and the next
messages answer into it; it works the same on every channel and phone, only the code is
needed, and ends with STOP (EXIT on SMS), NEW, or after a quiet spell
(`session.status_dialogue_idle_minutes`, in bot/conversation/turns.py). And once the team
has written to a chat, what that chat sends next answers that case (`draft.window`: the
intake opens it from the case's answer window, bot/answer_windows.py), with no code to
type, until NEW, the case's closing, or the window's end.

A case that is resolved or closed asks the worker, once, whether it helped (steps/feedback.py).
"""

from __future__ import annotations

from nlu import match_word

from bot import casecode
from bot.draft import ANSWER_STEPS, STEP_DIALOGUE, STEP_FEEDBACK, STEP_LANGUAGE, Draft

from ..context import Context
from ..contract import CaseDesk, CaseStatus, Choices, StatusThrottled, Turn
from ..message import Message
from .danger import danger_language
from .language import fresh_start


def look_up(ctx: Context, lang: str | None, argument: str | None, desk: CaseDesk) -> tuple[str, CaseStatus | None]:
    """The STATUS answer and the case found, if any. In `lang`, the worker's chosen language;
    with none chosen yet (None), in the case's own language once it is found."""
    word = ctx.wording.word
    if not argument:
        return ctx.t(lang, "status.need_code", status=word("status", lang)), None
    code = casecode.parse_code(argument)
    if code is None:
        return ctx.t(lang, "status.bad_code"), None
    try:
        found = desk.status(code)
    except StatusThrottled:
        return ctx.t(lang, "status.throttled"), None
    if found is None:
        return ctx.t(lang, "status.not_found"), None
    if lang is None and found.language in ctx.settings.deployment.languages:
        lang = found.language
    lines = [ctx.t(lang, "status.line", code=casecode.format_code(code), status=ctx.t(lang, f"case_status.{found.status}"))]
    lines += [ctx.t(lang, "status.message", message=m) for m in found.messages]
    return "\n".join(lines), found


def no_report_yet(draft: Draft) -> bool:
    """Nothing of a report would be lost by turning this conversation into a dialogue about a case."""
    if draft.step in ANSWER_STEPS:
        return True
    return draft.step == STEP_LANGUAGE and not draft.return_to and not draft.description and not draft.answers and not draft.kept


def status_dialogue(ctx: Context, lang: str | None, argument: str | None, desk: CaseDesk) -> Turn:
    """STATUS with no report in progress: the case's news, then the worker may answer into it."""
    reply, found = look_up(ctx, lang, argument, desk)
    if found is None or found.case_ref is None:
        return Turn([reply], None, events=["status"])
    language = lang or (found.language if found.language in ctx.settings.deployment.languages else None)
    step = STEP_FEEDBACK if found.asks_feedback else STEP_DIALOGUE  # a closed case asks first whether it helped
    draft = Draft(step=step, language=language, dialogue_case=found.case_ref)
    # An urgent alert in answer mode goes under this same case and code (the draft is encrypted).
    draft.alert_case, draft.alert_code = found.case_ref, casecode.parse_code(argument or "")
    return ctx.ask(draft, reply, events=("status", "dialogue"))


class DialogueStep:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def prompt(self, draft: Draft) -> str:
        word = self.ctx.wording.word
        if draft.window:
            return self.ctx.t(draft.language, "dialogue.window_prompt", new=word("new_report", draft.language))
        return self.ctx.t(draft.language, "dialogue.prompt", cancel=word("cancel", draft.language))

    def choices(self, draft: Draft) -> Choices:
        return ()

    def asks_yes_no(self, draft: Draft) -> bool:
        return False

    def take(self, draft: Draft, message: Message, desk: CaseDesk) -> Turn:
        return self._answer(draft, message, desk, urgent=False)

    def keep(self, draft: Draft, message: Message, desk: CaseDesk) -> list[str] | Turn:
        """Danger words in an answer: the operator gets them at once as an urgent answer (the case
        becomes urgent, the person on duty is told), with the emergency contacts to the worker. After
        STATUS <code> the alert question follows, and an alert goes under that case and code; in an
        answer window (no code typed) the urgent answer is the alert."""
        ctx = self.ctx
        turn = self._answer(draft, message, desk, urgent=True)
        lang = danger_language(ctx, draft, message)
        contacts = ctx.t(lang, "danger.contacts", contacts=ctx.wording.contacts())
        if turn.draft is None:  # the case is gone: no alert to attach to, but never without the contacts
            return Turn([*turn.replies, contacts], None, urgent_now=True, events=[*turn.events, "danger"])
        if draft.window:
            return Turn([ctx.t(lang, "dialogue.sent_urgent"), contacts], draft, urgent_now=True, events=["answer_back", "danger"])
        draft.kept.append(message.text)
        return turn.replies

    def _answer(self, draft: Draft, message: Message, desk: CaseDesk, *, urgent: bool) -> Turn:
        ctx, lang = self.ctx, draft.language
        word = ctx.wording.word
        if match_word(message.text, "new_report", lang):  # the worker wants to report something new
            return fresh_start(ctx, lang or ctx.settings.deployment.default_language)
        if not message.has_alnum:
            return ctx.ask(draft, ctx.t(lang, "error.need_words"), events=("need_words",))
        if draft.dialogue_case is None or not desk.answer(draft.dialogue_case, message.text, urgent=urgent):
            return Turn([ctx.t(lang, "status.not_found")], None, events=["dialogue_gone"])
        if draft.window:  # one short message, never a menu: the worker answered the team directly
            return Turn([ctx.t(lang, "dialogue.sent", new=word("new_report", lang))], draft, events=["answer_back"])
        return Turn([ctx.t(lang, "dialogue.added", cancel=word("cancel", lang))], draft, events=["answer_back"])
