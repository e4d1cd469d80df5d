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
from nlu.urgency import MAX_FALSE_ALARMS, train_urgency

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
def test_the_model_flags_danger_the_rules_miss(understander, language, text):
    assert not is_urgent(FoldedText.of(text))  # else this test would not be about the model
    assert understander.understand(text, language).urgent


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
    """Chosen on the training messages alone: at most `MAX_FALSE_ALARMS` of the held-out ordinary
    messages flagged, and some held-out urgent ones caught."""
    found = urgency_model().cross_validation
    training = examples("training")
    assert found.urgent == sum(example.urgent for example in training)
    assert found.ordinary == len(training) - found.urgent
    assert found.false_alarms <= int(MAX_FALSE_ALARMS * found.ordinary)
    assert found.caught > 0


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
