"""The language menu: first, and whenever the worker asks for it (LANGUAGE, at any step).

Each language is named in its own script, the one detected in the first message listed
first. A number, a language's name or its ISO code chooses. Free text at the first menu
(a story before any language was chosen) is kept for the report and the menu shown again.
"""

from __future__ import annotations

from nlu import parse_menu_choice

from bot.draft import STEP_CONSENT, STEP_LANGUAGE, Draft

from .. import description
from ..context import Context
from ..contract import CaseDesk, Choices, Turn
from ..message import Message


def fresh_start(ctx: Context, language: str) -> Turn:
    """A new report after the answer-back (the worker sent NEW): the welcome in their language
    and the menu with it first; the word NEW itself is no story to keep."""
    draft = Draft(menu_first=language)
    welcome = ctx.t(language, "welcome", name=ctx.settings.deployment.name)
    return Turn([welcome + "\n" + ctx.wording.language_menu(language)], draft, events=["new"])


class LanguageStep:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def prompt(self, draft: Draft) -> str:
        # The first menu, asked again, keeps the header the worker read first.
        header = draft.menu_language if draft.language is None else None
        return self.ctx.wording.language_menu(draft.menu_languages, header)

    def choices(self, draft: Draft) -> Choices:
        return tuple(self.ctx.wording.language_options(draft.menu_languages))

    def asks_yes_no(self, draft: Draft) -> bool:
        return False

    def take(self, draft: Draft, message: Message, desk: CaseDesk) -> Turn:
        kept = self._keep_story(draft, message)
        if kept is not None:
            return kept
        ctx, languages = self.ctx, self.ctx.settings.deployment.languages
        choice = parse_menu_choice(message.text, len(languages))
        chosen = languages[choice - 1] if choice else ctx.wording.language_named(message.text, codes=True)
        if chosen is None:
            return ctx.ask(draft, ctx.t(draft.language or draft.menu_language, "error.choose_number", max=len(languages)))
        draft.language = chosen
        if draft.return_to:  # LANGUAGE asked mid-report: back to where the worker was
            draft.step, draft.return_to = draft.return_to, None
        else:
            draft.step = STEP_CONSENT
        return ctx.ask(draft, events=("language_set",))

    def keep(self, draft: Draft, message: Message, desk: CaseDesk) -> list[str]:
        return description.keep_words(self.ctx, draft, message)

    def _keep_story(self, draft: Draft, message: Message) -> Turn | None:
        """Free text at the first language menu (no number, no language name) is kept, and the menu shown again."""
        if draft.return_to or not description.before_consent(draft, STEP_LANGUAGE):  # LANGUAGE asked mid-report
            return None
        text = message.text
        if parse_menu_choice(text, len(self.ctx.settings.deployment.languages)) or self.ctx.wording.language_named(text):
            return None
        if not message.says_something(draft.language or draft.menu_first):
            return None
        return description.keep_and_ask_again(self.ctx, draft, text)
