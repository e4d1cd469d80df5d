"""A worker's first message: the welcome and the language menu, in one SMS segment for a few languages.

The welcome and the menu's header come in the language of the first message when detection
is sure of it; the menu lists the languages it may be in first ("hola": Spanish; "namaste":
Hindi and Nepali). A first message that says something is kept
(encrypted in the draft) for the report, and one that speaks of danger gets the emergency
contacts and the alert question at once. STATUS <code> opens the answer-back, and CANCEL or
DELETE erase at once (there is nothing to ask about).
"""

from __future__ import annotations

from nlu import Command, detect_language_confident, first_message_languages, parse_command

from bot.draft import STEP_LANGUAGE, Draft

from .context import Context
from .contract import CaseDesk, Turn
from .message import Message
from .steps.danger import ask_about_danger, danger_language
from .steps.dialogue import status_dialogue


def first_contact(ctx: Context, message: Message, desk: CaseDesk) -> Turn:
    settings, text = ctx.settings, message.text
    lang = settings.deployment.default_language
    command = parse_command(text, ctx.command_languages(None)) if text else None
    if command and command.command is Command.STATUS:
        return status_dialogue(ctx, None, command.argument, desk)
    if command and command.command in (Command.CANCEL, Command.DELETE):
        return Turn([ctx.t(lang, "deleted")], None, erase_messages=True, events=["delete"])
    # The welcome comes in the language of the first message when detection is sure of it
    # (a greeting of one language only, or enough words); the menu lists the likely ones first.
    sure = detect_language_confident(text, settings.deployment.languages) if text else None
    likely = first_message_languages(text, settings.deployment.languages) if text else ()
    if sure is not None and likely[:1] != (sure,):
        likely = (sure, *(other for other in likely if other != sure))
    draft = Draft(menu_first=likely[0] if likely else None, menu_also=list(likely[1:]), menu_language=sure)
    lang = sure or lang
    welcome = ctx.t(lang, "welcome", name=settings.deployment.name)
    danger = message.urgent  # "FIRE!" alone is enough
    says_something = danger or message.says_something(draft.menu_first)
    if says_something:
        draft.kept.append(text)
        welcome += "\n" + ctx.t(lang, "kept.note")
    if danger:
        return ask_about_danger(ctx, draft, STEP_LANGUAGE, sure or danger_language(ctx, draft, message), [welcome])
    # One message, one SMS segment for a few languages: the name, then the menu (UCS-2 as it
    # names the languages in their own scripts, so 70 characters; docs/conversation.md).
    first = welcome + "\n" + ctx.wording.language_menu(draft.menu_languages, sure)
    return Turn([first], draft, events=["new", *(["kept"] if says_something else [])])
