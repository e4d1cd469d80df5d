"""A pattern report in the desk reader's language, every word and value label; its files in English.

Reported (issue 22): the desk's Patterns page was in Japanese around a report whose every word
was English. render_html now takes the reader's `Words` (desk/reports/words.py). Here the
report is rendered with the desk's own Japanese catalog, an internal and a public one with
every part shown (notes, hidden counts, referrals, the workers' view, stories, the list cut),
and no English word is left but the data (places, companies, brands, country), the channels'
brand names and the name of the file and command where the whole list is. The report's files
are not touched by a reader's language. The catalog's completeness: tests/test_desk_catalogs.py.
"""

from __future__ import annotations

import base64
import io
import json
import re
from datetime import date, timedelta

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from desk.reports.build import build_report
from desk.reports.facts import CaseFacts, group_key
from desk.reports.outcome import Outcome
from desk.reports.referral_figures import ReferralFacts
from desk.reports.render import as_json, render_html, tables
from desk.reports.words import STATUS_NAMES, Words

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

CATALOG = "desk/web/translations/ja/LC_MESSAGES/messages.po"
CATEGORIES = ("wages", "hours", "safety", "harassment", "discrimination", "forced_labour", "child_labour",
              "association", "dismissal", "retaliation", "living_conditions", "environment_community", "other")
STATUSES = tuple(STATUS_NAMES)
PLACES, COMPANIES, BRANDS = ("Gazipur", "Ashulia", None), ("Sunrise Garments Ltd", "Rahman Knitwear", None), ("FastFashion", None)
# Words of the data and names that read the same in every language; anything else in Latin letters is English left over.
NOT_ENGLISH = {"Gazipur", "Ashulia", "Sunrise", "Garments", "Ltd", "Rahman", "Knitwear", "FastFashion", "Bangladesh",
               "SMS", "WhatsApp", "Telegram", "LINE"}
NAMES = ("grievance_list.csv", "grievance report", "[c]")  # the file, the command, the mark of a hidden count
ENGLISH_HEADINGS = ("Cases by category", "Health and safety", "Where the cases stand", "Cases received per month",
                    "The mechanism's own performance", "not enough cases", "Internal: do not publish")


def japanese() -> Words:
    with open(CATALOG, "rb") as po:
        compiled = io.BytesIO()
        write_mo(compiled, read_po(po))
    compiled.seek(0)
    return Words(Translations(compiled), "ja")


def facts() -> list[CaseFacts]:
    """A year of cases in every category, status, channel, language, place, company and brand, told or spoken."""
    made = []
    for n in range(400):
        day = date(2025, 7, 1) + timedelta(days=(n * 7) % 365)
        place, company, brand = PLACES[n % 3], COMPANIES[n % 5 % 3], BRANDS[n % 2]
        made.append(CaseFacts(
            received=day, category=CATEGORIES[n % 13], urgent=n % 4 == 0, channel=("sms", "whatsapp", "telegram", "line")[n % 4],
            language=("bn", "en", "vi")[n % 3], status=STATUSES[n % 6], location=group_key(place), location_label=place,
            workplace=group_key(company), workplace_label=company, brand=group_key(brand), brand_label=brand,
            acknowledged=day + timedelta(days=n % 9) if n % 5 else None, concluded=day + timedelta(days=30) if n % 3 == 0 else None,
            referral_agreed=n % 2 == 0, referred=n % 10 == 0, story="voice" if n % 3 == 0 else "text", case_id=f"case-{n}"))
    return made


def report(profile: str, start: date, end: date, **extra):
    outcomes = [Outcome(date(2026, 1, 10) + timedelta(days=n * 3), ("yes", "partly", "no", None)[n % 4]) for n in range(40)]
    referrals = [ReferralFacts(date(2026, 1, 5) + timedelta(days=n), date(2026, 2, 19) + timedelta(days=n),
                               date(2026, 1, 20) + timedelta(days=n) if n % 3 else None, n % 2 == 0) for n in range(40)]
    return build_report(facts(), start=start, end=end, profile=profile, categories=CATEGORIES, as_of=date(2026, 7, 1),
                        country="Bangladesh", outcomes=outcomes, referrals=referrals, channels=("sms", "whatsapp", "telegram"),
                        languages=("bn", "en"), **extra)


