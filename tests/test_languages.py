"""The 13 languages of the first release: complete catalogs, the same placeholders as
English, machine drafts marked for review, and every reply within its SMS budget."""

from __future__ import annotations

from importlib import resources

import pytest

from bot.config import TAXONOMY
from bot.i18n import Catalogs, available_languages, placeholders
from channels.sms_segments import count_segments
from nlu import phrases
from nlu.statistical import SUPPORTED_LANGUAGES

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

FIRST_RELEASE = ("en", "bn", "hi", "ne", "my", "km", "th", "vi", "id", "tl", "ja", "zh", "es")
ENGLISH = Catalogs(("en",))

# Segments one catalog message may cost on its own. A worker pays per segment and many
# read slowly: a reply over budget gets shorter wording, not a bigger budget.
SEGMENT_BUDGET = 3
# Messages that list several things (commands, the report, emergency numbers).
LONGER_BUDGET = {"summary.check": 5, "help": 5, "urgent.contacts": 5}


def _po_text(language: str) -> str:
    return (resources.files("bot") / "locales" / language / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")


def _template(language: str, key: str) -> str:
    return Catalogs((language,))._messages[language][key]


def _sample_values(language: str) -> dict[str, str]:
    """Placeholder values as the bot fills them, at their usual length. The summary's
    answers and an operator's message are the worker's and operator's own words, so
    those messages are measured without them."""
    words = {kind: phrases(kind, language)[0].upper() for kind in ("help", "back", "cancel", "delete", "language", "status", "skip", "done", "no")}
    words["new"] = phrases("new_report", language)[0].upper()
    catalogs = Catalogs((language,))
    longest_category = max((catalogs.text(language, f"category.{code}") for code in TAXONOMY), key=len)
    return {
        **words,
        "name": "Worker hotline",
        "code": "0412 345 678 9034",
        "days": "7",
        "hours": "72",
        "max": "5000",
        "category": longest_category,
        "contacts": "Emergency services: 999\nDuty officer: 0100 200 300",
        "summary": "",
        "message": "",
        "value": "Rahman Garments Ltd",  # a name the description gave, offered to confirm
        "count": "12",  # messages DELETE could not remove
        "what": "x" * 60,  # the start of what an urgent alert sent (bot.conversation.steps.danger.ALERT_PREVIEW_CHARS)
    }


def test_the_first_release_is_the_nlu_language_list():
    assert FIRST_RELEASE == SUPPORTED_LANGUAGES


@pytest.mark.parametrize("language", FIRST_RELEASE)
def test_catalog_is_shipped_and_complete(language):
    assert language in available_languages()
    assert Catalogs((language,)).keys(language) == ENGLISH.keys("en")


@pytest.mark.parametrize("language", FIRST_RELEASE)
def test_placeholders_match_english(language):
    wrong = [
        key
        for key in ENGLISH.keys("en")
        if placeholders(_template(language, key)) != placeholders(_template("en", key))
    ]
    assert not wrong


@pytest.mark.parametrize("language", [code for code in FIRST_RELEASE if code != "en"])
def test_catalog_is_in_its_own_language_not_a_copy_of_english(language):
    copied = [key for key in ENGLISH.keys("en") if _template(language, key) == _template("en", key)]
    # A few texts are the same everywhere: "1 = YES, 2 = NO" style hints may keep digits only.
    assert len(copied) <= 3, copied


@pytest.mark.parametrize("language", [code for code in FIRST_RELEASE if code != "en"])
def test_machine_drafts_are_marked_for_review(language):
    text = _po_text(language)
    assert '"X-Translation-Status: machine-draft, awaiting review by a native speaker\\n"' in text
    assert text.lstrip().startswith("#"), "a top comment tells translators what they may change"


@pytest.mark.parametrize("language", FIRST_RELEASE)
def test_every_message_fits_its_sms_budget(language):
    catalogs = Catalogs((language,))
    values = _sample_values(language)
    over = {}
    for key in ENGLISH.keys("en"):
        if key.startswith("voice."):  # the voice line's prompts are spoken, never sent as SMS
            continue
        text = catalogs.text(language, key, **values)
        segments = count_segments(text).segments
        if segments > LONGER_BUDGET.get(key, SEGMENT_BUDGET):
            over[key] = segments
    assert not over


@pytest.mark.parametrize("language", FIRST_RELEASE)
def test_category_names_are_distinct_and_the_endonym_is_set(language):
    catalogs = Catalogs((language,))
    names = [catalogs.text(language, f"category.{code}") for code in TAXONOMY]
    assert len(set(names)) == len(names)
    assert catalogs.text(language, "language.name").strip()
    assert catalogs.text(language, "language.name_en").strip()


def test_endonyms_are_distinct_so_the_menu_is_unambiguous():
    names = [Catalogs((language,)).text(language, "language.name") for language in FIRST_RELEASE]
    assert len(set(names)) == len(names)
