"""What the worker reads: catalog texts, the command words named in hints, the language menu.

One `Wording` per kind of channel: on a channel that treats some whole-message words
as opt-outs (SMS: STOP, CANCEL, END...) every hint names another word for the command
(docs/conversation.md, "SMS-safe words"). The conversation gets the capability, never the provider.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from nlu import fold
from nlu.keywords import display_word

from bot.config import Settings
from bot.i18n import Catalogs

from .contract import Choices

# Other names a worker may type for a language, beside its own name and its English name
# from the catalogs (compared folded: "Español" and "espanol" are one key).
LANGUAGE_ALIASES: dict[str, tuple[str, ...]] = {
    "bn": ("bangla", "bengali", "bangali"),
    "es": ("castellano", "espanol", "spanish"),
    "vi": ("tieng viet", "tiengviet", "vietnam"),
    "hi": ("hindi",),
    "ne": ("nepali", "nepalese"),
    "my": ("myanmar", "burmese", "myanmar bhasa"),
    "km": ("khmer", "cambodian", "khmae"),
    "th": ("thai", "phasa thai"),
    "id": ("bahasa indonesia", "indonesian"),
    "tl": ("filipino", "pilipino", "tagalog"),
    "ja": ("japanese", "nihongo", "日本語"),
    "zh": ("chinese", "zhongwen", "中文", "汉语", "普通话"),
    "en": ("english", "ingles", "inggris"),
}

HINT_WORDS = ("help", "back", "cancel", "delete", "language", "status", "skip", "done")


class Wording:
    """Texts in the worker's language, for one kind of channel (`sms_safe`: SMS-safe command words)."""

    def __init__(self, settings: Settings, catalogs: Catalogs, *, sms_safe: bool) -> None:
        self.settings = settings
        self.catalogs = catalogs
        self.sms_safe = sms_safe
        self.default_language = settings.deployment.default_language
        self.languages = settings.deployment.languages
        # Each offered language's names, folded once (not for every message).
        self._named: dict[str, str] = {}
        for lang in reversed(self.languages):  # the first offered language wins a shared name
            names = {catalogs.text(lang, "language.name"), catalogs.text(lang, "language.name_en"), *LANGUAGE_ALIASES.get(lang, ())}
            self._named.update((fold(name), lang) for name in names)
        self.word = cache(self._word)
        self.words = cache(self._words)

    def t(self, language: str | None, key: str, /, **values: object) -> str:
        """The catalog text `key` in `language` (the deployment's default when None), filled in."""
        return self.catalogs.text(language or self.default_language, key, **values)

    def _word(self, kind: str, language: str | None) -> str:
        """How the bot names a keyword to the worker ("send STATUS")."""
        return display_word(kind, language or "en", sms_safe=self.sms_safe)

    def _words(self, language: str | None) -> dict[str, str]:
        """The command words the help and hints name, by kind, for `str.format`."""
        return {kind: self.word(kind, language) for kind in HINT_WORDS}

    def yes_no(self, language: str | None) -> Choices:
        return (("1", self.t(language, "value.yes")), ("2", self.t(language, "value.no")))

    def yes_no_hint(self, language: str | None) -> str:
        return self.t(language, "hint.yes_no")

    # ------------------------------------------------------------ languages

    def language_options(self, first: str | Sequence[str] | None) -> list[tuple[str, str]]:
        """(number, endonym) in menu order. Numbers never change; the languages detected in the
        first message (`first`, likeliest first) are listed first, so the worker sees their own
        script at the top."""
        first = [first] if isinstance(first, str) else list(first or ())
        options = [(str(i), lang) for i, lang in enumerate(self.languages, 1)]
        options.sort(key=lambda option: first.index(option[1]) if option[1] in first else len(first))
        return [(number, self.catalogs.text(lang, "language.name")) for number, lang in options]

    def language_menu(self, first: str | Sequence[str] | None = None, header: str | None = None) -> str:
        """The menu; its header ("Send a number:") in `header`, the language detection was sure of,
        else in the deployment's default language."""
        lines = [f"{number} {name}" for number, name in self.language_options(first)]
        return self.t(header or self.default_language, "language.menu") + "\n" + "\n".join(lines)

    def language_named(self, text: str, *, codes: bool = False) -> str | None:
        """The offered language `text` names: its own name, its English name or a common
        spelling ("Español", "espanol", "বাংলা", "tieng viet"); its ISO code only at the menu
        (`codes`), because "my" or "id" are words too."""
        key = fold(text)
        found = self._named.get(key)
        if found is None and codes and key in self.languages:
            return key
        return found

    # ------------------------------------------------------------ danger

    def contacts(self) -> str:
        return "\n".join(self.settings.deployment.emergency_contacts) or "-"

    def urgent_contacts_text(self, language: str | None) -> str:
        """The emergency contacts for a worker in danger; without any configured, what to do instead
        (never an empty list: bot/config.check_deployment refuses that on real channels)."""
        contacts = [c for c in self.settings.deployment.emergency_contacts if c.strip()]
        if not contacts:
            return self.t(language, "urgent.no_contacts")
        return self.t(language, "urgent.contacts", contacts="\n".join(contacts))
