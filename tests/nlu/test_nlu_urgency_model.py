"""The built-in understander's learned urgency (`nlu.urgency`, issue 21): it flags danger the
rules' words miss, leaves ordinary complaints close to danger alone, never undoes look-alikes,
and keeps the rules as its floor.

The messages here were written for these tests, apart from the training files and from the
evaluation split (which was not read): collapse with people under it, being sold on, a death
threat, in words the danger lexicon does not list.
"""

from __future__ import annotations

import random
import unicodedata

import pytest

from nlu import builtin_understander
from nlu.categories import is_urgent
from nlu.statistical import urgency_model
from nlu.stems import FoldedText
from nlu.training_data import examples
from nlu.urgency import FALSE_ALARM_BUDGET, train_urgency, urgency_threshold

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run


@pytest.fixture(scope="module")
def understander():
    return builtin_understander()


# Danger now, without the lexicon's danger words: the model must flag them.
MISSED_BY_RULES = [
    ("en", "roof of the store room came down, people still inside"),
    ("en", "broker says tomorrow we go to another farm, we never agreed, they watch us all the time"),
    ("es", "nos quieren vender a otro patrón esta noche, no sabemos a dónde"),
    ("es", "el capataz me dijo que si hablo me mata"),
    ("id", "atap gudang runtuh, ada teman di bawahnya"),
    ("tl", "bumagsak ang bubong, may mga tao sa ilalim"),
    ("tl", "ibebenta daw kami sa ibang amo mamayang gabi"),
    ("hi", "deewar gir gayi, log neeche dabe hain"),
    ("hi", "chhat gir gayi, kuch log andar fase hain"),
]

# Close to danger, but not danger now: a past blocked exit, a missing extinguisher, a dismissal
# ("fired" is no fire), a threat over the union, a passport or a debt still held.
HARD_NEGATIVES = [
    ("en", "they fired me after i took sick leave"),
    ("en", "the fire exit was blocked by boxes last month"),
    ("en", "there is no fire extinguisher on our floor"),
    ("en", "manager said whoever joins the union will be fired"),
    ("en", "the agent still keeps my passport"),
    ("en", "we still owe the recruiter two months of pay"),
    ("en", "they fired 20 workers yesterday without notice"),
    ("en", "fired"),
    ("es", "me despidieron después de la baja por enfermedad"),
    ("es", "la salida de emergencia estaba bloqueada el mes pasado"),
    ("id", "saya dipecat setelah cuti sakit"),
    ("tl", "tinanggal ako sa trabaho pagkatapos ng sick leave"),
    ("hi", "mujhe fire kar diya bina notice ke"),
    ("en", "salary is late again this month"),
    ("en", "hello is anyone there"),
]


@pytest.mark.parametrize(("language", "text"), MISSED_BY_RULES)
def test_the_model_reads_danger_the_rules_miss_above_every_near_miss(understander, language, text):
    """Each scores above every ordinary complaint near danger, whatever the threshold."""
    assert not is_urgent(FoldedText.of(text))  # else this test would not be about the model
    highest_ordinary = max(understander.urgency.score(ordinary) for _, ordinary in HARD_NEGATIVES)
    assert understander.urgency.score(text) > highest_ordinary


def test_the_model_flags_most_danger_the_rules_miss(understander):
    """The threshold, chosen by cross-validation with the translations of a message held out
    together, lets most of them through. (Two sit just under it, "chhat gir gayi, kuch log andar
    fase hain" and the broker moving workers to another farm: with the folds by position, which held
    out a message while training on its translations, the threshold was lower and let them pass.)"""
    flagged = [text for language, text in MISSED_BY_RULES if understander.understand(text, language).urgent]
    assert len(flagged) >= 7, flagged


@pytest.mark.parametrize(("language", "text"), HARD_NEGATIVES)
def test_ordinary_complaints_near_danger_are_not_flagged(understander, language, text):
    assert not understander.understand(text, language).urgent


def test_danger_in_a_later_message_of_the_description_counts(understander):
    text = "salary is late again this month\nroof of the store room came down, people still inside"
    assert understander.understand(text, "en").urgent


def test_the_rules_stay_the_floor(understander):
    """A death threat in the lexicon's words is flagged even where the model reads no danger."""
    text = "the supervisor said he will kill me if i tell anyone"
    assert not understander.urgency.is_urgent(text)
    assert understander.understand(text, "en").urgent


def test_the_threshold_keeps_to_the_cross_validated_false_alarms():
    """Chosen on the training messages alone: the rules and the model together flag at most
    `FALSE_ALARM_BUDGET` of the held-out ordinary messages, and catch more urgent ones than the
    rules alone."""
    found = urgency_model().cross_validation
    training = examples("training")
    assert found.urgent == sum(example.urgent for example in training)
    assert found.ordinary == len(training) - found.urgent
    assert found.false_alarms <= int(FALSE_ALARM_BUDGET * found.ordinary)
    by_rules = sum(is_urgent(FoldedText.of(example.text)) for example in training if example.urgent)
    assert found.caught > by_rules


