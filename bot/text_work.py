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

import threading
from collections import OrderedDict
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


def reads_description(draft: Draft | None) -> bool:
    """Text sent now would be read as (more) description: what `prepare` reads ahead."""
    return draft is not None and (draft.step == STEP_DESCRIPTION or draft.description_open)


def prepare(understander: Understander, draft: Draft | None, raw_text: str, max_message_chars: int) -> Prepared:
    """Read what `raw_text` would add to `draft`'s description, if it is in a step where text is description."""
    prepared = Prepared()
    if draft is None or len(raw_text) > max_message_chars:
        return prepared
    if not reads_description(draft):
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


class DescriptionSizes:
    """How long a description each conversation would have read if text came now, as this process
    last left it (-1: none would be read): only sizes, under the keyed lookup, never words.

    `Intake` reads ahead of the write gate only what is worth a second, short transaction: a
    description under `READ_AHEAD_FROM_CHARS` is read inside the gate in about the time that
    transaction would take. A size is a hint: another process may have handled the worker's
    last message, and then the reading is simply done inside the gate, as `understanding` always can.
    """

    READ_AHEAD_FROM_CHARS = 500

    def __init__(self, capacity: int = 10_000) -> None:
        self._sizes: OrderedDict[str, int] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def note(self, lookup: str, draft: Draft | None) -> None:
        size = len(draft.description_text) if reads_description(draft) else -1
        with self._lock:
            self._sizes[lookup] = size
            self._sizes.move_to_end(lookup)
            while len(self._sizes) > self._capacity:
                self._sizes.popitem(last=False)

    def worth_reading_ahead(self, lookup: str, message_chars: int) -> bool:
        """False when this process knows the reading would be short (or none at all)."""
        with self._lock:
            size = self._sizes.get(lookup)
        if size is None:
            return True
        return size >= 0 and size + message_chars >= self.READ_AHEAD_FROM_CHARS
