"""The record of what public reports published: each month's cases and decisions, kept once published.

Public figures fit together only if every report of a year is computed from the same
counts and the same decisions (desk/reports/release.py). The store changes after a month
is published: a case pulled late, an urgent alert completed by its report under another
category. So when a public report is written, every month it rests on (its year up to its
last month, and the previous period's year for the categories that rose) is recorded
here, if it is not yet: the facts of its cases (category, channel, language, urgency,
groups of place, workplace and brand, referral consent; never a worker's words) and the
month's decisions, with k. Later public reports take those months from here, so a late
case counts in internal reports only, and a year is published with one k.

What the desk did since (status, acknowledgement and conclusion dates, referral) is taken
from the store as it is now: those are figures about the mechanism, not counts of cases.
The record lives in the operator store beside the cases (table `report_months`), sealed
with the store's key like them (storage/crypto.py), one row per month.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, replace
from datetime import date

from sqlalchemy import Column, Integer, LargeBinary, MetaData, String, Table, insert, select
from sqlalchemy.exc import IntegrityError

from desk.operator_store import OperatorStore, serialize
from storage import crypto

from .facts import CaseFacts
from .figures import Report
from .periods import Period
from .release import Key, Recorded

_metadata = MetaData()
report_months = Table(
    "report_months", _metadata,
    Column("month", String(7), primary_key=True),  # "2026-03"
    Column("k", Integer, nullable=False),
    Column("sealed", LargeBinary, nullable=False),  # {"facts": [...], "decisions": [[table, row, period, hidden]]}
)
_DATES = ("received", "acknowledged", "concluded")
_HANDLING = ("status", "acknowledged", "concluded", "referred")


class RecordError(ValueError):
    """A public report that would not fit the reports already published (another k, or a record written meanwhile)."""


def _fact_to_json(fact: CaseFacts) -> dict:
    data = asdict(fact)
    for name in _DATES:
        data[name] = data[name].isoformat() if data[name] else None
    return data


def _fact_from_json(data: dict) -> CaseFacts:
    for name in _DATES:
        data[name] = date.fromisoformat(data[name]) if data[name] else None
    return CaseFacts(**data)


class PublicationRecord:
    """The months public reports rest on, in the operator store."""

    def __init__(self, store: OperatorStore) -> None:
        self.store = store
        self.loaded: set[str] = set()  # the months `load` found: a report rests on them as they were read
        with store.engine.begin() as connection:
            serialize(connection, "schema")
            _metadata.create_all(connection)

    def _id(self, month: str) -> str:
        return f"report-month:{month}"

    def k_of(self, year: int) -> int | None:
        """The k a year was published with, None when nothing of it was."""
        with self.store.engine.connect() as connection:
            found = connection.execute(select(report_months.c.k).where(report_months.c.month.like(f"{year:04d}-%"))).scalars()
            return next(iter(set(found)), None)

    def load(self, years: Iterable[int]) -> tuple[dict[str, list[CaseFacts]], dict[int, Recorded]]:
        """The recorded months of `years`: their facts by month ("2026-03"), and per year its k and decisions."""
        facts: dict[str, list[CaseFacts]] = {}
        recorded: dict[int, Recorded] = {}
        with self.store.engine.connect() as connection:
            for year in sorted(set(years)):
                rows = connection.execute(select(report_months).where(report_months.c.month.like(f"{year:04d}-%"))
                                          .order_by(report_months.c.month)).all()
                steps: dict[int, dict[Key, bool]] = {}
                for month, k, sealed in rows:
                    self.loaded.add(month)
                    opened = json.loads(crypto.decrypt_store_record(self.store.key, self._id(month), sealed))
                    facts[month] = [_fact_from_json(item) for item in opened["facts"]]
                    steps[int(month[5:])] = {(table, row, Period.parse(period)): hidden
                                             for table, row, period, hidden in opened["decisions"]}
                    recorded[year] = Recorded(k, steps)
        return facts, recorded

    def record(self, report: Report, facts: Iterable[CaseFacts]) -> list[str]:
        """Keep every month the public `report` rests on that is not kept yet; the months newly kept.

        A month kept by another report since `load` read the record refuses this one: its
        figures rest on that month as it was before, not as it was published.
        """
        if not report.public:
            raise ValueError("only public reports are recorded")
        by_month: dict[str, list[CaseFacts]] = {}
        for fact in facts:
            by_month.setdefault(fact.month, []).append(fact)
        added = []
        try:
            with self.store.engine.begin() as connection:
                serialize(connection, "report_months")
                kept = set(connection.execute(select(report_months.c.month)).scalars())
                for year, release in sorted(report.releases.items()):
                    for step in range(1, release.through + 1):
                        month = f"{year:04d}-{step:02d}"
                        if month in kept and month not in self.loaded:
                            raise RecordError(f"{month} was published by another report meanwhile: make this one again")
                        if month in kept:
                            continue
                        document = {
                            "facts": [_fact_to_json(fact) for fact in sorted(by_month.get(month, []),
                                                                             key=lambda f: (f.received, f.case_id))],
                            "decisions": sorted(([table, row, period.label, hidden]
                                                 for (table, row, period), hidden in release.decisions[step].items()),
                                                key=lambda item: (item[0], str(item[1]), item[2])),
                        }
                        sealed = crypto.encrypt_store_record(self.store.key, self._id(month),
                                                             json.dumps(document, ensure_ascii=False).encode())
                        connection.execute(insert(report_months).values(month=month, k=release.k, sealed=sealed))
                        added.append(month)
        except IntegrityError:
            raise RecordError("another public report was recorded at the same time: make this one again") from None
        return added


def public_facts(live: Iterable[CaseFacts], kept: Mapping[str, list[CaseFacts]]) -> list[CaseFacts]:
    """The facts public reports use: recorded months as recorded (with what the desk did since), others as they are."""
    now = {}
    facts = []
    for fact in live:
        if fact.month in kept:
            if fact.case_id:
                now[fact.case_id] = fact
        else:
            facts.append(fact)
    for month_facts in kept.values():
        for fact in month_facts:
            current = now.get(fact.case_id)
            facts.append(replace(fact, **{name: getattr(current, name) for name in _HANDLING}) if current else fact)
    return facts
