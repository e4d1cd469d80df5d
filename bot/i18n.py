"""Message catalogs: every text the bot sends, per language, from gettext `.po` files.

Catalogs live in `bot/locales/<lang>/LC_MESSAGES/messages.po` so translators use
ordinary gettext tools (Poedit, Weblate). Message ids are stable keys such as
`ask.workplace`; the English catalog holds the source wording. Placeholders use
`{name}` and are filled by `Catalogs.text`.
"""

from __future__ import annotations

import string
from functools import cache
from importlib import resources
from io import BytesIO

from babel.messages.pofile import read_po

from .config import ConfigError

SOURCE_LANGUAGE = "en"


class CatalogError(Exception):
    """A catalog is missing, or a message in it is missing or malformed."""


@cache
def _read_catalog(language: str) -> dict[str, str]:
    path = resources.files("bot") / "locales" / language / "LC_MESSAGES" / "messages.po"
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        raise CatalogError(f"no catalog for language '{language}'") from None
    catalog = read_po(BytesIO(data), locale=None, abort_invalid=True)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


def available_languages() -> tuple[str, ...]:
    """Languages that have a catalog in the package."""
    root = resources.files("bot") / "locales"
    return tuple(sorted(p.name for p in root.iterdir() if (p / "LC_MESSAGES" / "messages.po").is_file()))


def placeholders(template: str) -> set[str]:
    """Names of the `{placeholders}` in a message."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Catalogs:
    """The catalogs of the deployment's languages, loaded once."""

    def __init__(self, languages: tuple[str, ...]) -> None:
        self.languages = languages
        try:
            self._messages = {lang: _read_catalog(lang) for lang in {*languages, SOURCE_LANGUAGE}}
        except CatalogError as error:
            raise ConfigError(f"config error: deployment.languages: {error}") from None

    def has(self, language: str, key: str) -> bool:
        return key in self._messages.get(language, {})

    def text(self, language: str | None, key: str, /, **values: object) -> str:
        """The message `key` in `language` (English when a translation is missing), filled in.

        Positional-only parameters: messages have placeholders such as {language} too.
        """
        template = self._messages.get(language or SOURCE_LANGUAGE, {}).get(key)
        if template is None:
            template = self._messages[SOURCE_LANGUAGE].get(key)
        if template is None:
            raise CatalogError(f"message '{key}' is in no catalog")
        return template.format_map(values)

    def template(self, language: str, key: str) -> str | None:
        """The message `key` in `language` as written, placeholders unfilled (None when missing)."""
        return self._messages.get(language, {}).get(key)

    def keys(self, language: str) -> set[str]:
        return set(self._messages.get(language, {}))
