"""The engine's reading of a description, done before the database's write gate and found again inside it.

Reading a description (the category model, the danger words, names and places in the new
message) takes a few milliseconds per thousand characters, and a description may hold
20,000. Inside the write transaction that time was every other worker's wait (on SQLite
one writer at a time): three 4 KB messages made them wait 2.4 s. So `Intake.receive`
first reads the worker's draft in a short transaction, calls `prepare` with it and the
new message, and only then takes the write transaction and runs the turn, inside
`using(prepared)`. The turn asks `understanding` and `entities` here: what was prepared
is returned only for exactly the same input (the same description and language, the same
message), and anything else is computed on the spot. A conversation that changed in
between (another message of the same worker, handled meanwhile) is therefore never answered
from stale work: the same guarantee as re-running the turn, without a version counter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from nlu import Understander, normalize
from nlu.entities import Entity, extract_entities
from nlu.understanding import Understanding

from .draft import STEP_DESCRIPTION, Draft


@dataclass
class Prepared:
    """Readings computed ahead of the turn, keyed by their exact input."""

    understandings: dict[tuple[str, str | None], Understanding] = field(default_factory=dict)
    entities: dict[str, tuple[Entity, ...]] = field(default_factory=dict)


_current: ContextVar[Prepared | None] = ContextVar("prepared_text_work", default=None)


def prepare(understander: Understander, draft: Draft | None, raw_text: str, max_message_chars: int) -> Prepared:
    """Read what `raw_text` would add to `draft`'s description, if it is in a step where text is description."""
    prepared = Prepared()
    if draft is None or len(raw_text) > max_message_chars:
        return prepared
    if draft.step != STEP_DESCRIPTION and not draft.description_open:
        return prepared
    text = normalize(raw_text)
    if not any(char.isalpha() for char in text):
        return prepared
    replaced = draft.editing and draft.step == STEP_DESCRIPTION  # a description changed from the summary starts again
    description = "\n".join([*([] if replaced else draft.description), text])
    prepared.understandings[(description, draft.language)] = understander.understand(description, draft.language)
    prepared.entities[text] = extract_entities(text)
    return prepared


@contextmanager
def using(prepared: Prepared) -> Iterator[None]:
    """Make `prepared` what `understanding` and `entities` find, for the code run inside."""
    token = _current.set(prepared)
    try:
        yield
    finally:
        _current.reset(token)


def understanding(understander: Understander, description: str, language: str | None) -> Understanding:
    """The reading of a whole description: prepared if it was for exactly this text, else read now."""
    prepared = _current.get()
    found = prepared.understandings.get((description, language)) if prepared else None
    return found if found is not None else understander.understand(description, language)


def entities(message: str) -> tuple[Entity, ...]:
    """The entities of one (normalized) message: prepared if it was for exactly this text, else read now."""
    prepared = _current.get()
    found = prepared.entities.get(message) if prepared else None
    return found if found is not None else extract_entities(message)
