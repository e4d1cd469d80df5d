"""Disclosure control for published counts: none under k, and none that can be worked out to be under k.

A published count can name a worker: "1 case of harassment at factory X in March". So a
count from 1 to k-1 is never published (primary suppression), and more counts are hidden
with it (complementary, or secondary, suppression) until nothing published, alone or
together, shows that a small group is small.

A reader's view is a `Sums`: unknown counts (atoms: the cases of one row of one table in
one month) and the sums of them that may be published (items: a cell, a row total, a
month's or a quarter's total...), plus facts every reader knows (links: every table counts
the same cases, so the rows of each table add up to the same month total). Zeros are
published: a zero names nobody, and a hidden count of a listed row is then known to be at
least 1, which the check below takes into account. Rows of free text (brands, places)
are listed only where their count is shown; one that is not listed may be zero.

The rule (`suppress`): for every atom with 1 to k-1 cases, the published items and the
links must allow k or more cases there. It is checked with a linear program per atom
(scipy's HiGHS): the greatest value the atom can take. When it is under k, the program's
dual names the published items that hold it down; the cheapest of those that may still
change is hidden, and the atom is checked again. Hiding an item only ever widens what is
possible, so an atom once safe stays safe and the loop ends. Items decided before (an
earlier report) are never changed: new items are hidden around them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix, vstack

# A count that is not published; the report says what it means.
HIDDEN = "[c]"
_TOLERANCE = 1e-6


@dataclass
class Sums:
    """Atoms (their true values), items (the atoms each adds up) and links (two sets of atoms with equal sums)."""

    atoms: list[int] = field(default_factory=list)
    items: list[tuple[int, ...]] = field(default_factory=list)
    listed: list[bool] = field(default_factory=list)  # a hidden listed item is known to be at least 1
    links: list[tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)

    def atom(self, value: int) -> int:
        self.atoms.append(int(value))
        return len(self.atoms) - 1

    def item(self, atoms: Iterable[int], *, listed: bool = True) -> int:
        self.items.append(tuple(atoms))
        self.listed.append(listed)
        return len(self.items) - 1

    def link(self, left: Iterable[int], right: Iterable[int]) -> None:
        self.links.append((tuple(left), tuple(right)))

    def value(self, item: int) -> int:
        return sum(self.atoms[atom] for atom in self.items[item])


class _Components:
    """Atoms tied together by published items, hidden listed items or links: a program needs only one of them."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, atom: int) -> int:
        while self.parent[atom] != atom:
            self.parent[atom] = self.parent[self.parent[atom]]
            atom = self.parent[atom]
        return atom

    def join(self, atoms: Sequence[int]) -> None:
        for other in atoms[1:]:
            a, b = self.find(atoms[0]), self.find(other)
            if a != b:
                self.parent[b] = a


