"""The words a report is shown in: English as the report files write it, or the desk reader's language.

`grievance report` writes its files in English, and their CSV and JSON keys and labels are a
data format: they never change with a reader. The desk's Patterns page shows the same report
in the signed-in reader's language: desk/reports/render.py takes a `Words`, made from the
gettext catalog Flask-Babel chose for the page (default: English, the files' words).

The texts of desk/reports/ are marked for pybabel where they are written: `N_` for a
constant (translated where it is shown), `_` for a text written where it is shown (a `Words`
is called `_` there), `_()` in the report's template. desk/web/babel.cfg extracts them with the
desk's own, so tests/test_desk_catalogs.py fails on a report text without its translation.

Stored values (statuses, channels, urgency, languages) are shown in English as the files
write them, as codes ("in_review", "sms", "bn"), so an English reader's page is the same as
ever; in another language as words ("調査中", "SMS", "ベンガル語").
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from dataclasses import dataclass, field

from babel import Locale, UnknownLocaleError

from desk.reach import CHANNEL_NAMES as REACH_CHANNEL_NAMES

ENGLISH = "en"


def N_(text: str) -> str:  # noqa: N802  (the name pybabel looks for)
    """Mark a constant text for pybabel; it is translated where it is shown."""
    return text


def _text_only(text: str) -> str:
    # A translation is shown as text, never as markup: escaped as the template would escape it, except
    # the quotes, which are plain text between tags and are written as they are in the English files.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class Words:
    """A report's words in one language: call it with a text (and its %(name)s values) for the text translated."""

    translations: gettext.NullTranslations = field(default_factory=gettext.NullTranslations)
    language: str = ENGLISH

    def __call__(self, text: str, **values: object) -> str:
        translated = self.translations.gettext(text)
        return translated % values if values else translated

    def value(self, code: str, names: Mapping[str, str]) -> str:
        """A stored value: its code in English (as the files write it), else its name in the reader's language."""
        if self.language == ENGLISH or code not in names:
            return code
        return self(names[code])

    def language_name(self, code: str) -> str:
        """A worker's language: its code in English (as the files write it), else its name ("bn" is "ベンガル語")."""
        if self.language == ENGLISH:
            return code
        try:
            return Locale.parse(code).get_display_name(self.language) or code
        except (ValueError, TypeError, UnknownLocaleError):
            return code

    def for_template(self, text: str) -> str:
        """The template's `_()`: Jinja takes what this returns as markup (then fills in the values, escaped)."""
        return _text_only(self.translations.gettext(text))

    def for_template_plural(self, singular: str, plural: str, n: int) -> str:
        return _text_only(self.translations.ngettext(singular, plural, n))

    def for_template_in_context(self, context: str, text: str) -> str:
        """The template's `pgettext()`: a short text whose words differ by its meaning ("Cases" heading a count)."""
        return _text_only(self.translations.pgettext(context, text))

    def for_template_plural_in_context(self, context: str, singular: str, plural: str, n: int) -> str:
        return _text_only(self.translations.npgettext(context, singular, plural, n))


ENGLISH_WORDS = Words()

STATUS_NAMES = {
    "received": N_("received"), "acknowledged": N_("acknowledged"), "in_review": N_("in review"),
    "in_dialogue": N_("in dialogue"), "resolved": N_("resolved"), "closed": N_("closed"),
}
# The brand names of desk/reach.py read the same in every language.
CHANNEL_NAMES = {**REACH_CHANNEL_NAMES, "console": N_("console (a test chat)"), "voice": N_("phone call")}
URGENCY_NAMES = {"urgent": N_("urgent"), "not urgent": N_("not urgent")}
