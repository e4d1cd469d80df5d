"""The state of one worker's conversation: where they are and what they said so far.

A `Draft` is channel-neutral and plain data, so it serializes to JSON and is
stored only encrypted (see `storage.conversations`). It holds no address.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# Fixed steps around the configured questions; a question's step is "q:<id>".
STEP_LANGUAGE = "language"
STEP_CONSENT = "consent"
STEP_DESCRIPTION = "description"
STEP_SUGGEST = "suggest"
STEP_SUMMARY = "summary"
STEP_CHANGE = "change"
STEP_DIALOGUE = "dialogue"  # after STATUS <code>: the worker's messages are answers into that case
STEP_DANGER = "danger"  # danger words seen: alert the hotline team now? (then back to `danger_return`)
STEP_CHANGE_DESCRIPTION = "change_description"  # CHANGE of the description: add to it (default) or replace it
STEP_ALERT_CONTACT = "alert_contact"  # an alert went out: may the team write back on this chat?
STEP_FEEDBACK = "feedback"  # the case is resolved or closed: did it help? (yes, partly, no)
STEP_FEEDBACK_COMMENT = "feedback_comment"  # ... and anything to add (or SKIP)
ANSWER_STEPS = (STEP_DIALOGUE, STEP_FEEDBACK, STEP_FEEDBACK_COMMENT)  # about a sealed case, not a report
QUESTION_PREFIX = "q:"

DRAFT_FORMAT = 1


@dataclass
class Draft:
    """One conversation in progress."""

    step: str = STEP_LANGUAGE
    language: str | None = None
    description: list[str] = field(default_factory=list)
    description_open: bool = False  # more description text is still welcome
    answers: dict[str, Any] = field(default_factory=dict)
    suggestion: str | None = None
    suggestion_confidence: float = 0.0
    suggestion_backend: str | None = None  # the understander that stood in for the configured one, if any
    urgent: bool = False
    urgent_signal: bool = False  # the NLU saw danger words in the description
    history: list[str] = field(default_factory=list)  # earlier steps, for BACK
    return_to: str | None = None  # step to go back to after the language menu
    editing: bool = False  # changing one answer from the summary
    message_refs: list[str] = field(default_factory=list)  # provider ids of this chat's messages, for DELETE
    offers: dict[str, Any] = field(default_factory=dict)  # question id -> value found in the description, to confirm
    menu_first: str | None = None  # the language detected in the first message, listed first in the menu
    menu_also: list[str] = field(default_factory=list)  # ... and the others it may be in ("namaste": hi, ne), next
    menu_language: str | None = None  # the language detection was sure of: the menu's header is in it
    dialogue_case: str | None = None  # STEP_DIALOGUE: the case the worker is answering into (a case id, not the code)
    confirm_erase: str | None = None  # "cancel" or "delete": the worker asked to erase the report; asked to confirm
    seen_at: str | None = None  # when the worker last wrote (UTC, to the minute), to notice a pause
    kept: list[str] = field(default_factory=list)  # what the worker wrote before consenting: the description's start
    danger_asked: bool = False  # the alert question was asked in this conversation (asked again after new text on CHANGE)
    danger_return: str | None = None  # STEP_DANGER: the step to go back to after YES or NO
    danger_language: str | None = None  # STEP_DANGER before a language is chosen: the danger message's language
    alert_case: str | None = None  # an urgent alert was sent: its case id; the full report goes under the same case
    alert_code: str | None = None  # ... and its case code (digits)
    replace_description: bool = False  # CHANGE of the description: the new text replaces it (else it is added)
    settled: list[str] = field(default_factory=list)  # question ids answered elsewhere (contact, at the alert): not asked again
    window: bool = False  # an answer-back the team opened by writing to this chat (no STATUS needed)
    voice_story: int = 0  # voice notes that are the story (sent alone at "What happened?"): a voice report
    call: dict[str, Any] = field(default_factory=dict)  # a phone call's state (channels/voice: its step, open calls)

    @property
    def menu_languages(self) -> list[str]:
        """The languages the first message may be in, likeliest first: listed first in the menu."""
        return [self.menu_first, *self.menu_also] if self.menu_first else []

    @property
    def description_text(self) -> str:
        return "\n".join(self.description)

    def to_json(self) -> bytes:
        # The fields are plain JSON values (lists, dicts, strings, numbers), so `vars` is what
        # `dataclasses.asdict` would give, without its recursive deep copy (this runs on every message).
        return json.dumps({"format": DRAFT_FORMAT, **vars(self)}, ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Draft:
        fields = json.loads(data)
        if fields.pop("format", None) != DRAFT_FORMAT:
            raise ValueError("unknown draft format")
        return cls(**fields)


def alert_text(draft: Draft) -> list[str]:
    """What an urgent alert carries as its description: what was kept before consent, then the description."""
    return [*draft.kept, *draft.description]


def question_step(question_id: str) -> str:
    return QUESTION_PREFIX + question_id


def question_id_of(step: str) -> str | None:
    return step[len(QUESTION_PREFIX) :] if step.startswith(QUESTION_PREFIX) else None
