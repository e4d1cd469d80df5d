"""The evaluation split and what `nlu.evaluation` measures on it: messages written apart
from the training data (never one of them, however it is spelt), urgent and non-urgent
messages in every language, and danger recall and false alarms counted right."""

from __future__ import annotations

import pytest

from nlu.categories import TAXONOMY
from nlu.evaluation import Danger, evaluate, expected_category
from nlu.normalize import fold
from nlu.reading import Understanding
from nlu.statistical import SUPPORTED_LANGUAGES, training_pairs
from nlu.training_data import LABELS, NO_CATEGORY, Example, _parse, detection_messages, examples

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run


def _key(text: str) -> str:
    # What two spellings of one message share: case, Latin accents, local digits,
    # invisible characters, spacing and every punctuation mark ignored.
    return "".join(char for char in fold(text) if char.isalnum())


def test_no_evaluation_message_is_in_the_training_data_however_it_is_spelt():
    trained = {_key(text) for text, _ in training_pairs()}
    trained |= {_key(example.text) for example in examples("training")}
    held_out = [example.text for example in examples("eval")]
    held_out += [text for texts in detection_messages().values() for text in texts]
    assert [text for text in held_out if _key(text) in trained] == []


def test_the_key_sees_through_spelling():
    assert _key("Cháy, cửa bị KHÓA!") == _key("chay cua bi khoa")
    assert _key("৫ মাস") == _key("5 মাস")


def test_no_message_is_twice_in_the_evaluation_split():
    keys = [_key(example.text) for example in examples("eval")]
    assert sorted({key for key in keys if keys.count(key) > 1}) == []


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_every_language_has_urgent_and_other_messages_enough_to_measure(language):
    held_out = [example for example in examples("eval") if example.language == language]
    urgent = [example for example in held_out if example.urgent]
    assert len(held_out) >= 40
    assert len(urgent) >= 10
    assert {example.category for example in held_out if not example.urgent} >= {*TAXONOMY, NO_CATEGORY}
    # Danger in the categories it comes in: fire and collapse, confinement and trafficking,
    # violence and death threats.
    assert {example.category for example in urgent} >= {"safety", "forced_labour", "harassment"}


def test_urgent_messages_are_parsed_from_their_own_section():
    parsed = _parse("eval/xx.yaml", {
        "language": "en",
        "examples": {"safety": ["the fire exit is blocked"], "none": ["hello"]},
        "urgent": {"safety": ["fire and the gate is locked"]},
    })  # fmt: skip
    assert [(example.text, example.category, example.urgent) for example in parsed] == [
        ("the fire exit is blocked", "safety", False),
        ("hello", "none", False),
        ("fire and the gate is locked", "safety", True),
    ]
    with pytest.raises(ValueError, match="urgent"):
        _parse("eval/xx.yaml", {"language": "en", "examples": {}, "urgent": {"fires": ["x"]}})
    with pytest.raises(ValueError, match="urgent"):
        _parse("eval/xx.yaml", {"language": "en", "examples": {}, "urgent": ["x"]})


def test_labels_of_the_evaluation_split():
    assert {example.category for example in examples("eval")} <= set(LABELS)
    assert expected_category(Example("hello", NO_CATEGORY, "en")) is None
    assert expected_category(Example("no pay", "wages", "en")) == "wages"


class _Scripted:
    """An understander that answers what it is told to, to check the counting."""

    name = "scripted"

    def __init__(self, answers: dict[str, tuple[str | None, bool]]) -> None:
        self.answers = answers

    def understand(self, text: str, language: str | None = None) -> Understanding:
        category, urgent = self.answers[text]
        return Understanding(language, category, 0.9, urgent)


def test_danger_recall_false_alarms_and_categories_are_counted_right():
    labelled = [
        Example("fire, gate locked", "safety", "en", urgent=True),   # caught, right category
        Example("he will kill me", "harassment", "en", urgent=True),  # missed, wrong category
        Example("fire exit blocked", "safety", "en"),                 # false alarm
        Example("hello", NO_CATEGORY, "en"),                          # right: no category
        Example("salam", NO_CATEGORY, "bn", romanized=True),          # wrong: a category
        Example("বেতন নাই", "wages", "bn"),                             # right
    ]  # fmt: skip
    understander = _Scripted({
        "fire, gate locked": ("safety", True), "he will kill me": ("wages", False),
        "fire exit blocked": ("safety", True), "hello": (None, False),
        "salam": ("wages", False), "বেতন নাই": ("wages", False),
    })  # fmt: skip
    result = evaluate(understander, labelled)
    assert result.danger == Danger(caught=1, urgent=2, false_alarms=1, not_urgent=4)
    assert result.danger.recall == 0.5 and result.danger.false_alarm_rate == 0.25
    assert result.danger_by_language["bn"] == Danger(0, 0, 0, 2)
    rows = {row: (score.right, score.total) for row, score in result.category.rows.items()}
    assert rows == {"bn": (1, 1), "bn-Latn": (0, 1), "en": (3, 4)}
    assert result.category.macro_accuracy == pytest.approx((0.5 + 0.75) / 2)
    by_category = {label: (score.right, score.total) for label, score in result.by_category.items()}
    assert by_category == {"wages": (1, 1), "safety": (2, 2), "harassment": (0, 1), "none": (1, 2)}
    assert list(result.by_category) == ["wages", "safety", "harassment", "none"]  # taxonomy order
    assert result.timing.calls == len(labelled)
