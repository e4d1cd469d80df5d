"""Referrals in a public report: figures that no set of public reports can subtract, like the counts of cases.

What is published, for a calendar month, quarter or year: the referrals whose day to answer
(`respond_by`, written in the referral the company got) fell in the period, by what the
company sent by that day: an answer promising remediation, an answer without such a
promise, or no answer. Once the period is over, each of them is settled, so the counts of a
month never change with the day a report is made. They are one table (`referral_year_table`,
referrals by row and month) released for the whole year by the same method as the cases
(desk/reports/release.py: one system of sums for every month, quarter and the year, decided
once in calendar order); they are a release of their own because they count referrals, not
cases. The median days to an answer given by the day asked is shown only when both counts
of answers are published and add up to k or more.

Not published: the referrals *made* in a period. Made in one month, due in a month or two
later: two systems tied by the days companies are given would let a reader bound one by the
other (all January's referrals are due in February or March), which neither release checks.
Nor what is waiting or overdue on a given day, which changes from day to day.

A company's answer is often recorded days after it came. So, like the months of cases
(desk/reports/snapshot.py), the first public report that rests on a month records its counts,
the days of its answers and its decisions (table `report_referral_months`, sealed with the
store key); later public reports take the month from the record, and an answer recorded after
that counts in internal reports only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import Column, Integer, LargeBinary, MetaData, String, Table, insert, select
from sqlalchemy.exc import IntegrityError

from desk.operator_store import OperatorStore, serialize
from storage import crypto

from .periods import Period
from .referral_figures import ReferralFacts
from .release import TOTAL, CountTable, Key, Release, release_year
from .suppression import HIDDEN
from .words import ENGLISH_WORDS, Words

TABLE = "referral answers"
ROWS = ("answered, remediation promised", "answered, no remediation promised", "not answered")

_metadata = MetaData()
report_referral_months = Table(
    "report_referral_months", _metadata,
    Column("month", String(7), primary_key=True),  # "2026-03": the referrals due in that month
    Column("k", Integer, nullable=False),
    Column("sealed", LargeBinary, nullable=False),  # {"counts": [...], "days": [...], "decisions": [[table, row, period, hidden]]}
)


class ReferralRecordError(ValueError):
    """A public report whose referral months another report recorded meanwhile."""


@dataclass(frozen=True)
class DueMonth:
    """The referrals whose day to answer fell in one month, counted by what came by that day."""

    counts: tuple[int, int, int] = (0, 0, 0)  # in the order of ROWS
    days: tuple[int, ...] = ()  # from the referral to each answer given by the day asked, sorted


@dataclass(frozen=True)
class RecordedReferrals:
    """What public reports already published of a year's referrals: k, and per month its counts and decisions."""

    k: int
    months: Mapping[int, DueMonth]
    steps: Mapping[int, Mapping[Key, bool]]


def due_months(facts: Iterable[ReferralFacts], year: int) -> dict[int, DueMonth]:
    """Per month of `year`, the referrals due in it, as the facts say now."""
    counts: dict[int, list[int]] = {}
    days: dict[int, list[int]] = {}
    for fact in facts:
        if fact.respond_by.year != year:
            continue
        month = fact.respond_by.month
        answered = fact.answered_on is not None and fact.answered_on <= fact.respond_by
        promise = fact.promise_day
        row = 0 if answered and promise is not None and promise <= fact.respond_by else 1 if answered else 2
        counts.setdefault(month, [0, 0, 0])[row] += 1
        if answered:
            days.setdefault(month, []).append((fact.answered_on - fact.referred_on).days)
    return {month: DueMonth(tuple(values), tuple(sorted(days.get(month, [])))) for month, values in counts.items()}


def referral_year_table(months: Mapping[int, DueMonth]) -> CountTable:
    """The table of the year that public reports show: referrals by what came by their day, and the month it fell in."""
    return CountTable(TABLE, ROWS, {(ROWS[i], month): n for month, due in months.items() for i, n in enumerate(due.counts) if n})


def _median(values: list[int]) -> float:
    ordered, middle = sorted(values), len(values) // 2
    return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@dataclass(frozen=True)