def test_the_rules_false_alarms_are_spent_first():
    """100 ordinary messages, 3 of them flagged by the rules, a budget of 5%: the model may add 2."""
    labels = [False] * 100 + [True] * 10
    by_rules = [i < 3 for i in range(100)] + [False] * 10
    scores = [i / 100 for i in range(100)] + [0.5 + i / 100 for i in range(10)]  # ordinary 0.00 to 0.99
    threshold, found = urgency_threshold(scores, labels, by_rules, budget=0.05)
    assert 0.97 < threshold <= 0.98  # 0.98 and 0.99 pass, 0.97 does not
    assert (found.false_alarms, found.caught) == (5, 0)
    # The rules alone over the budget: the model adds no false alarm of its own.
    threshold, found = urgency_threshold(scores, labels, [i < 8 for i in range(100)] + [False] * 10, budget=0.05)
    assert threshold > 0.99 and found.false_alarms == 8


# A toy corpus where "fired" is said only in urgent messages: the model would learn it as danger.
TOY = [(f"fired now help {n}", True) for n in ("one", "two", "three", "four", "five")] + [
    (f"salary late {word}", False) for word in ("again", "today", "march", "always", "every month", "still",
                                                "since may", "by a week", "and short", "as usual")
] * 10


def test_a_lookalike_alone_is_never_decided_by_the_model():
    model = train_urgency(TOY, whole_words=frozenset({"fired"}))
    assert model.is_urgent("fired now help")
    assert not model.is_urgent("fired")
    assert not model.is_urgent("FIRED!!\nsalary late")


def test_training_is_repeatable():
    first, second = train_urgency(TOY), train_urgency(TOY)
    assert first.threshold == second.threshold
    assert first.score("help now") == second.score("help now")


@pytest.mark.parametrize("labels", [(True, True), (False, False)])
def test_both_classes_are_needed(labels):
    with pytest.raises(ValueError, match="urgent and ordinary"):
        train_urgency([("a message", labels[0]), ("another", labels[1])])


@pytest.mark.parametrize("seed", range(8))
def test_random_bytes_are_noise_to_the_model_not_danger(seed):
    # Seen in a full run: 400 random bytes pasted as a description scored 16 against a threshold of 5 (their
    # many unknown n-grams add up), and the worker was asked about danger instead of being taken on.
    noise = "".join(char for char in random.Random(seed).randbytes(400).decode("latin-1")
                    if unicodedata.category(char)[0] != "C")  # as the conversation keeps a description: no control characters
    assert not urgency_model().is_urgent(noise)
    assert urgency_model().is_urgent(noise + "\n" + "roof came down on line 6, ppl still under it") == \
        urgency_model().is_urgent("roof came down on line 6, ppl still under it"), "the words beside the noise still count"


def test_the_e5_worker_chooses_its_threshold_by_the_same_rule():
    """The e5 worker runs in its own Python with numpy; its threshold rule is written again there.
    On the same held-out scores, rule flags and budget, both choose the same threshold and counts."""
    import importlib.util
    from pathlib import Path

    import numpy as np

    path = Path(__file__).resolve().parents[2] / "nlu" / "e5" / "worker.py"
    spec = importlib.util.spec_from_file_location("e5_worker_under_test", path)
    worker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(worker)
    chance = random.Random(5)
    for budget in (0.0, 0.01, 0.05, 0.3):
        labels = [chance.random() < 0.25 for _ in range(400)]
        scores = [chance.random() for _ in labels]
        by_rules = [chance.random() < (0.5 if urgent else 0.02) for urgent in labels]
        threshold, found = urgency_threshold(scores, labels, by_rules, budget=budget)
        numpy_threshold, summary = worker.urgency_threshold(
            np.array(scores), np.array(labels, dtype=int), np.array(by_rules, dtype=int), budget)
        assert numpy_threshold == threshold
        assert f"recall {found.caught}/{found.urgent} with the rules, false alarms {found.false_alarms}/{found.ordinary}" in summary


def test_the_translations_of_a_message_share_a_fold_and_the_e5_export_carries_the_same():
    """A message's place in its file decides its fold: the first urgent safety message of every
    language (a fire, in each) is held out together; the e5 export hands the worker those folds,
    what the rules flag and the one budget."""
    from nlu.e5_export import training_data
    from nlu.urgency import translation_folds

    training = examples("training")
    folds = translation_folds(training)
    first_fire = {fold for example, fold in zip(training, folds, strict=True)
                  if example.urgent and example.category == "safety"
                  and example is next(e for e in training if e.language == example.language
                                      and e.romanized == example.romanized and e.urgent and e.category == "safety")}
    assert len(first_fire) == 1
    assert len(set(folds)) == 5
    exported = training_data()
    assert exported["false_alarm_budget"] == FALSE_ALARM_BUDGET
    assert [row["fold"] for row in exported["rows"]] == folds
    assert [row["rules"] for row in exported["rows"]] == [is_urgent(FoldedText.of(example.text)) for example in training]
