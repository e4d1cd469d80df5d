"""extract_entities(): people, time, workplace and place, from descriptions as typed."""

import pytest

from nlu.entities import Entity, extract_entities

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

CASES = [
    (
        "about 40 workers at Rahman Garments Ltd in Gazipur, it happened yesterday",
        [("people", 40), ("workplace", "Rahman Garments Ltd"), ("place", "Gazipur"), ("time", "yesterday")],
    ),
    ("মালিক ৩ মাস ধরে বেতন দেয়নি, রহমান গার্মেন্টস, গাজীপুর, প্রায় ৪০ জন",
     [("time", "3 মাস"), ("workplace", "রহমান গার্মেন্টস"), ("place", "গাজীপুর"), ("people", 40)]),
    ("cong ty sa thai 50 nguoi o Binh Duong hôm qua", [("people", 50), ("place", "Binh Duong"), ("time", "hôm qua")]),
    ("Công ty May Sài Gòn không trả lương 2 tháng", [("workplace", "Công ty May Sài Gòn"), ("time", "2 tháng")]),
    ("PT Sinar Jaya di Bekasi PHK 200 orang", [("workplace", "PT Sinar Jaya"), ("place", "Bekasi"), ("people", 200)]),
    ("200人が解雇された、先月", [("people", 200), ("time", "先月")]),
    ("工厂裁员200人，上个月", [("people", 200), ("time", "上个月")]),
    ("เลิกจ้าง ๒๐๐ คน เมื่อวาน", [("people", 200), ("time", "เมื่อวาน")]),  # Thai digits
    ("၂၀၀ ယောက် အလုပ်ထုတ်တယ် မနေ့က", [("people", 200), ("time", "မနေ့က")]),  # Burmese digits
    ("៣ ខែហើយ កម្មករ ២០០ នាក់", [("time", "3 ខែ"), ("people", 200)]),  # Khmer digits
    ("despidieron a 200 trabajadores en Choloma la semana pasada",
     [("people", 200), ("place", "Choloma"), ("time", "la semana pasada")]),
    ("20 katao sa Cavite kahapon", [("people", 20), ("place", "Cavite"), ("time", "kahapon")]),
    ("they stopped paying us in March", [("time", "March")]),
    ("happened on 12/03/2024 again", [("time", "12/03/2024")]),
    ("factory in Tiruppur, owner has not paid 6 months", [("place", "Tiruppur"), ("time", "6 months")]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_entities(text, expected):
    assert [(entity.type, entity.value) for entity in extract_entities(text)] == expected


@pytest.mark.parametrize(
    "text",
    [
        "the 5 menu items",  # "men" inside "menu" is no people word
        "they may fire us",  # "may" is no month
        "the factory is dirty",  # a lower-case word before "factory" is no name
        "we work 14 hrs",  # hours worked are no date
        "",
    ],
)
def test_no_false_entities(text):
    assert extract_entities(text) == ()


def test_a_known_place_beats_a_guessed_longer_one():
    # "Bekasi" is listed; "Bekasi PHK" would only be guessed from the preposition.
    places = [entity.value for entity in extract_entities("di Bekasi PHK massal") if entity.type == "place"]
    assert places == ["Bekasi"]


def test_entity_as_dict_is_plain_json():
    assert Entity("people", 40, "40 workers").as_dict() == {"type": "people", "value": 40, "text": "40 workers"}
