"""Complete catalogs: every text of the desk's pages in every language of the desk, every bot message in all 13.

The desk's texts are extracted from the code and the templates as pybabel does with
desk/web/babel.cfg (Python `_`/`gettext`/`lazy_gettext` and its `_l`, Jinja `_()`), so a text added to a page
without its Japanese fails here, not in front of a Japanese case worker. The value labels of
desk/web/labels.py must cover every code the desk stores. The bot's side: every message key of any
catalog exists, translated, in every one of the 13 languages.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bot.i18n import available_languages

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

REPO = Path(__file__).resolve().parents[1]
DESK = REPO / "desk"
TRANSLATIONS = DESK / "web" / "translations"
FIRST_RELEASE = ("en", "bn", "hi", "ne", "my", "km", "th", "vi", "id", "tl", "ja", "zh", "es")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@cache
def desk_messages() -> dict[tuple[str, str | None], str]:
    """Every (msgid, context) of the desk, with where it was first found; the context is None but for a
    `pgettext` text, whose words differ by its meaning ("Cases" as a page's name and as a count)."""
    with (DESK / "web" / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[tuple[str, str | None], str] = {}
    for path, line, message, _comments, context in extract_from_dir(
            str(DESK), method_map, options_map, keywords={**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None}):
        for msgid in (message if isinstance(message, tuple) else (message,)):
            if msgid:
                found.setdefault((msgid, context), f"desk/{path}:{line}")
    return found


def desk_texts() -> dict[str, str]:
    """Every msgid of the desk, with where it was first found."""
    return {msgid: place for (msgid, _context), place in reversed(desk_messages().items())}


def desk_languages() -> list[str]:
    from desk.web import LANGUAGES

    return [language for language in LANGUAGES if language != "en"]


def _catalog(language: str):
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, abort_invalid=True)


def test_the_extraction_finds_the_pages_the_code_and_the_value_labels():
    where = set(desk_texts().values())
    assert len(desk_texts()) > 250
    assert any("templates/case.html" in place for place in where) and any("web/cases.py" in place for place in where)
    assert "in dialogue" in desk_texts() and "case worker" in desk_texts(), "lazy_gettext in desk/web/labels.py"


def test_the_extraction_finds_the_pattern_reports_words():
    """The Patterns page shows the report of desk/reports/ in the reader's language: its template, its constants
    (N_), the texts its code writes (a `Words` called `_`) and its counts' heading (pgettext) are all extracted."""
    texts, where = desk_texts(), set(desk_texts().values())
    assert any("reports/templates/report_body.html" in place for place in where)
    assert texts["Cases by category"].startswith("desk/reports/templates/report_body.html")
    assert texts["Health and safety"].startswith("desk/reports/render.py"), "a category's name (N_)"
    assert texts["It did not help"].startswith("desk/reports/outcome.py")
    assert texts["not enough cases"].startswith("desk/reports/figures.py"), "a value written by Report's methods"
    assert texts["referrals made to companies"].startswith("desk/reports/referral_figures.py")
    assert "%(hidden)s: not published. Counts from 1 to %(below_k)s" in "".join(texts), "the public report's rule"
    assert ("Cases", "a number of cases") in desk_messages()


def test_every_desk_language_has_its_catalog():
    assert sorted(path.name for path in TRANSLATIONS.iterdir() if path.is_dir()) == sorted(desk_languages())


@pytest.mark.parametrize("language", desk_languages())
def test_every_text_of_the_desk_is_translated(language):
    catalog = _catalog(language)
    missing = [f"{place}: {msgid!r}" + (f" (context {context!r})" if context else "")
               for (msgid, context), place in desk_messages().items()
               if catalog.get(msgid, context) is None or not catalog.get(msgid, context).string or catalog.get(msgid, context).fuzzy]
    assert missing == [], f"{len(missing)} texts without their {language} translation:\n" + "\n".join(missing)


@pytest.mark.parametrize("language", desk_languages())
def test_translations_keep_the_placeholders_and_each_text_is_there_once(language):
    catalog = _catalog(language)
    wrong = [message.id for message in catalog if message.id and isinstance(message.id, str)
             and sorted(PLACEHOLDER.findall(message.id)) != sorted(PLACEHOLDER.findall(str(message.string)))]
    assert wrong == []
    text = (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    assert len(re.findall(r"^msgid ", text, re.MULTILINE)) - 1 == len(catalog), "a msgid written twice (the last one would win)"


def test_no_text_of_the_desk_names_a_config_key():
    keys = re.compile(r"\b(operator_client|operator|deployment|referral|session)\.[a-z_]+\b|config error")
    assert [msgid for msgid in desk_texts() if keys.search(msgid)] == []


def test_every_code_the_desk_stores_has_its_words():
    import json

    from desk.lifecycle import STATUSES
    from desk.referral_store import DELIVERY_STATES
    from desk.store import ROLES
    from desk.web.labels import ACTION_LABELS, CHANNEL_LABELS, DELIVERY_LABELS, ROLE_LABELS, STATUS_LABELS

    schema = json.loads((REPO / "bot" / "schemas" / "case.v1.json").read_text())
    assert set(STATUS_LABELS) == set(STATUSES)
    assert set(ROLE_LABELS) == set(ROLES)
    assert set(DELIVERY_LABELS) == set(DELIVERY_STATES)
    assert set(CHANNEL_LABELS) >= set(schema["properties"]["channel"]["enum"])
    audited = set()
    for source in DESK.rglob("*.py"):
        audited |= set(re.findall(r'audit\([^,()]+, "([a-z_]+)"', source.read_text()))
    assert len(audited) > 25 and audited - set(ACTION_LABELS) == set()


# ---------------------------------------------------------------- the bot's catalogs

def test_the_bot_speaks_the_13_languages_of_the_first_release():
    assert set(FIRST_RELEASE) <= set(available_languages())


def _bot_catalog(language: str) -> dict[str, str]:
    with (REPO / "bot" / "locales" / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return {str(m.id): ("" if m.fuzzy else str(m.string)) for m in read_po(po, abort_invalid=True) if m.id}


def test_every_message_key_of_any_bot_catalog_is_translated_in_all_13_languages():
    catalogs = {language: _bot_catalog(language) for language in FIRST_RELEASE}
    every_key = set().union(*catalogs.values())
    gaps = {language: sorted(key for key in every_key if not catalog.get(key, "").strip())
            for language, catalog in catalogs.items()}
    assert {language: keys for language, keys in gaps.items() if keys} == {}
