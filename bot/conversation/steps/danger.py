"""Danger first: the emergency contacts and one question, "send what you wrote as an urgent alert?".

Whenever a message speaks of danger (at any step, once per conversation, and again after
new text on CHANGE), the rule in bot/conversation/rules.py keeps the message where the
step the worker is at keeps words (`Step.keep`) and brings the worker here. YES seals
and queues an urgent alert at once through the `CaseDesk`; either way the worker goes
back to where they were.
"""

from __future__ import annotations

from nlu import detect_language, is_filler

from bot import casecode
from bot.draft import ANSWER_STEPS, STEP_ALERT_CONTACT, STEP_DANGER, STEP_LANGUAGE, Draft, alert_text, question_id_of

from .. import description
from ..context import Context
from ..contract import AlertFailed, CaseDesk, Choices, Turn
from ..message import Message

ALERT_PREVIEW_CHARS = 60  # what an alert sent, read back to the worker: short, the reply is paid per SMS segment


def danger_language(ctx: Context, draft: Draft, message: Message) -> str:
    """The language to ask about danger in: the worker's, else the danger message's, else the default."""
    return (
        draft.language
        or draft.menu_first
        or detect_language(message.text, ctx.settings.deployment.languages)
        or ctx.settings.deployment.default_language
    )


def danger_found(ctx: Context, draft: Draft, message: Message, desk: CaseDesk) -> Turn:
    """Danger words: the message is kept where this step keeps words, then the contacts and the alert question."""
    lang = danger_language(ctx, draft, message)
    kept = ctx.step_of(draft).keep(draft, message, desk)
    if isinstance(kept, Turn):
        return kept
    return ask_about_danger(ctx, draft, draft.step, lang, kept)


def ask_about_danger(ctx: Context, draft: Draft, return_to: str, lang: str, before: list[str]) -> Turn:
    draft.danger_asked, draft.danger_return, draft.step = True, return_to, STEP_DANGER
    draft.danger_language = lang
    return ctx.ask(draft, *before, urgent_now=True, events=("danger",))


