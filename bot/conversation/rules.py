"""The rules that apply at every step, in one place and in this order, before the step's own answer.

1. `too_long`: a message over `limits.max_message_chars` is refused, and the question asked again.
2. `first_contact`: with no conversation yet, the welcome and the language menu.
3. `empty`: an empty message (a photo alone, blank text) gets "please write" and the question.
4. `command`: HELP, BACK, STOP/CANCEL, DELETE, LANGUAGE, STATUS <code> (bot/conversation/commands.py).
5. `language_way_back`: the LANGUAGE word of any catalog opens the menu; an offered language's
   own name ("Español", "বাংলা") switches to it at once.
6. `unknown_command`: "/foo" is named as unknown, Telegram's "/start" is a greeting.
7. `erase_answer`: the yes or no to "Erase your unfinished report?"; anything else drops the
   question and is answered as usual.
8. `danger_first`: danger words, once per conversation: the message is kept where the step
   keeps words, then the emergency contacts and the alert question (steps/danger.py).
Then the step the worker is at takes the message (`Step.take`). A pause (`after_pause`) wraps
all of it: "welcome back", and small talk after a pause is answered with the question alone.
"""

from __future__ import annotations

from collections.abc import Callable

from nlu import Command, is_unknown_command, parse_command
from nlu.keywords import is_language_word
from nlu.vocabulary import resolve_kind, with_english

from bot.draft import STEP_DANGER, STEP_LANGUAGE, Draft

from .commands import run_command
from .context import Context
from .contract import CaseDesk, Turn
from .erase import answer_erase
from .first_contact import first_contact
from .message import Message
from .steps.danger import danger_found

Rule = Callable[[Context, "Draft | None", Message, CaseDesk], "Turn | None"]


def too_long(ctx: Context, draft: Draft | None, message: Message, desk: CaseDesk) -> Turn | None:
    if not message.too_long:
        return None
    lang = draft.language if draft else ctx.settings.deployment.default_language
    refusal = ctx.t(lang, "error.too_long", max=ctx.settings.limits.max_message_chars)
    return ctx.ask(draft, refusal, events=("too_long",)) if draft else Turn([refusal], None, events=["too_long"])


def first_message(ctx: Context, draft: Draft | None, message: Message, desk: CaseDesk) -> Turn | None:
    return first_contact(ctx, message, desk) if draft is None else None


def empty(ctx: Context, draft: Draft, message: Message, desk: CaseDesk) -> Turn | None:
    if message.text:
        return None
    return ctx.ask(draft, ctx.t(draft.language, "error.empty"), events=("empty",))


def command(ctx: Context, draft: Draft, message: Message, desk: CaseDesk) -> Turn | None:
    parsed = parse_command(message.text, ctx.command_languages(draft))
    return run_command(ctx, draft, parsed.command, parsed.argument, desk) if parsed is not None else None


def language_way_back(ctx: Context, draft: Draft, message: Message, desk: CaseDesk) -> Turn | None:
    """A way back from a language the worker cannot read. Only the whole message counts, so
    "Bangla" inside a sentence stays part of the report."""
    if draft.step == STEP_LANGUAGE:
        return None  # the menu itself reads numbers and names
    text = message.text
    own = resolve_kind(text, with_english(draft.language))
    if own is None and is_language_word(text, ctx.settings.deployment.languages):
        return run_command(ctx, draft, Command.LANGUAGE, None, desk)
    chosen = ctx.wording.language_named(text)
    if chosen is None or chosen == draft.language or own is not None:
        return None
    draft.language, draft.confirm_erase = chosen, None
    return ctx.ask(draft, events=("language_set",))


def unknown_command(ctx: Context, draft: Draft, message: Message, desk: CaseDesk) -> Turn | None:
    unknown = is_unknown_command(message.text)
    if not unknown and not message.is_start:
        return None
    lang = draft.language
    key = "error.unknown_command" if unknown else "hello_again"
    return ctx.ask(draft, ctx.t(lang, key, **ctx.wording.words(lang)), events=("unknown_command" if unknown else "start",))


def erase_answer(ctx: Context, draft: Draft, message: Message, desk: CaseDesk) -> Turn | None:
    return answer_erase(ctx, draft, message) if draft.confirm_erase else None


def danger_first(ctx: Context, draft: Draft, message: Message, desk: CaseDesk) -> Turn | None:
    if draft.danger_asked or draft.step == STEP_DANGER or not message.urgent:
        return None
    # Danger words are no answer to "Erase your report?": the question is dropped, so a later
    # YES answers the step the worker is back at, never erases what they wrote.
    draft.confirm_erase = None
    return danger_found(ctx, draft, message, desk)


RULES: tuple[Rule, ...] = (too_long, first_message, empty, command, language_way_back, unknown_command, erase_answer, danger_first)


def answer(ctx: Context, draft: Draft | None, message: Message, desk: CaseDesk) -> Turn:
    """The first rule that answers, else the step's own answer."""
    for rule in RULES:
        turn = rule(ctx, draft, message, desk)
        if turn is not None:
            return turn
    return ctx.step_of(draft).take(draft, message, desk)


def after_pause(ctx: Context, draft: Draft, message: Message, desk: CaseDesk) -> Turn:
    """The first message after a pause: "welcome back" and where the worker is. An answer
    is still taken (the worker picks up where they left off); small talk ("hello", "sorry
    I had to go") is not stored anywhere, the question is just asked again."""
    welcome = ctx.t(draft.language, "welcome_back")
    if message.text and _small_talk_here(ctx, draft, message) and parse_command(message.text, ctx.command_languages(draft)) is None:
        return ctx.ask(draft, welcome, events=("resumed",))
    turn = answer(ctx, draft, message, desk)
    turn.replies.insert(0, welcome)
    turn.events.append("resumed")
    return turn


def _small_talk_here(ctx: Context, draft: Draft, message: Message) -> bool:
    """Small talk that answers nothing at this step ("hello"; "yes" only where no yes/no is asked)."""
    if not message.small_talk:
        return False
    asks_yes_no = bool(draft.confirm_erase) or ctx.step_of(draft).asks_yes_no(draft)
    return message.yes_no(draft.language) is None or not asks_yes_no
