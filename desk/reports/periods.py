"""The periods a public report may cover: a whole calendar month, quarter or year.

Public figures of different periods are made to fit together (desk/reports/release.py),
and that is only possible for a fixed set of periods: two reports of any days, such as
1 January to 31 March and 1 January to 30 March, differ by one day, and the difference of
two published counts is a count nobody checked. Months nest in quarters and quarters in
the year; `ending` lists what a month completes, in the order their figures are decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


class PeriodError(ValueError):
    """A public report asked for a period that is not a whole calendar month, quarter or year."""


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month (`first` == `last`), quarter (three months) or year of `year`; months are 1-12."""

    year: int
    first: int
    last: int

    @property
    def kind(self) -> str:
        return {1: "month", 3: "quarter", 12: "year"}[self.last - self.first + 1]

    @property
    def months(self) -> tuple[int, ...]:
        return tuple(range(self.first, self.last + 1))

    @property
    def start(self) -> date:
        return date(self.year, self.first, 1)

    @property
    def end(self) -> date:
        following = date(self.year + 1, 1, 1) if self.last == 12 else date(self.year, self.last + 1, 1)
        return following - timedelta(days=1)

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.year}-{self.first:02d}"
        return f"{self.year}-Q{self.last // 3}" if self.kind == "quarter" else str(self.year)

    @classmethod
    def parse(cls, label: str) -> Period:
        """The period of a label: "2026-03", "2026-Q1" or "2026"."""
        year, _, rest = label.partition("-")
        if not rest:
            return cls(int(year), 1, 12)
        if rest.startswith("Q"):
            quarter = int(rest[1:])
            return cls(int(year), 3 * quarter - 2, 3 * quarter)
        return month(int(year), int(rest))

    def previous(self) -> Period:
        """The period of the same kind just before (December of the year before for January)."""
        if self.kind == "year":
            return Period(self.year - 1, 1, 12)
        size = self.last - self.first + 1
        if self.first == 1:
            return Period(self.year - 1, 13 - size, 12)
        return Period(self.year, self.first - size, self.first - 1)


def month(year: int, number: int) -> Period:
    return Period(year, number, number)


def ending(year: int, number: int) -> list[Period]:
    """The periods that month `number` completes: the month, its quarter when it ends one, the year in December."""
    periods = [month(year, number)]
    if number % 3 == 0:
        periods.append(Period(year, number - 2, number))
    if number == 12:
        periods.append(Period(year, 1, 12))
    return periods


def public_period(start: date, end: date) -> Period:
    """The calendar period from `start` to `end`, or PeriodError naming what is allowed."""
    if start.day == 1 and start.year == end.year:
        for size in (1, 3, 12):
            if (start.month - 1) % size == 0:
                candidate = Period(start.year, start.month, start.month + size - 1)
                if candidate.end == end:
                    return candidate
    raise PeriodError("a public report covers a whole calendar month, quarter or year "
                      "(e.g. 2026-03-01..2026-03-31, 2026-01-01..2026-03-31, 2026-01-01..2026-12-31)")