class _Programs:
    """The linear programs of a reader who sees the items of `shown` and knows the hidden listed ones are at least 1."""

    def __init__(self, sums: Sums, shown: set[int], hidden: set[int]) -> None:
        self.sums = sums
        # (item, atoms, signs, value); item -1 is a link (left minus right is 0)
        self.equalities = [(item, sums.items[item], [1.0] * len(sums.items[item]), sums.value(item))
                           for item in sorted(shown) if sums.items[item]]
        self.equalities += [(-1, left + right, [1.0] * len(left) + [-1.0] * len(right), 0) for left, right in sums.links if left]
        self.at_least_one = [sums.items[item] for item in sorted(hidden) if sums.listed[item] and sums.items[item]]
        self.components = _Components(len(sums.atoms))
        for _, members, _, _ in self.equalities:
            self.components.join(members)
        for members in self.at_least_one:
            self.components.join(members)
        self.built: dict[int, tuple] = {}

    def _build(self, root: int) -> tuple:
        atoms = [a for a in range(len(self.sums.atoms)) if self.components.find(a) == root]
        column = {atom: index for index, atom in enumerate(atoms)}
        rows, columns, data, b_eq, items = [], [], [], [], []
        for item, members, signs, value in self.equalities:
            if members[0] in column:
                rows += [len(b_eq)] * len(members)
                columns += [column[m] for m in members]
                data += signs
                b_eq.append(value)
                items.append(item)
        a_eq = csr_matrix((data, (rows, columns)), shape=(len(b_eq), len(atoms))) if b_eq else None
        r, c, count = [], [], 0
        for members in self.at_least_one:
            if members[0] in column:
                r += [count] * len(members)
                c += [column[m] for m in members]
                count += 1
        a_ub = csr_matrix(([-1.0] * len(r), (r, c)), shape=(count, len(atoms))) if count else None
        self.built[root] = (atoms, column, a_eq, b_eq or None, items, a_ub, [-1.0] * count if count else None)
        return self.built[root]

    def reaching(self, pending: Sequence[int], k: int) -> set[int]:
        """Atoms of `pending` shown to reach k by one possible table per component (max of the sum of min(atom, k))."""
        found: set[int] = set()
        by_root: dict[int, list[int]] = {}
        for atom in pending:
            by_root.setdefault(self.components.find(atom), []).append(atom)
        for root, targets in by_root.items():
            if len(targets) < 2:
                continue
            atoms, column, a_eq, b_eq, _, a_ub, b_ub = self.built.get(root) or self._build(root)
            n, m = len(atoms), len(targets)
            # Unknowns: the atoms, then one capped copy per target (copy <= atom, copy <= k).
            caps = csr_matrix(([1.0] * m + [-1.0] * m, (list(range(m)) * 2, [n + i for i in range(m)] + [column[t] for t in targets])),
                              shape=(m, n + m))

            def widen(matrix, n=n, m=m):
                return None if matrix is None else csr_matrix((matrix.data, matrix.indices, matrix.indptr),
                                                              shape=(matrix.shape[0], n + m))

            upper = caps if a_ub is None else vstack([widen(a_ub), caps]).tocsr()
            objective = np.concatenate([np.zeros(n), -np.ones(m)])
            result = linprog(objective, A_ub=upper, b_ub=[*(b_ub or []), *([0.0] * m)], A_eq=widen(a_eq), b_eq=b_eq,
                             bounds=[(0, None)] * n + [(0, k)] * m, method="highs")
            if result.status == 0:
                found |= {t for t in targets if result.x[column[t]] >= k - _TOLERANCE}
        return found

    def upper(self, target: int) -> tuple[float, list[int], dict[int, float]]:
        """The greatest value atom `target` can take, the shown items that hold it there (the dual), and a solution."""
        root = self.components.find(target)
        atoms, column, a_eq, b_eq, items, a_ub, b_ub = self.built.get(root) or self._build(root)
        objective = np.zeros(len(atoms))
        objective[column[target]] = -1.0
        result = linprog(objective, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        if result.status == 3:  # unbounded: nothing holds it
            return float("inf"), [], {}
        if result.status != 0:
            raise RuntimeError(f"disclosure check failed: {result.message}")
        marginals = result.eqlin.marginals if b_eq else []
        binding = [items[i] for i, m in enumerate(marginals) if abs(m) > _TOLERANCE and items[i] >= 0]
        return -result.fun, binding, dict(zip(atoms, result.x))


def suppress(
    sums: Sums,
    k: int,
    *,
    new: Sequence[int],
    decided: Mapping[int, bool] | None = None,
    cost: Callable[[int], tuple] | None = None,
) -> set[int]:
    """The hidden items: every decided one that was hidden, and those of `new` that must be.

    `decided` maps items of earlier reports to whether they were hidden; they are never
    changed. Among `new`, a count from 1 to k-1 is hidden, and then, while some atom with
    1 to k-1 cases could not be k or more, the cheapest new item that holds it down is
    hidden too (`cost`, lowest first; by default the smallest count).
    """
    if k < 2:
        raise ValueError("k must be at least 2")
    decided = dict(decided or {})
    cost = cost or (lambda item: (sums.value(item), item))
    hidden = {item for item, was_hidden in decided.items() if was_hidden}
    for item in new:
        value = sums.value(item)
        if 0 < value < k or (value == 0 and not sums.listed[item]):
            hidden.add(item)  # a zero of a free-text row is simply not listed
    changeable = set(new)
    touched = {atom for item in new for atom in sums.items[item]}
    for left, right in sums.links:  # an atom tied by a link to a new item can be pinned through it
        if touched & set(left + right):
            touched |= set(left + right)
    pending = sorted(atom for atom in touched if 0 < sums.atoms[atom] < k)
    published = set(decided) | set(new)
    programs = _Programs(sums, published - hidden, hidden)
    batch = True
    while pending:
        if batch:  # one program proves most safe counts at once; those left are checked one by one
            proven = programs.reaching(pending, k)
            pending = [atom for atom in pending if atom not in proven]
            batch = False
            if not pending:
                break
        atom = pending[0]
        highest, binding, solution = programs.upper(atom)
        if highest >= k - _TOLERANCE:
            # The solution is a possible table: every small count that reaches k in it is safe as well.
            pending = [other for other in pending[1:] if solution.get(other, float("inf")) < k - _TOLERANCE]
            continue
        shown = published - hidden
        candidates = [item for item in binding if item in changeable and item not in hidden and sums.value(item) >= k]
        if not candidates:  # the dual named only fixed items: hide any new item of the atom's component
            candidates = [item for item in shown & changeable if sums.value(item) >= k]
        if not candidates:
            raise RuntimeError("disclosure check: a small count cannot be protected")  # earlier reports were unsafe
        hidden.add(min(candidates, key=cost))
        programs = _Programs(sums, published - hidden, hidden)
        batch = True
    return hidden


@dataclass(frozen=True)
class ProtectedTable:
    """A two-way table of counts with its margins, and which of them may be published.

    `cells[i][j]` is the count of row i and column j; `row_totals`, `column_totals` and
    `total` are the margins. `hidden_*` mark what must not be published (shown as HIDDEN).
    A one-way table is a table with one column whose column total is the grand total.
    An internal table hides nothing.
    """

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: tuple[tuple[int, ...], ...]
    row_totals: tuple[int, ...]
    column_totals: tuple[int, ...]
    total: int
    hidden_cells: frozenset[tuple[int, int]] = frozenset()
    hidden_rows: frozenset[int] = frozenset()
    hidden_columns: frozenset[int] = frozenset()
    hidden_total: bool = False
    one_way: bool = False

    def shown(self, value: int, hidden: bool) -> str:
        return HIDDEN if hidden else str(value)

    def cell_text(self, i: int, j: int) -> str:
        return self.shown(self.cells[i][j], (i, j) in self.hidden_cells)

    def row_total_text(self, i: int) -> str:
        return self.shown(self.row_totals[i], i in self.hidden_rows)

    def column_total_text(self, j: int) -> str:
        return self.shown(self.column_totals[j], j in self.hidden_columns)

    def total_text(self) -> str:
        return self.shown(self.total, self.hidden_total)

    @property
    def hides_anything(self) -> bool:
        return bool(self.hidden_cells or self.hidden_rows or self.hidden_columns or self.hidden_total)


def exact_table(cells: Sequence[Sequence[int]], rows: Sequence[str], columns: Sequence[str]) -> ProtectedTable:
    """Every count shown (the internal profile)."""
    row_totals = tuple(sum(row) for row in cells)
    column_totals = tuple(sum(cells[i][j] for i in range(len(rows))) for j in range(len(columns)))
    return ProtectedTable(tuple(rows), tuple(columns), tuple(tuple(int(v) for v in row) for row in cells),
                          row_totals, column_totals, sum(row_totals))


def exact_counts(counts: Sequence[int], labels: Sequence[str]) -> ProtectedTable:
    """A one-way table with every count shown."""
    total = sum(counts)
    return ProtectedTable(tuple(labels), ("count",), tuple((int(c),) for c in counts), tuple(int(c) for c in counts),
                          (total,), total, one_way=True)


def protect_counts(counts: Sequence[int], k: int, labels: Sequence[str], *, total_hidden: bool) -> ProtectedTable:
    """A one-way table of one report, its total published or not as decided elsewhere, protected by `suppress`.

    A total from 1 to k-1 is hidden whatever was decided.
    """
    total_hidden = total_hidden or 0 < sum(counts) < k
    sums = Sums()
    atoms = [sums.atom(count) for count in counts]
    items = [sums.item([atom]) for atom in atoms]
    total = sums.item(atoms)
    hidden = suppress(sums, k, new=items, decided={total: total_hidden})
    table = exact_counts(counts, labels)
    rows = frozenset(i for i, item in enumerate(items) if item in hidden)
    return ProtectedTable(table.rows, table.columns, table.cells, table.row_totals, table.column_totals, table.total,
                          hidden_cells=frozenset((i, 0) for i in rows), hidden_rows=rows,
                          hidden_columns=frozenset({0}) if total_hidden else frozenset(), hidden_total=total_hidden,
                          one_way=True)
