"""What a year's public reports may show, decided once for every calendar period so no two can be subtracted.

`release_year(tables, year, through, k)` takes tables of counts (cases by row and month) and
returns, for every calendar month, quarter and the year that ends by month `through`, which
counts may be published. All the tables and all the periods are one system of sums
(desk/reports/suppression.py): a quarter is its three months, the year its twelve, every
table counts the same cases. The decisions are made in calendar order, month by month:
January's counts, then February's, then March's with the first quarter's, ... and
December's with the fourth quarter's and the year's. A later step hides new counts around
what earlier steps published and never changes them, so the January report decided in
February is the January that the year's report shows, and every report of the year,
together, gives away no count under k (tests/test_report_disclosure.py plays the attacker).

The decisions depend only on the counts of the months decided, so a report computed again
from the same counts is the same report (desk/reports/snapshot.py keeps the counts of
published months fixed). To publish a new table, add a `CountTable` to those of the year.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

from .periods import Period, ending
from .suppression import Sums, suppress

TOTAL = "total"  # the table name of the period totals
Key = tuple[str, Hashable, Period]  # (table, row, period): one count a report may publish


@dataclass(frozen=True)
class CountTable:
    """Cases of one calendar year counted by row and month (1-12): one table a public report may show.

    Every table counts all the cases. `rows` is the order of the rows; a row is listed from
    its first case of the year on, a hidden count as HIDDEN and a zero as 0. With
    `free_text` (groups of what workers typed: brands, places), `rows` are the groups, a
    group is named only where its count is shown, and a case under a key that is not in
    `rows` (None: not given) is in no group and never shown.
    """

    name: str
    rows: tuple[Hashable, ...]
    counts: Mapping[tuple[Hashable, int], int]
    free_text: bool = False

    def count(self, row: Hashable, month: int) -> int:
        return self.counts.get((row, month), 0)

    def month_total(self, month: int) -> int:
        return sum(value for (_, m), value in self.counts.items() if m == month)


@dataclass
class Release:
    """The counts of every period of a year through a month, and which of them may be published."""

    year: int
    k: int
    through: int
    values: dict[Key, int] = field(default_factory=dict)
    hidden: set[Key] = field(default_factory=set)
    decisions: dict[int, dict[Key, bool]] = field(default_factory=dict)  # per month: what it decided, hidden or not

    def count(self, table: str, row: Hashable, period: Period) -> int | None:
        """The published count, None when it is hidden (or, for free text, not named)."""
        key = (table, row, period)
        if key not in self.values:
            return None
        return None if key in self.hidden else self.values[key]

    def is_hidden(self, table: str, row: Hashable, period: Period) -> bool:
        return (table, row, period) in self.hidden

    def total(self, period: Period) -> int | None:
        return self.count(TOTAL, TOTAL, period)

    def named(self, table: str, period: Period) -> list[tuple[Hashable, int]]:
        """The free-text rows shown for `period`, with their counts."""
        return [(row, value) for (name, row, p), value in self.values.items()
                if name == table and p == period and (name, row, p) not in self.hidden]


@dataclass(frozen=True)
class Recorded:
    """What the public reports of a year already published decided: their k, and per month its decisions."""

    k: int
    steps: Mapping[int, Mapping[Key, bool]]


def _listed_rows(table: CountTable, through: int, k: int) -> list[Hashable]:
    """The rows with their own unknowns at a step, from the counts of the months so far only.

    A row is listed from its first case in the year on (zeros are published, so an empty
    row tells nothing). A free-text group is one only with k cases in the year so far:
    before that every count of it is under k and nothing of it is published, so it is one
    unknown with the rest, which is what a reader sees of it.
    """
    so_far: dict[Hashable, int] = {}
    for (row, m), value in table.counts.items():
        if m <= through and value:
            so_far[row] = so_far.get(row, 0) + value
    if table.free_text:
        return [row for row in table.rows if so_far.get(row, 0) >= k]
    return [row for row in table.rows if row in so_far] + sorted((row for row in so_far if row not in table.rows), key=str)


# A step's decisions are a function of the counts of its months, the decisions before it and k: the desk's page
# and a run of reports compute the same early months again and again. Bounded, in this process only.
_STEPS: OrderedDict[str, dict[Key, bool]] = OrderedDict()
_STEPS_KEPT = 256
_STEPS_LOCK = threading.Lock()  # the desk answers pages on several threads


def _step_key(tables: Sequence[CountTable], year: int, step: int, k: int, decided: Mapping[Key, bool]) -> str:
    parts = [repr((year, step, k))]
    for table in tables:
        counts = sorted(((repr(row), m, n) for (row, m), n in table.counts.items() if m <= step and n))
        parts.append(repr((table.name, table.rows, table.free_text, counts)))
    parts.append(repr(sorted((repr(key), hidden) for key, hidden in decided.items())))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _periods_through(year: int, through: int) -> list[Period]:
    return [period for m in range(1, through + 1) for period in ending(year, m)]


def release_year(tables: Sequence[CountTable], year: int, through: int, k: int,
                 recorded: Mapping[int, Mapping[Key, bool]] | None = None) -> Release:
    """What may be published of `tables` for every calendar period of `year` that ends by month `through`.

    `recorded` holds, per month, the decisions of reports already published (a count
    missing from them was not published): they are taken as they are, not made again.
    """
    if not tables:
        raise ValueError("a release needs at least one table")
    if len({table.name for table in tables}) != len(tables) or TOTAL in {table.name for table in tables}:
        raise ValueError("table names must differ and not be 'total'")
    for m in range(1, through + 1):
        totals = {table.month_total(m) for table in tables}
        if len(totals) != 1:
            raise ValueError(f"the tables count different cases in month {m}: {sorted(totals)}")
    release = Release(year, k, through)
    decided: dict[Key, bool] = {}
    recorded = recorded or {}
    for step in range(1, through + 1):
        sums = Sums()
        atoms: dict[tuple[str, Hashable, int], int] = {}
        month_atoms: dict[tuple[str, int], list[int]] = {}
        for table in tables:
            listed = _listed_rows(table, step, k)
            for m in range(1, step + 1):
                members = month_atoms[(table.name, m)] = []
                for row in listed:
                    atoms[(table.name, row, m)] = sums.atom(table.count(row, m))
                    members.append(atoms[(table.name, row, m)])
                rest = table.month_total(m) - sum(table.count(row, m) for row in listed)
                if rest or table.free_text:
                    members.append(sums.atom(rest))  # what the table does not list
        first = tables[0].name
        for table in tables[1:]:
            for m in range(1, step + 1):
                sums.link(month_atoms[(table.name, m)], month_atoms[(first, m)])
        keys: list[Key] = []
        for period in _periods_through(year, step):
            keys.append((TOTAL, TOTAL, period))
            sums.item([a for m in period.months for a in month_atoms[(first, m)]])
            for table in tables:
                for row in _listed_rows(table, step, k):
                    keys.append((table.name, row, period))
                    sums.item([atoms[(table.name, row, m)] for m in period.months], listed=not table.free_text)
        new_periods = set(ending(year, step))
        new = [i for i, key in enumerate(keys) if key[2] in new_periods]

        def unseen(item: int, sums=sums) -> bool:
            # A count no earlier step decided: a row first listed now was 0 before (published, as every zero),
            # a group of free text that reached k cases only now had every earlier count under k (not named).
            return not (sums.listed[item] and sums.value(item) == 0)

        prior = {i: decided[key] if key in decided else unseen(i) for i, key in enumerate(keys) if key[2] not in new_periods}

        def cost(item: int, keys=keys, sums=sums) -> tuple:
            table, _, period = keys[item]
            # Keep totals, then the longer periods (what quarterly and annual reports are read for), then big counts.
            return (table == TOTAL, len(period.months), sums.value(item), item)

        if step in recorded:
            hidden = {i for i in new if (recorded[step][keys[i]] if keys[i] in recorded[step] else unseen(i))}
        else:
            memo = _step_key(tables, year, step, k, decided)
            with _STEPS_LOCK:
                known = _STEPS.get(memo)
                if known is not None:
                    _STEPS.move_to_end(memo)
            if known is not None:
                hidden = {i for i in new if known[keys[i]]}
            else:
                hidden = suppress(sums, k, new=new, decided=prior, cost=cost)
                with _STEPS_LOCK:
                    _STEPS[memo] = {keys[i]: i in hidden for i in new}
                    while len(_STEPS) > _STEPS_KEPT:
                        _STEPS.popitem(last=False)
        release.decisions[step] = {keys[i]: i in hidden for i in new}
        for i in new:
            decided[keys[i]] = i in hidden
            release.values[keys[i]] = sums.value(i)
            if i in hidden:
                release.hidden.add(keys[i])
    return release