class DangerStep:
    """The alert question, with the emergency contacts above it."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def prompt(self, draft: Draft) -> str:
        ctx, lang = self.ctx, draft.language or draft.danger_language
        contacts = ctx.t(lang, "danger.contacts", contacts=ctx.wording.contacts())
        return contacts + "\n\n" + ctx.t(lang, "ask.alert") + "\n" + ctx.wording.yes_no_hint(lang)

    def choices(self, draft: Draft) -> Choices:
        return self.ctx.wording.yes_no(draft.language or draft.danger_language)

    def asks_yes_no(self, draft: Draft) -> bool:
        return True  # after a pause, YES sends the alert: it is no small talk

    def take(self, draft: Draft, message: Message, desk: CaseDesk) -> Turn:
        ctx, lang = self.ctx, draft.language or draft.danger_language
        agreed = message.yes_no(lang)
        if agreed is None:
            if is_filler(message.text, lang):
                return ctx.ask(draft, ctx.t(lang, "error.yes_no"))
            kept = self.keep(draft, message, desk)
            return kept if isinstance(kept, Turn) else ctx.ask(draft, *kept, ctx.t(lang, "kept.note"), events=("kept",))
        code = None
        if agreed:
            reply, code = self._send_alert(draft, desk, lang)
            if code is not None and self._asks_contact(draft):  # the way back, settled in the same step
                draft.step = STEP_ALERT_CONTACT
                return ctx.ask(draft, reply, case_code=code, events=("alert",))
        else:
            reply = ctx.t(lang, "alert.not_sent")
        back_to_report(ctx, draft)
        return ctx.ask(draft, reply, case_code=code, events=("alert" if code else "alert_not_sent",))

    def keep(self, draft: Draft, message: Message, desk: CaseDesk) -> list[str] | Turn:
        return keep_while_asking(self.ctx, draft, message, desk)

    def _asks_contact(self, draft: Draft) -> bool:
        """After an alert the worker is asked whether the team may write back, unless the report
        has that answer already or this is an answer into a case (which has its own)."""
        question = self.ctx.flow.contact_question
        return question is not None and question.id not in draft.answers and draft.danger_return not in ANSWER_STEPS

    def _send_alert(self, draft: Draft, desk: CaseDesk, lang: str | None) -> tuple[str, str | None]:
        """(what to tell the worker, the case code when the alert went out)."""
        ctx = self.ctx
        try:
            case_ref, code = desk.alert(draft)
        except AlertFailed:
            return ctx.t(lang, "alert.failed", contacts=ctx.wording.contacts()), None
        draft.alert_case, draft.alert_code = case_ref, code
        return ctx.t(lang, "alert.sent", what=_alert_preview(draft), code=casecode.format_code(code)), code


class AlertContactStep:
    """Right after an alert: may the hotline team write to the worker on this chat? YES keeps the
    chat's address with the case at once, so the team can reach a trapped worker; NO keeps none."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def prompt(self, draft: Draft) -> str:
        lang = draft.language or draft.danger_language
        return self.ctx.t(lang, "ask.alert_contact") + "\n" + self.ctx.wording.yes_no_hint(lang)

    def choices(self, draft: Draft) -> Choices:
        return self.ctx.wording.yes_no(draft.language or draft.danger_language)

    def asks_yes_no(self, draft: Draft) -> bool:
        return True

    def take(self, draft: Draft, message: Message, desk: CaseDesk) -> Turn:
        ctx, lang = self.ctx, draft.language or draft.danger_language
        agreed = message.yes_no(lang)
        if agreed is None:
            if is_filler(message.text, lang):
                return ctx.ask(draft, ctx.t(lang, "error.yes_no"))
            kept = self.keep(draft, message, desk)
            return kept if isinstance(kept, Turn) else ctx.ask(draft, *kept, ctx.t(lang, "kept.note"), events=("kept",))
        question = ctx.flow.contact_question
        draft.answers[question.id] = agreed
        draft.settled.append(question.id)
        desk.allow_contact(draft.alert_case, agreed)
        if agreed:
            reply = ctx.t(lang, "alert.contact_yes", hours=ctx.settings.deployment.alert_contact_within_hours)
        else:
            reply = ctx.t(lang, "alert.contact_no", status=ctx.wording.word("status", lang))
        back_to_report(ctx, draft)
        return ctx.ask(draft, reply, events=("alert_contact" if agreed else "alert_no_contact",))

    def keep(self, draft: Draft, message: Message, desk: CaseDesk) -> list[str] | Turn:
        return keep_while_asking(self.ctx, draft, message, desk)


def back_to_report(ctx: Context, draft: Draft) -> None:
    """The alert question is answered: back to where the worker was (past a question the alert
    settled: the worker at "may we contact you?" who answered it at the alert is not asked again)."""
    draft.step, draft.danger_return, draft.danger_language = draft.danger_return or STEP_LANGUAGE, None, None
    settled = question_id_of(draft.step)
    if settled in draft.settled and not draft.editing:
        draft.step = ctx.flow.step_after(draft, settled)


def keep_while_asking(ctx: Context, draft: Draft, message: Message, desk: CaseDesk) -> list[str] | Turn:
    """More words while a question about the alert waits: an answer into the case in answer mode,
    and kept for the report (aside before consent, else in the description) either way."""
    if draft.danger_return in ANSWER_STEPS and draft.dialogue_case:
        desk.answer(draft.dialogue_case, message.text, urgent=message.urgent)
    refused = description.keep(ctx, draft, message.text, draft.danger_return)
    return refused if refused is not None else []


def _alert_preview(draft: Draft) -> str:
    text = " / ".join(part.replace("\n", " ") for part in alert_text(draft))
    return text if len(text) <= ALERT_PREVIEW_CHARS else text[:ALERT_PREVIEW_CHARS].rstrip() + "…"