def shown(html: str) -> str:
    """What a reader reads: the text between the tags, and the charts' texts (SVG images in the desk's page)."""
    charts = [base64.b64decode(data).decode() for data in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)]
    chart_texts = [" ".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg)) for svg in charts]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)) + " " + " ".join(chart_texts)


REPORTS = {
    "internal": lambda: report("internal", date(2026, 1, 1), date(2026, 6, 30)),
    "public": lambda: report("public", date(2026, 1, 1), date(2026, 3, 31)),
    "public, the total hidden": lambda: report("public", date(2026, 2, 1), date(2026, 2, 28), k=50),
}


@pytest.mark.parametrize("which", REPORTS)
def test_a_japanese_reader_reads_no_english_word_of_the_report(which):
    made = REPORTS[which]()
    html = render_html(made, "Test hotline", fragment=True, list_limit=10, words=japanese())
    text = shown(html)
    words = set(re.findall(r"[A-Za-z][A-Za-z_']*", re.sub("|".join(map(re.escape, NAMES)), " ", text)))
    left = words - NOT_ENGLISH - {"Test", "hotline"}
    assert left == set(), f"English words in the Japanese report: {sorted(left)}"
    assert "分類別の案件" in text and "月ごとの受付件数" in text and "窓口自身の対応状況" in text
    assert not any(heading in text for heading in ENGLISH_HEADINGS)
    if made.public:
        assert "[c]：非公開。1 から" in text, "the rule of the public report, with its k"
        assert "回答期日がこの期間に当たる付託" in text
    else:
        assert "安全衛生" in text and "案件の状況" in text and "調査中" in text and "ベンガル語" in text and "音声による通報" in text
        assert "役に立たなかった" in text and "企業への付託" in text and "件数" in text
        assert re.search(r"\d+ 行のうち最初の 10 行です", text) and "<code>grievance report</code>" in html


def test_the_files_and_an_english_page_are_as_before_whatever_language_was_read_in_between():
    made = REPORTS["internal"]()
    english = render_html(made, "Test hotline"), render_html(made, "Test hotline", fragment=True, list_limit=10)
    files = tables(made), as_json(made)
    render_html(made, "Test hotline", fragment=True, words=japanese())
    assert (render_html(made, "Test hotline"), render_html(made, "Test hotline", fragment=True, list_limit=10)) == english
    assert (tables(made), as_json(made)) == files
    page, fragment = english
    assert "Cases by category" in page and "Health and safety" in page and "Where the cases stand" in page
    assert "<td>in_review</td>" in fragment and "<td>bn</td>" in fragment and "<td>whatsapp</td>" in fragment, \
        "the stored codes, as ever, for an English reader"
    assert "The workers' view of the outcome" in page, "a quote stays a quote"
    assert "in_review," in tables(made)["statuses.csv"] and '"days to acknowledge, median",4 days' in tables(made)["performance.csv"]
    assert "referred to the company concerned" in json.loads(as_json(made))["performance"]


class _Marked:
    """A catalog whose translation is markup: it must reach the page as text."""

    def gettext(self, text: str) -> str:
        return "<b>太字</b> & " + text if text == "Cases by month" else text

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return singular if n == 1 else plural

    def pgettext(self, context: str, text: str) -> str:
        return text

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return singular if n == 1 else plural


def test_a_translation_is_shown_as_text_never_as_markup():
    html = render_html(REPORTS["internal"](), "Test hotline", fragment=True, words=Words(_Marked(), "xx"))
    assert "<h2>&lt;b&gt;太字&lt;/b&gt; &amp; Cases by month</h2>" in html and "<b>" not in html


def test_stored_values_are_codes_in_english_and_words_in_another_language():
    assert Words().value("in_review", STATUS_NAMES) == "in_review" and Words().language_name("bn") == "bn"
    words = japanese()
    assert words.value("in_review", STATUS_NAMES) == "調査中" and words.language_name("bn") == "ベンガル語"
    assert words.value("a_new_status", STATUS_NAMES) == "a_new_status", "a code without words is shown, never hidden"
