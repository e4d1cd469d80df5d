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
    urgent: bool = False
    urgent_signal: bool = False  # the NLU saw danger words in the description
    history: list[str] = field(default_factory=list)  # earlier steps, for BACK
    return_to: str | None = None  # step to go back to after the language menu
    editing: bool = False  # changing one answer from the summary
    message_refs: list[str] = field(default_factory=list)  # provider ids of this chat's messages, for DELETE
    offers: dict[str, Any] = field(default_factory=dict)  # question id -> value found in the description, to confirm
    menu_first: str | None = None  # the language detected in the first message, listed first in the menu
    dialogue_case: str | None = None  # STEP_DIALOGUE: the case the worker is answering into (a case id, not the code)
    confirm_erase: str | None = None  # "cancel" or "delete": the worker asked to erase the report; asked to confirm
    seen_at: str | None = None  # when the worker last wrote (UTC, to the minute), to notice a pause

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


def question_step(question_id: str) -> str:
    return QUESTION_PREFIX + question_id


def question_id_of(step: str) -> str | None:
    return step[len(QUESTION_PREFIX) :] if step.startswith(QUESTION_PREFIX) else None