class PublicReferralFigures:
    """The referral figures of one public report, and the year's release they come from (to be recorded)."""

    period: Period
    k: int
    release: Release
    months: dict[int, DueMonth] = field(default_factory=dict)  # every month of the year through the period's last

    def count_text(self, row: str) -> str:
        key = (TOTAL, TOTAL, self.period) if row == TOTAL else (TABLE, row, self.period)
        if key not in self.release.values:
            return "0"  # a row with no referral in the year so far
        return HIDDEN if key in self.release.hidden else str(self.release.values[key])

    def median_text(self, _: Words = ENGLISH_WORDS) -> str:
        answered = [self.release.count(TABLE, row, self.period) for row in ROWS[:2]]
        days = [day for month in self.period.months for day in self.months.get(month, DueMonth()).days]
        if any(self.count_text(row) == HIDDEN for row in ROWS[:2]) or sum(n or 0 for n in answered) < self.k or not days:
            return _("not published")
        median = format(_median(days), "g")
        return _("%(days)s days", days=median)

    def rows(self, _: Words = ENGLISH_WORDS) -> list[tuple[str, str]]:
        """(measure, value) lines for the report's table of referrals and performance.csv (in English)."""
        return [
            (_("referrals whose day to answer fell in the period"), self.count_text(TOTAL)),
            (_("answered by that day, promising remediation"), self.count_text(ROWS[0])),
            (_("answered by that day, without promising remediation"), self.count_text(ROWS[1])),
            (_("not answered by that day"), self.count_text(ROWS[2])),
            (_("days to an answer given by that day, median"), self.median_text(_)),
        ]


def public_referral_figures(facts: Iterable[ReferralFacts], period: Period, k: int,
                            recorded: RecordedReferrals | None) -> PublicReferralFigures:
    """The public figures of `period`: recorded months as recorded, the others from the facts as they are."""
    live = due_months(facts, period.year)
    months = {}
    for month in range(1, period.last + 1):
        if recorded is not None and month in recorded.steps:
            months[month] = recorded.months.get(month, DueMonth())
        elif month in live:
            months[month] = live[month]
    steps = recorded.steps if recorded is not None else None
    release = release_year([referral_year_table(months)], period.year, period.last, k, steps)
    return PublicReferralFigures(period, k, release, months)


class ReferralRecord:
    """The referral months public reports rest on, in the operator store."""

    def __init__(self, store: OperatorStore) -> None:
        self.store = store
        self.loaded: set[str] = set()
        with store.engine.begin() as connection:
            serialize(connection, "schema")
            _metadata.create_all(connection)

    def _id(self, month: str) -> str:
        return f"report-referral-month:{month}"

    def load(self, year: int) -> RecordedReferrals | None:
        """The recorded months of `year`, None when none is."""
        months: dict[int, DueMonth] = {}
        steps: dict[int, dict[Key, bool]] = {}
        k = None
        with self.store.engine.connect() as connection:
            rows = connection.execute(select(report_referral_months)
                                      .where(report_referral_months.c.month.like(f"{year:04d}-%"))).all()
        for month, k, sealed in rows:
            self.loaded.add(month)
            opened = json.loads(crypto.decrypt_store_record(self.store.key, self._id(month), sealed))
            months[int(month[5:])] = DueMonth(tuple(opened["counts"]), tuple(opened["days"]))
            steps[int(month[5:])] = {(table, row, Period.parse(period)): hidden for table, row, period, hidden in opened["decisions"]}
        return RecordedReferrals(k, months, steps) if rows else None

    def record(self, figures: PublicReferralFigures) -> list[str]:
        """Keep every month of `figures`' release that is not kept yet; the months newly kept."""
        release, added = figures.release, []
        try:
            with self.store.engine.begin() as connection:
                serialize(connection, "report_referral_months")
                kept = set(connection.execute(select(report_referral_months.c.month)).scalars())
                for step in range(1, release.through + 1):
                    month = f"{release.year:04d}-{step:02d}"
                    if month in kept and month not in self.loaded:
                        raise ReferralRecordError(f"the referrals of {month} were published by another report meanwhile: "
                                                  "make this one again")
                    if month in kept:
                        continue
                    due = figures.months.get(step, DueMonth())
                    document = {
                        "counts": list(due.counts), "days": list(due.days),
                        "decisions": sorted(([table, row, period.label, hidden]
                                             for (table, row, period), hidden in release.decisions[step].items()),
                                            key=lambda item: (item[0], str(item[1]), item[2])),
                    }
                    sealed = crypto.encrypt_store_record(self.store.key, self._id(month), json.dumps(document).encode())
                    connection.execute(insert(report_referral_months).values(month=month, k=release.k, sealed=sealed))
                    added.append(month)
        except IntegrityError:
            raise ReferralRecordError("another public report was recorded at the same time: make this one again") from None
        return added
