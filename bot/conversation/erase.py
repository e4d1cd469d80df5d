"""Erasing asks first: CANCEL or DELETE (or 3 at the summary) while something of a report is
written gets "Erase your unfinished report? 1 = YES, 2 = NO"; YES or the same word again
erases, NO (or an answer to the question) keeps it. Before anything is written, they erase at once."""

from __future__ import annotations

from nlu import Command

from bot.draft import Draft

from .context import Context
from .contract import Turn
from .message import Message


def has_report(draft: Draft) -> bool:
    """Something of a report would be lost by erasing this conversation (an answer given at the
    alert, such as contact, is no report of its own)."""
    return bool(draft.description or set(draft.answers) - set(draft.settled))


def ask_before_erasing(ctx: Context, draft: Draft, command: Command) -> Turn | None:
    """CANCEL or DELETE while a report is half-written: ask first; the same command again, or
    yes, erases. None: erase at once."""
    if draft.confirm_erase or not has_report(draft):
        return None
    draft.confirm_erase = command.value
    question = ctx.t(draft.language, "erase.confirm") + "\n" + ctx.wording.yes_no_hint(draft.language)
    return Turn([question], draft, events=["confirm_erase"])


def answer_erase(ctx: Context, draft: Draft, message: Message) -> Turn | None:
    """The answer to "Erase your unfinished report?"; None when the message is no yes/no
    (then it is handled as usual and the report is kept)."""
    kind, draft.confirm_erase = draft.confirm_erase, None
    agreed = message.yes_no(draft.language)
    if agreed is None:
        return None
    if not agreed:
        return ctx.ask(draft, ctx.t(draft.language, "erase.kept"), events=("erase_declined",))
    if kind == Command.DELETE.value:
        return Turn([ctx.t(draft.language, "deleted")], None, erase_messages=True, events=["delete"])
    return Turn([ctx.t(draft.language, "cancelled")], None, events=["cancel"])
