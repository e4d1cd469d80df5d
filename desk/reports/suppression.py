"""Disclosure control for published counts: no count under k, and none that can be worked out.

A published table of counts can name a worker: "1 case of harassment at factory X in
March". Statistical offices hide every count under a threshold k (primary suppression),
and then hide enough other counts (complementary, or secondary, suppression) that no
hidden count can be recovered from the row and column totals that are still shown.

Here a table is a set of counts tied by equations (each row's cells add up to the
row total, each column's to the column total, the totals to the grand total). A hidden
count is safe when the published counts and the equations leave it a range of possible
values, not one: its feasible interval, over non-negative values, has a width above
zero. `protect` hides every count under k, then adds complementary suppressions until
every hidden count is safe, which it checks with a linear program for each one
(scipy's HiGHS). Adding a suppression only ever widens the intervals, so the loop ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

# Counts shown as this text instead of their value; the report says what it means.
HIDDEN = "<{k}"


@dataclass(frozen=True)
class ProtectedTable:
    """A two-way table of counts with its margins, and which of them may be published.

    `cells[i][j]` is the count of row i and column j; `row_totals`, `column_totals` and
    `total` are the margins. `hidden_*` mark what must not be published (shown as "<k").
    A one-way table is a table with one column whose column total is the grand total.
    """

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: tuple[tuple[int, ...], ...]
    row_totals: tuple[int, ...]
    column_totals: tuple[int, ...]
    total: int
    hidden_cells: frozenset[tuple[int, int]]
    hidden_rows: frozenset[int]
    hidden_columns: frozenset[int]
    hidden_total: bool
    k: int
    one_way: bool = False

    def shown(self, value: int, hidden: bool) -> str:
        return HIDDEN.format(k=self.k) if hidden else str(value)

    def cell_text(self, i: int, j: int) -> str:
        return self.shown(self.cells[i][j], (i, j) in self.hidden_cells)

    def row_total_text(self, i: int) -> str:
        return self.shown(self.row_totals[i], i in self.hidden_rows)

    def column_total_text(self, j: int) -> str:
        return self.shown(self.column_totals[j], j in self.hidden_columns)

    def total_text(self) -> str:
        return self.shown(self.total, self.hidden_total)

    def published(self) -> dict[str, int]:
        """Every published count by its place ("cell:i:j", "row:i", "column:j", "total")."""
        values = {f"cell:{i}:{j}": self.cells[i][j] for i in range(len(self.rows)) for j in range(len(self.columns))
                  if (i, j) not in self.hidden_cells}
        values.update({f"row:{i}": self.row_totals[i] for i in range(len(self.rows)) if i not in self.hidden_rows})
        values.update({f"column:{j}": self.column_totals[j] for j in range(len(self.columns)) if j not in self.hidden_columns})
        if not self.hidden_total:
            values["total"] = self.total
        return values


class _System:
    """The table as unknowns and equations: item 0..n-1 are the cells, then row totals, column totals, total."""

    def __init__(self, cells: Sequence[Sequence[int]], one_way: bool = False) -> None:
        if one_way:  # a list of counts and its total: one equation
            counts = [row[0] for row in cells]
            self.n_rows, self.n_columns = len(counts), 1
            self.values = [*counts, sum(counts)]
            self.row_base = self.column_base = self.total_item = len(counts)
            self.equations = [[(i, 1) for i in range(len(counts))] + [(self.total_item, -1)]]
            return
        self.n_rows = len(cells)
        self.n_columns = len(cells[0]) if cells else 0
        r, c = self.n_rows, self.n_columns
        row_totals = [sum(row) for row in cells]
        column_totals = [sum(cells[i][j] for i in range(r)) for j in range(c)]
        self.values = [value for row in cells for value in row] + row_totals + column_totals + [sum(row_totals)]
        self.row_base, self.column_base, self.total_item = r * c, r * c + r, r * c + r + c
        equations: list[list[tuple[int, int]]] = []
        for i in range(r):
            equations.append([(i * c + j, 1) for j in range(c)] + [(self.row_base + i, -1)])
        for j in range(c):
            equations.append([(i * c + j, 1) for i in range(r)] + [(self.column_base + j, -1)])
        equations.append([(self.row_base + i, 1) for i in range(r)] + [(self.total_item, -1)])
        equations.append([(self.column_base + j, 1) for j in range(c)] + [(self.total_item, -1)])
        self.equations = equations

    def cell(self, i: int, j: int) -> int:
        return i * self.n_columns + j

    def interval(self, target: int, hidden: set[int]) -> tuple[float, float]:
        """The least and the greatest value item `target` can take, given every item not in `hidden`."""
        unknowns = sorted(hidden)
        position = {item: index for index, item in enumerate(unknowns)}
        a_eq, b_eq = [], []
        for equation in self.equations:
            if not any(item in position for item, _ in equation):
                continue
            row = np.zeros(len(unknowns))
            known = 0.0
            for item, sign in equation:
                if item in position:
                    row[position[item]] += sign
                else:
                    known += sign * self.values[item]
            a_eq.append(row)
            b_eq.append(-known)
        objective = np.zeros(len(unknowns))
        objective[position[target]] = 1.0
        bounds = [(0, None)] * len(unknowns)
        low = linprog(objective, A_eq=a_eq or None, b_eq=b_eq or None, bounds=bounds, method="highs")
        high = linprog(-objective, A_eq=a_eq or None, b_eq=b_eq or None, bounds=bounds, method="highs")
        lowest = low.fun if low.status == 0 else 0.0
        highest = float("inf") if high.status == 3 else (-high.fun if high.status == 0 else lowest)
        return lowest, highest

    def equations_with(self, item: int) -> list[list[tuple[int, int]]]:
        return [equation for equation in self.equations if any(member == item for member, _ in equation)]


def _complement(system: _System, item: int, hidden: set[int], k: int) -> int | None:
    """The published item to hide beside `item`: in an equation `item` is in, the one that costs least.

    Cells before totals (a total is worth more to readers); then a cell whose other lines
    already hold a hidden count, which closes a cycle instead of opening new lines that need
    their own complement; then the smallest count, so as little as possible is lost. A zero
    cannot move down, so it helps only as a last resort.
    """
    candidates = []
    for equation in system.equations_with(item):
        for member, _ in equation:
            if member in hidden:
                continue
            opens = sum(
                1 for other in system.equations_with(member)
                if other is not equation and not any(m in hidden for m, _ in other)
            )
            is_total = member >= system.row_base
            value = system.values[member]
            candidates.append((is_total, opens, value == 0, value, member))
    return min(candidates)[-1] if candidates else None


def protect_counts(counts: Sequence[int], k: int, labels: Sequence[str]) -> ProtectedTable:
    """A one-way table (counts and their total) protected like `protect`: one column, "count"."""
    return protect([[count] for count in counts], k, labels, ("count",), one_way=True)


def protect(
    cells: Sequence[Sequence[int]], k: int, rows: Sequence[str], columns: Sequence[str], *, one_way: bool = False
) -> ProtectedTable:
    """The table with every count under `k` hidden, and enough others hidden that none can be recovered."""
    if k < 1:
        raise ValueError("k must be at least 1")
    system = _System(cells, one_way)
    hidden = {item for item, value in enumerate(system.values) if value < k}
    unsafe = set(hidden)
    while unsafe:
        # Fast rule first: an equation with exactly one hidden member gives that member away.
        changed = True
        while changed:
            changed = False
            for equation in system.equations:
                members = [member for member, _ in equation if member in hidden]
                if len(members) == 1:
                    extra = _complement(system, members[0], hidden, k)
                    if extra is not None:
                        hidden.add(extra)
                        unsafe.add(extra)
                        changed = True
        # Then the exact check: each hidden count must keep a range of possible values.
        still = set()
        for item in sorted(unsafe):
            low, high = system.interval(item, hidden)
            if high - low <= 1e-9:
                still.add(item)
        if not still:
            break
        item = min(still)
        extra = _complement(system, item, hidden, k)
        if extra is None:  # nothing left to hide beside it: every count of its lines is hidden already
            extra = next((other for other in range(len(system.values)) if other not in hidden), None)
            if extra is None:
                break
        hidden.add(extra)
        unsafe = still | {extra}
    r, c = system.n_rows, system.n_columns
    if one_way:
        return ProtectedTable(
            rows=tuple(rows), columns=tuple(columns), cells=tuple((int(row[0]),) for row in cells),
            row_totals=tuple(int(row[0]) for row in cells), column_totals=(system.values[system.total_item],),
            total=system.values[system.total_item],
            hidden_cells=frozenset((i, 0) for i in range(r) if i in hidden),
            hidden_rows=frozenset(i for i in range(r) if i in hidden),
            hidden_columns=frozenset({0}) if system.total_item in hidden else frozenset(),
            hidden_total=system.total_item in hidden, k=k, one_way=True,
        )
    return ProtectedTable(
        rows=tuple(rows),
        columns=tuple(columns),
        cells=tuple(tuple(int(value) for value in row) for row in cells),
        row_totals=tuple(system.values[system.row_base + i] for i in range(r)),
        column_totals=tuple(system.values[system.column_base + j] for j in range(c)),
        total=system.values[system.total_item],
        hidden_cells=frozenset((i, j) for i in range(r) for j in range(c) if system.cell(i, j) in hidden),
        hidden_rows=frozenset(i for i in range(r) if system.row_base + i in hidden),
        hidden_columns=frozenset(j for j in range(c) if system.column_base + j in hidden),
        hidden_total=system.total_item in hidden,
        k=k,
    )


def intervals(table: ProtectedTable) -> dict[str, tuple[float, float]]:
    """The feasible interval of every hidden count of `table`, from what it publishes (for checks)."""
    system = _System(table.cells, table.one_way)
    c = system.n_columns
    if table.one_way:
        hidden = {i for i, _ in table.hidden_cells} | ({system.total_item} if table.hidden_total else set())
        names = {item: ("total" if item == system.total_item else f"cell:{item}:0") for item in hidden}
        return {names[item]: system.interval(item, hidden) for item in hidden}
    hidden = {i * c + j for i, j in table.hidden_cells}
    hidden |= {system.row_base + i for i in table.hidden_rows}
    hidden |= {system.column_base + j for j in table.hidden_columns}
    if table.hidden_total:
        hidden.add(system.total_item)
    names = {}
    for item in hidden:
        if item < system.row_base:
            names[item] = f"cell:{item // c}:{item % c}"
        elif item < system.column_base:
            names[item] = f"row:{item - system.row_base}"
        elif item < system.total_item:
            names[item] = f"column:{item - system.column_base}"
        else:
            names[item] = "total"
    return {names[item]: system.interval(item, hidden) for item in hidden}
