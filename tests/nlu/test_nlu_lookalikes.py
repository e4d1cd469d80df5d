"""Words that look alike never decide a category or danger alone (issue 21, part 3).

"fire" (flames) and "fired" (dismissed) share most of their letters; the character n-grams of
the built-in model and the open stems of the danger lexicon must not read one as the other, in
any catalog language: "fire kar diya" (Hindi, fired), "na-fire" (Tagalog), "bị fire"
(Vietnamese), "आगे" (Hindi, "ahead", not "आग" fire), "kereta api" (Indonesian, a train),
"de golpe" (Spanish, suddenly), "ฆ่าเชื้อ" (Thai, disinfect), "pitaji" (Hindi, father).
"""

from __future__ import annotations

import pytest

from nlu import builtin_understander
from nlu.categories import is_urgent
from nlu.stems import FoldedText

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run


@pytest.fixture(scope="module")
def understander():
    return builtin_understander()


# The reports, and the same kinds of message in other words.
CATEGORIES = [
    ("fire, doors locked, people trapped", "safety"),
    ("there is a fire in the cutting section", "safety"),
    ("the boss fired me because I joined the union", "association"),
    ("they fired me", "dismissal"),
    ("I was fired without notice", "dismissal"),
    ("salary is late every month, the manager keeps our passports", "forced_labour"),
    ("We have not been paid for two months.\nThe manager keeps our passports.", "forced_labour"),
    ("mujhe fire kar diya", "dismissal"),
]


@pytest.mark.parametrize(("text", "category"), CATEGORIES)
def test_a_lookalike_never_decides_the_category(understander, text, category):
    assert understander.understand(text).category == category


@pytest.mark.parametrize("text", ["fire", "FIRE!", "fires", "firing", "ফায়ার", "फायर"])
def test_a_lookalike_alone_suggests_no_category(understander, text):
    """The danger words still bring the alert question; the category is the worker's to choose."""
    assert understander.understand(text).category is None


# Said in words that look like danger words, but no danger: fired, ahead, a train, suddenly...
NOT_DANGER = [
    "mujhe fire kar diya", "boss ne fire kar diya", "amake fire kore dise", "amake fire korse",
    "na-fire ako kahapon", "pinafire kami ng manager", "em bị fire rồi", "saya kena fire", "kami di-fire",
    "the boss fired me because I joined the union", "they will fire us if we complain",
    "मुझे आगे से काम नहीं मिलेगा", "आगे क्या करें", "aage kya karu", "mere pitaji bimar hai",
    "naik kereta api ke pabrik", "me despidieron de golpe", "ฆ่าเชื้อทุกวัน", "hết hàng, cháy hàng rồi",
]  # fmt: skip
# The danger words themselves still count, alone or beside a lookalike.
DANGER = [
    "fire", "FIRE!", "fire, doors locked, people trapped", "aag lagi hai", "आग लगी है", "आग",
    "kebakaran", "api di pabrik", "ada api", "nos golpearon", "me pegaron un golpe", "cháy nhà máy",
    "ไฟไหม้", "boss fired me and now the building is on fire", "aage aag lagi hai",
]  # fmt: skip


@pytest.mark.parametrize("text", NOT_DANGER)
def test_a_lookalike_is_no_danger(text):
    assert not is_urgent(FoldedText.of(text))


@pytest.mark.parametrize("text", DANGER)
def test_the_danger_words_still_count(text):
    assert is_urgent(FoldedText.of(text))
