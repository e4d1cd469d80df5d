"""What a report needs of each case, read once from the operator's store.

A report never needs a worker's words: only the month, the category, where and for
whom (as typed, to be grouped), the channel and language, the urgency, and the dates
at which the mechanism moved the case on. `CaseFacts` holds exactly that, so nothing
else of a case reaches the figures, the charts or the files a report writes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from desk.operator_store import CaseFilter, OperatorStore, status_changes

# Which category a case is counted under: the case workers' (the default) or the one it was filed under.
CATEGORY_BASES = ("desk", "filed")
# The statuses that count as the mechanism having acknowledged a case, and having given feedback.
ACKNOWLEDGED = ("acknowledged", "in_review", "in_dialogue", "resolved", "closed")
CONCLUDED = ("resolved", "closed")
# Legal forms dropped when names are grouped: "Sunrise Garments Ltd." and "sunrise garments" are one workplace.
_LEGAL_FORMS = re.compile(
    r"\b(ltd|limited|llc|inc|co|corp|company|plc|pvt|private|gmbh|sa|s\.a|pt|tbk|jsc|cong ty|tnhh|株式会社|有限公司)\b\.?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CaseFacts:
    """One case as a report sees it."""

    received: date
    category: str
    urgent: bool
    channel: str
    language: str
    status: str
    location: str | None  # grouping key of the place answer ("gazipur"), None when not given
    location_label: str | None  # the place as first typed, for display once a group is large enough
    workplace: str | None
    workplace_label: str | None
    brand: str | None
    brand_label: str | None
    acknowledged: date | None  # first move to an acknowledged status
    concluded: date | None  # first move to resolved or closed
    referral_agreed: bool  # the worker agreed that the company may be told
    referred: bool = False  # the desk referred the case to the company concerned
    story: str = "text"  # "voice": the story is a voice note (a voice report); "text": written
    case_id: str = ""  # to join what the desk did later to a month kept for public reports (desk/reports/snapshot.py)

    @property
    def month(self) -> str:
        return self.received.strftime("%Y-%m")


def group_key(value: object) -> str | None:
    """How free-text names are grouped: case, accents, punctuation and legal forms ignored."""
    if not isinstance(value, str):
        return None
    text = unicodedata.normalize("NFKC", value).casefold()
    text = "".join(char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char))
    text = _LEGAL_FORMS.sub(" ", text)
    text = re.sub(r"[\W_]+", " ", text).strip()
    return text or None


def _label(value: object) -> str | None:
    return " ".join(value.split()) if isinstance(value, str) and value.strip() else None


def _day(stamp: str) -> date:
    return date.fromisoformat(stamp[:10])  # "YYYY-MM-DD...": ten times quicker than strptime, over every case of a report


def status_dates(store: OperatorStore, case_ids: Iterable[str] | None = None) -> dict[str, tuple[date | None, date | None]]:
    """Per case id (of every case, or of `case_ids`): when it was first acknowledged and first concluded
    (from the status history, reasons unread)."""
    c = status_changes.c
    found: dict[str, list[date | None]] = {}
    query = select(c.case_id, c.changed_at, c.to_status).order_by(c.case_id, c.seq)
    if case_ids is not None:
        query = query.where(c.case_id.in_(list(case_ids)))
    with store.engine.connect() as connection:
        rows = connection.execute(query)
        for case_id, changed_at, to_status in rows:
            dates = found.setdefault(case_id, [None, None])
            day = _day(changed_at)
            if to_status in ACKNOWLEDGED and dates[0] is None:
                dates[0] = day
            if to_status in CONCLUDED and dates[1] is None:
                dates[1] = day
    return {case_id: (dates[0], dates[1]) for case_id, dates in found.items()}


def referred_cases(store: OperatorStore) -> set[str]:
    """The ids of the cases the desk referred to a company (none in a store the desk never opened)."""
    from sqlalchemy import inspect

    from desk.store import desk_referrals

    with store.engine.connect() as connection:
        if not inspect(connection).has_table("desk_referrals"):
            return set()
        return set(connection.execute(select(desk_referrals.c.case_id)).scalars())


def facts_of(record: dict, status: str, dates: tuple[date | None, date | None], referral_questions: Iterable[str],
             referred: bool = False, category: str | None = None) -> CaseFacts:
    answers = record.get("answers") or {}
    acknowledged, concluded = dates
    if concluded is not None and acknowledged is None:
        acknowledged = concluded  # resolved at once: the answer was the acknowledgement
    return CaseFacts(
        received=_day(record["received_at"]),
        category=category or record["category"],
        urgent=bool(record["urgent"]),
        channel=record["channel"],
        language=record["language"],
        status=status,
        location=group_key(answers.get("location")),
        location_label=_label(answers.get("location")),
        workplace=group_key(answers.get("workplace")),
        workplace_label=_label(answers.get("workplace")),
        brand=group_key(answers.get("brand")),
        brand_label=_label(answers.get("brand")),
        acknowledged=acknowledged,
        concluded=concluded,
        referral_agreed=any(answers.get(question) is True for question in referral_questions),
        referred=referred,
        story="voice" if record.get("story_kind") == "voice" else "text",
        case_id=record["case_id"],
    )


def read_facts(store: OperatorStore, until: date, referral_questions: Iterable[str] = (),
               categories: str = "desk") -> Iterator[CaseFacts]:
    """The facts of every case received up to `until` (the previous period included), oldest first.

    `categories`: "desk" counts each case under the category the case workers gave it (the
    category it was filed under until someone changed it, desk/categories.py); "filed" under
    the one it was filed under on the hotline (the worker's choice, often the NLU's suggestion).
    """
    if categories not in CATEGORY_BASES:
        raise ValueError(f"unknown category basis {categories!r}")
    dates, referred = status_dates(store), referred_cases(store)
    questions = tuple(referral_questions)
    for stored in store.iter_cases(CaseFilter(until=until)):
        case_id = stored.record["case_id"]
        category = stored.category if categories == "desk" else None
        yield facts_of(stored.record, stored.status, dates.get(case_id, (None, None)), questions, case_id in referred, category)
