"""Catalogs: every shipped language has every message, with the same placeholders as English."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from bot.config import TAXONOMY, load_settings
from bot.i18n import Catalogs, available_languages, placeholders

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

REPO = Path(__file__).resolve().parents[1]
SHIPPED = ("en", "bn", "vi", "es")
ENGLISH = Catalogs(("en",))


def _po_text(language: str) -> str:
    return (resources.files("bot") / "locales" / language / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")


def test_the_first_release_languages_are_shipped():
    assert set(SHIPPED) <= set(available_languages())


def _template(language: str, key: str) -> str:
    return Catalogs((language,))._messages[language][key]


@pytest.mark.parametrize("language", SHIPPED)
def test_catalog_is_complete_with_matching_placeholders(language):
    catalogs = Catalogs((language,))
    assert catalogs.keys(language) == ENGLISH.keys("en")
    for key in ENGLISH.keys("en"):
        template = _template(language, key)
        assert placeholders(template) == placeholders(_template("en", key)), key
        assert template.format_map({name: "X" for name in placeholders(template)}).strip(), key


def test_every_text_the_engine_and_config_need_exists():
    settings = load_settings(REPO / "config.yaml")
    needed = {f"{kind}.{q.id}" for q in settings.flow.questions for kind in ("ask", "label")}
    needed |= {f"category.{code}" for code in TAXONOMY}
    needed |= {f"case_status.{s}" for s in ("received", "acknowledged", "in_review", "in_dialogue", "resolved", "closed")}
    # Literal keys in calls like self.t(lang, "error.yes_no") or catalogs.text(lang, "error.internal").
    for source in [*(REPO / "bot").rglob("*.py"), *(REPO / "channels").rglob("*.py")]:
        needed |= set(re.findall(r'\b(?:t|text)\([^(),]+,\s*"([a-z_]+(?:\.[a-z_]+)*)"', source.read_text()))
    assert len(needed) > 60
    assert needed - ENGLISH.keys("en") == set()


@pytest.mark.parametrize("language", [lang for lang in SHIPPED if lang != "en"])
def test_machine_drafted_catalogs_are_marked_for_review(language):
    assert '"X-Translation-Status: machine-draft, awaiting review by a native speaker\\n"' in _po_text(language)


@pytest.mark.parametrize("language", SHIPPED)
def test_category_names_are_distinct_and_the_endonym_is_set(language):
    catalogs = Catalogs((language,))
    names = [catalogs.text(language, f"category.{code}") for code in TAXONOMY]
    assert len(set(names)) == len(names)
    assert catalogs.text(language, "language.name") != ""
