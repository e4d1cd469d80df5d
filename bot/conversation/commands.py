"""Commands, at every step, in the worker's language and in English: HELP, BACK, STOP/CANCEL
(EXIT named on SMS), DELETE, LANGUAGE, STATUS <code>. A command is the whole message."""

from __future__ import annotations

from nlu import Command

from bot.draft import ANSWER_STEPS, STEP_DESCRIPTION, STEP_LANGUAGE, STEP_SUMMARY, Draft

from .context import Context
from .contract import CaseDesk, Turn
from .erase import ask_before_erasing
from .steps.dialogue import look_up, no_report_yet, status_dialogue


def run_command(ctx: Context, draft: Draft, command: Command, argument: str | None, desk: CaseDesk) -> Turn:
    lang, words = draft.language, ctx.wording
    if command in (Command.CANCEL, Command.DELETE) and draft.step not in ANSWER_STEPS:
        asked = ask_before_erasing(ctx, draft, command)
        if asked is not None:
            return asked
    draft.confirm_erase = None
    if command is Command.HELP:
        return ctx.ask(draft, ctx.t(lang, "help", **words.words(lang)), events=("help",))
    if command is Command.CANCEL:
        if draft.step in ANSWER_STEPS:
            return Turn([ctx.t(lang, "dialogue.ended", status=words.word("status", lang))], None, events=["dialogue_end"])
        return Turn([ctx.t(lang, "cancelled")], None, events=["cancel"])
    if command is Command.DELETE:
        return Turn([ctx.t(lang, "deleted")], None, erase_messages=True, events=["delete"])
    if command is Command.LANGUAGE:
        if draft.step != STEP_LANGUAGE:
            draft.return_to = draft.step
            draft.step = STEP_LANGUAGE
        return Turn([words.language_menu(draft.menu_languages)], draft, events=["language"])
    if command is Command.STATUS:
        return _status(ctx, draft, argument, desk)
    return _back(ctx, draft)


def _status(ctx: Context, draft: Draft, argument: str | None, desk: CaseDesk) -> Turn:
    """STATUS with nothing of a report written opens the answer-back; in the middle of a report it
    only shows the case's news and asks the same question again."""
    if no_report_yet(draft):
        turn = status_dialogue(ctx, draft.language, argument, desk)
        if turn.draft is None and draft.step in ANSWER_STEPS:  # a mistyped code keeps the dialogue open
            return ctx.ask(draft, *turn.replies, events=tuple(turn.events))
        return turn
    return ctx.ask(draft, look_up(ctx, draft.language, argument, desk)[0], events=("status",))


def _back(ctx: Context, draft: Draft) -> Turn:
    if draft.editing:
        draft.editing, draft.step = False, STEP_SUMMARY
    elif draft.history:
        draft.step = draft.history.pop()
        if draft.step == STEP_DESCRIPTION:
            draft.description_open = False
    else:
        return ctx.ask(draft, ctx.t(draft.language, "back.at_start"), events=("back",))
    return ctx.ask(draft, events=("back",))
