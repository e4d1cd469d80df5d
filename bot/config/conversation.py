"""The conversation a deployment configures: its name and languages, the flow (categories and
questions), the session's timing, the size limits of a report, and the understanding (NLU)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from .base import Frozen, SecretSource

TAXONOMY = (
    "wages",
    "hours",
    "safety",
    "harassment",
    "discrimination",
    "forced_labour",
    "child_labour",
    "association",
    "dismissal",
    "retaliation",
    "living_conditions",
    "environment_community",
    "other",
)
QUESTION_KINDS = ("text", "yes_no", "number", "category")


class Deployment(Frozen):
    name: str = "Worker hotline"
    default_language: str = "en"
    languages: tuple[str, ...] = ("en", "bn", "vi", "es")
    acknowledge_within_days: Annotated[int, Field(ge=1, le=90)] = 7
    # Told to a worker who sent an urgent alert and let the team write back: when to expect a message.
    alert_contact_within_hours: Annotated[int, Field(ge=1, le=168)] = 24
    emergency_contacts: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _default_is_offered(self) -> Deployment:
        if self.default_language not in self.languages:
            raise ValueError(f"default_language '{self.default_language}' is not in languages")
        return self


class Session(Frozen):
    idle_expiry_hours: Annotated[float, Field(gt=0, le=24 * 30)] = 72
    reply_address_retention_days: Annotated[int, Field(ge=0, le=3650)] = 90
    # After this long without a message, the next one is greeted "welcome back" with the question
    # the worker was at; small talk then is never taken for an answer.
    resume_after_minutes: Annotated[float, Field(gt=0, le=24 * 60)] = 30
    # After STATUS <code> the worker's messages are answers into that case; after this long
    # without one, the next message starts afresh instead of being filed into the old case.
    status_dialogue_idle_minutes: Annotated[float, Field(gt=0, le=24 * 60)] = 30
    # Once the team has written to a chat, what that chat sends next is an answer to that case,
    # for this long (or until NEW, or the case is closed); STATUS works after it as before.
    answer_window_days: Annotated[float, Field(gt=0, le=90)] = 14


class Limits(Frozen):
    max_message_chars: Annotated[int, Field(ge=100, le=100_000)] = 5000
    max_description_chars: Annotated[int, Field(ge=100, le=200_000)] = 20_000
    # Photos and voice notes one report can carry, and their cleaned bytes in all: a sealed case
    # must stay small enough to deliver and open (25 photos once made an 87 MB case). 0 takes none.
    max_attachments_per_report: Annotated[int, Field(ge=0, le=20)] = 5
    max_attachment_bytes_per_report: Annotated[int, Field(ge=0, le=50_000_000)] = 15_000_000


class Question(Frozen):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    kind: Literal["text", "yes_no", "number", "category"] = "text"
    optional: bool = False
    marks_urgent: bool = False  # a YES here marks the case urgent and sends the emergency contacts
    grants_contact: bool = False  # a YES here lets the operator contact the worker (sealed in the case)
    grants_referral: bool = False  # a YES here lets the desk refer the problem to the company (never the worker's identity)
    # What the NLU may have found in the description for this question; the worker is then
    # asked to confirm it ("We understood: Gazipur. Is that right?") instead of typing it again.
    entity: Literal["people", "time", "workplace", "place"] | None = None

    @model_validator(mode="after")
    def _flags_need_yes_no(self) -> Question:
        if (self.marks_urgent or self.grants_contact or self.grants_referral) and self.kind != "yes_no":
            raise ValueError("marks_urgent, grants_contact and grants_referral need kind yes_no")
        return self


DEFAULT_QUESTIONS = (
    Question(id="category", kind="category"),
    Question(id="workplace", entity="workplace"),
    Question(id="location", entity="place"),
    Question(id="brand", optional=True),
    Question(id="when", entity="time"),  # "When did it happen? Is it still going on?": one turn, not two
    Question(id="people_affected", kind="number", entity="people"),
    Question(id="urgent", kind="yes_no", marks_urgent=True),
    Question(id="contact_consent", kind="yes_no", grants_contact=True),
    Question(id="referral_consent", kind="yes_no", grants_referral=True),
)


class Flow(Frozen):
    categories: tuple[str, ...] = TAXONOMY
    questions: tuple[Question, ...] = DEFAULT_QUESTIONS

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [c for c in value if c not in TAXONOMY]
        if unknown:
            raise ValueError(f"unknown category '{unknown[0]}' (codes: {', '.join(TAXONOMY)})")
        if "other" not in value:
            raise ValueError("the category 'other' must stay in the list")
        return value

    @field_validator("questions")
    @classmethod
    def _sound_questions(cls, value: tuple[Question, ...]) -> tuple[Question, ...]:
        ids = [q.id for q in value]
        duplicates = {i for i in ids if ids.count(i) > 1}
        if duplicates:
            raise ValueError(f"question id '{sorted(duplicates)[0]}' is used twice")
        if "description" in ids:
            raise ValueError("'description' is asked by the engine itself before these questions; remove it")
        if sum(q.kind == "category" for q in value) != 1:
            raise ValueError("exactly one question must be of kind 'category'")
        return value


class Nlu(Frozen):
    """Category suggestion: the built-in n-gram model, a Rasa server (`nlu/rasa/`) or the
    meaning-based e5 worker (`nlu/e5/`), the built-in model answering whenever a server is
    slow or down."""

    backend: Literal["builtin", "rasa", "e5"] = "builtin"
    suggestion_min_confidence: Annotated[float, Field(ge=0, le=1)] = 0.34
    rasa_url: Annotated[str, Field(pattern=r"^https?://[^/]")] = "http://127.0.0.1:5005"  # urllib would open file: too
    # A worker never waits longer than this on Rasa before the built-in model answers.
    rasa_timeout_seconds: Annotated[float, Field(gt=0, le=10)] = 0.5
    # The token Rasa was started with (`rasa run --auth-token`, see `make rasa-run`).
    rasa_token: SecretSource = SecretSource(file="var/keys/rasa-token")
    # The meaning-based worker (`make e5-run`, nlu/e5/worker.py), its timeout and token.
    e5_url: Annotated[str, Field(pattern=r"^https?://[^/]")] = "http://127.0.0.1:5006"
    e5_timeout_seconds: Annotated[float, Field(gt=0, le=10)] = 1.0
    e5_token: SecretSource = SecretSource(file="var/keys/e5-token")
