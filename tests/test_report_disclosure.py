"""Public pattern reports that cannot be subtracted, and internal reports that show every count (issue 20: 4 and 8).

The attacker here reads every public report a mechanism can publish for a year (each
calendar month, quarter and the year) as a reader would, from `report.json`, and puts
everything together in one integer program: every published count, every total, the
month columns, the rises against the previous period, the lines withheld and the lines
of the published list. Everything at once is more than any pair of reports gives, so a
count it cannot pin down cannot be pinned down from a pair either. For every count below
k that is really there (a category, channel, language, urgency or brand in a month), the
attacker must not be able to show that it is below k. The program is written here, apart
from the product's own linear programs (desk/reports/suppression.py).
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from datetime import date, timedelta

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from desk.reports.facts import CaseFacts, group_key
from desk.reports.build import build_report
from desk.reports.render import as_json, tables

CATEGORIES = ("wages", "hours", "safety", "harassment", "discrimination", "forced_labour", "child_labour",
              "association", "dismissal", "retaliation", "living_conditions", "environment_community", "other")
YEAR = 2026
K = 5


def month_end(year: int, month: int) -> date:
    return (date(year + (month == 12), month % 12 + 1, 1)) - timedelta(days=1)


def calendar_periods(year: int) -> list[tuple[str, date, date]]:
    """Every period a public report may cover in `year`: its months, its quarters, the year."""
    periods = [(f"{year}-{m:02d}", date(year, m, 1), month_end(year, m)) for m in range(1, 13)]
    periods += [(f"{year}-Q{q}", date(year, 3 * q - 2, 1), month_end(year, 3 * q)) for q in range(1, 5)]
    return periods + [(str(year), date(year, 1, 1), date(year, 12, 31))]


def fact(day: date, category="wages", channel="sms", language="en", urgent=False, brand=None, location=None,
         workplace=None, referral=False, status="received", case_id="") -> CaseFacts:
    return CaseFacts(
        received=day, category=category, urgent=urgent, channel=channel, language=language, status=status,
        location=group_key(location), location_label=location, workplace=group_key(workplace), workplace_label=workplace,
        brand=group_key(brand), brand_label=brand, acknowledged=None, concluded=None, referral_agreed=referral,
    )


def small_year(seed: int = 3, cases: int = 420) -> list[CaseFacts]:
    """A small mechanism's year (and the December before it): many counts under k in every table."""
    rng = random.Random(seed)
    weights = {"wages": 30, "hours": 18, "safety": 10, "harassment": 8, "dismissal": 6, "forced_labour": 3,
               "child_labour": 1, "retaliation": 2, "discrimination": 2}
    facts = []
    start = date(YEAR - 1, 12, 1)
    for _ in range(cases):
        day = start + timedelta(days=int(395 * rng.random()))
        facts.append(fact(
            day,
            category=rng.choices(list(weights), list(weights.values()))[0],
            channel=rng.choices(["whatsapp", "sms", "telegram", "messenger", "line"], [45, 30, 20, 3, 2])[0],
            language=rng.choices(["bn", "vi", "en", "my", "km"], [40, 30, 20, 6, 4])[0],
            urgent=rng.random() < 0.1,
            brand=rng.choices(["FastFashion", "Northwind Outdoor", "BlueLine", "Tiny Label", None], [20, 8, 3, 1, 30])[0],
            location=rng.choices(["Gazipur", "Ashulia", "Dhaka", None], [50, 30, 10, 5])[0],
            workplace=rng.choices(["Sunrise Garments Ltd", "Rahman Knitwear", "Lone Factory"], [10, 6, 1])[0],
            referral=rng.random() < 0.6,
        ))
    return facts


def public_report(facts, start: date, end: date, k: int = K):
    return build_report(facts, start=start, end=end, profile="public", categories=CATEGORIES, k=k, as_of=end)


def number(text) -> int | None:
    return int(text) if isinstance(text, str) and text.isdigit() else (text if isinstance(text, int) else None)


class Attacker:
    """Unknowns: the cases of each row of each table in each month; facts: what the reports published."""

    TABLES = ("category", "channel", "language", "urgency", "brand")

    def __init__(self, months: list[str], true: dict[tuple[str, str, str], int]) -> None:
        self.months = months
        self.true = true  # only to check that the attacker reads each figure as the report means it
        self.index: dict[tuple[str, str, str], int] = {}
        self.equations: list[tuple[dict[int, int], int]] = []

    def atom(self, table: str, row: str, month: str) -> int:
        return self.index.setdefault((table, row, month), len(self.index))

    def rows(self, table: str) -> set[str]:
        return {row for (name, row, _) in self.index if name == table}

    def publish(self, terms: list[tuple[str, str, str]], value: int) -> None:
        assert sum(self.true.get(term, 0) for term in terms) == value, ("a figure read wrongly", terms[:3], value)
        coefficients: dict[int, int] = defaultdict(int)
        for term in terms:
            coefficients[self.atom(*term)] += 1
        self.equations.append((dict(coefficients), value))

    def read(self, document: dict, previous_months: list[str] | None) -> None:
        period = [m for m in self.months if document["report"]["from"][:7] <= m <= document["report"]["to"][:7]]
        table = document["category_by_month"]
        categories = [row["category"] for row in table["rows"] if row["category"] != "total"]
        for row in table["rows"]:
            for month, value in zip(table["months"], row["cells"]):
                if value is None:
                    continue
                rows = categories if row["category"] == "total" else [row["category"]]
                self.publish([("category", r, month) for r in rows], value)
            if row["total"] is not None:
                rows = categories if row["category"] == "total" else [row["category"]]
                self.publish([("category", r, m) for r in rows for m in period], row["total"])
        for name, key in (("channel", "channels"), ("language", "languages"), ("urgency", "urgency")):
            for item in document[key]:
                self.atom(name, item["label"], period[0])
                if item["cases"] is not None:
                    self.publish([(name, item["label"], m) for m in period], item["cases"])
        for item in document["brands"]:
            self.publish([("brand", group_key(item["label"]), m) for m in period], item["cases"])
        withheld = number(document["lines_withheld"])
        if withheld is not None:
            hidden = [(row["category"], month) for row in table["rows"] if row["category"] != "total"
                      for month, value in zip(table["months"], row["cells"]) if value is None]
            self.publish([("category", c, m) for c, m in hidden], withheld)
        for rise in document["rises"]:
            if number(rise["cases"]) is not None:
                self.publish([("category", rise["category"], m) for m in period], number(rise["cases"]))
            if previous_months and number(rise["previous"]) is not None:
                self.publish([("category", rise["category"], m) for m in previous_months], number(rise["previous"]))
        for (month, category), lines in Counter((line["month"], line["category"]) for line in document["grievance_list"]).items():
            self.publish([("category", category, month)], lines)

    def solve_upper(self, target: tuple[str, str, str]) -> float:
        """The most cases the attacker cannot rule out at `target`, in whole numbers."""
        for table in self.TABLES:  # every table has a row for what it does not name
            for month in self.months:
                self.atom(table, "*rest*", month)
        target_index = self.atom(*target)
        n = len(self.index)
        rows, bounds = [], []
        for coefficients, value in self.equations:
            row = np.zeros(n)
            for i, c in coefficients.items():
                row[i] = c
            rows.append(row)
            bounds.append(value)
        for table in self.TABLES[1:]:  # the same cases in every table, month by month
            for month in self.months:
                row = np.zeros(n)
                for (name, r, m), i in self.index.items():
                    if m == month and name in ("category", table):
                        row[i] += 1 if name == "category" else -1
                rows.append(row)
                bounds.append(0)
        objective = np.zeros(n)
        objective[target_index] = -1
        result = milp(objective, constraints=LinearConstraint(np.array(rows), bounds, bounds),
                      integrality=np.ones(n), bounds=Bounds(0, 10_000))
        assert result.status == 0, result.message
        return -result.fun


def truth(facts: list[CaseFacts], months: list[str]) -> dict[tuple[str, str, str], int]:
    counts: Counter = Counter()
    for f in facts:
        if f.month in months:
            counts[("category", f.category, f.month)] += 1
            counts[("channel", f.channel, f.month)] += 1
            counts[("language", f.language, f.month)] += 1
            counts[("urgency", "urgent" if f.urgent else "not urgent", f.month)] += 1
            counts[("brand", f.brand or "*none*", f.month)] += 1
    return counts


# ---------------------------------------------------------------- finding 8: the internal report

def test_the_internal_report_shows_every_count_and_zeros_as_0():
    facts = [fact(date(2026, month, 10), category="wages") for month in range(1, 12) for _ in range(7)]
    facts += [fact(date(2026, 12, day), category="safety") for day in (1, 2, 3, 4)]  # December: 4 cases
    report = build_report(facts, start=date(2026, 1, 1), end=date(2026, 12, 7), profile="internal", categories=CATEGORIES)
    files = tables(report)
    assert "<" not in "".join(files.values()), "an internal report hides nothing"
    rows = {line.split(",")[0]: line.split(",")[1:] for line in files["category_by_month.csv"].splitlines()}
    assert rows["safety"][-2:] == ["4", "4"] and rows["wages"][-2:] == ["0", "77"]
    assert rows["total"][-2:] == ["4", "81"]
    document = json.loads(as_json(report))
    assert all(cell is not None for row in document["category_by_month"]["rows"] for cell in row["cells"])


# ---------------------------------------------------------------- finding 4: reports that can be subtracted

def test_a_public_report_covers_a_whole_calendar_month_quarter_or_year_only():
    facts = small_year()
    for start, end in ((date(2026, 1, 1), date(2026, 3, 30)), (date(2026, 1, 2), date(2026, 1, 31)),
                       (date(2026, 2, 1), date(2026, 4, 30)), (date(2026, 1, 1), date(2026, 6, 30))):
        with pytest.raises(ValueError, match="calendar month, quarter or year"):
            public_report(facts, start, end)


def test_the_attacker_learns_no_count_under_k_from_every_public_report_of_a_year():
    facts = small_year()
    months = [f"{YEAR}-{m:02d}" for m in range(1, 13)]
    attacker = Attacker([f"{YEAR - 1}-12", *months], truth(facts, [f"{YEAR - 1}-12", *months]))
    for label, start, end in calendar_periods(YEAR):
        document = json.loads(as_json(public_report(facts, start, end)))
        length = len([m for m in months if start.isoformat()[:7] <= m <= end.isoformat()[:7]])
        previous_end = start - timedelta(days=1)
        previous = [m for m in attacker.months if m <= previous_end.isoformat()[:7]][-length:] if length < 12 else None
        attacker.read(document, previous if previous and len(previous) == length else None)
    true = truth(facts, months)
    brands = {group_key(label) for label in attacker.rows("brand") if label != "*rest*"}
    checked, exposed = 0, []
    for (table, row, month), value in sorted(true.items()):
        if table == "brand" and row not in brands:
            continue  # never named: counted in the brand table's rest
        if 1 <= value < K:
            checked += 1
            upper = attacker.solve_upper((table, row, month))
            if upper < K:
                exposed.append((table, row, month, value, upper))
    assert checked > 40, "the year has small counts to protect"
    assert not exposed, f"{len(exposed)} counts under {K} pinned below {K}, e.g. {exposed[:5]}"


def attack(facts, periods, k=K):
    """What the attacker pins below k from the public reports of `periods` (label, first day, last day)."""
    months = sorted({f"{YEAR}-{m:02d}" for _, start, end in periods for m in range(start.month, end.month + 1)})
    attacker = Attacker(months, truth(facts, months))
    for _, start, end in periods:
        attacker.read(json.loads(as_json(public_report(facts, start, end, k))), None)
    return [(key, value, upper) for key, value in sorted(truth(facts, months).items())
            if key[0] != "brand" and 1 <= value < k and (upper := attacker.solve_upper(key)) < k]


def test_a_quarter_minus_two_of_its_months_gives_nothing_away():
    # January and February large, March one case of child labour: Q1 - January - February = March.
    facts = [fact(date(2026, 1, 5 + i % 20), category=c) for i, c in enumerate(["wages"] * 30 + ["hours"] * 12)]
    facts += [fact(date(2026, 2, 3 + i % 20), category=c) for i, c in enumerate(["wages"] * 25 + ["hours"] * 9)]
    facts += [fact(date(2026, 3, 4 + i % 20), category=c) for i, c in enumerate(["wages"] * 28 + ["hours"] * 10 + ["child_labour"])]
    quarter = [calendar_periods(2026)[i] for i in (0, 1, 2, 12)]
    assert attack(facts, quarter) == []
    assert attack(facts, quarter[:3]) == [] and attack(facts, quarter[3:]) == []


def test_a_report_whose_every_count_is_small_does_not_give_the_total_in_its_residual_row():
    facts = [fact(date(2026, 5, 3), category="wages", location="Gazipur"),
             fact(date(2026, 5, 9), category="harassment", location="Ashulia"),
             fact(date(2026, 5, 20), category="wages", location=None)]
    report = public_report(facts, date(2026, 5, 1), date(2026, 5, 31))
    files = tables(report)
    published = [cell for text in files.values() for line in text.splitlines()[1:] for cell in line.split(",")[1:]]
    assert "3" not in published, files["places.csv"]
    assert not any(cell.isdigit() and 0 < int(cell) < K for cell in published), published


def test_the_list_holds_groups_of_k_or_more_and_the_places_and_companies_add_up_what_it_names():
    facts = small_year(seed=5, cases=900)
    for label, start, end in calendar_periods(YEAR):
        document = json.loads(as_json(public_report(facts, start, end)))
        lines = document["grievance_list"]
        groups = Counter((line["month"], line["category"], line["place"], line["company"]) for line in lines)
        assert all(n >= K for n in groups.values()), (label, [g for g, n in groups.items() if n < K][:3])
        named_places = Counter(line["place"] for line in lines if line["place"] != "-")
        places = {item["label"]: item["cases"] for item in document["places"]}
        other = places.pop("(other places, or not given)", 0)
        assert places == dict(named_places), label
        total = document["category_by_month"]["rows"][-1]["total"]
        if total is None:
            assert other is None and number(document["lines_withheld"]) is None, label
        else:
            assert other == total - sum(named_places.values()) and (other == 0 or other >= K), label
            assert len(lines) + number(document["lines_withheld"]) == total
        companies = Counter(line["company"] for line in lines if line["company"])
        assert {item["label"]: item["cases"] for item in document["workplaces"]} == dict(companies), label


def test_a_category_rises_from_nothing_in_the_first_period_and_only_between_published_counts():
    facts = [fact(date(2026, 1, 3 + i % 20), category="wages") for i in range(12)]
    facts += [fact(date(2026, 1, 4 + i % 20), category="hours") for i in range(7)]
    facts += [fact(date(2026, 1, 5), category="safety") for _ in range(3)]
    facts += [fact(date(2026, 2, 3 + i % 20), category=c) for i, c in enumerate(["wages"] * 14 + ["hours"] * 2 + ["safety"] * 9)]
    january = public_report(facts, date(2026, 1, 1), date(2026, 1, 31))
    hidden = {january.by_category_month.rows[i] for i, _ in january.by_category_month.hidden_cells}
    assert hidden == {"safety", "hours"}, "the 3 safety cases and the smallest count beside them"
    assert [(r.category, r.count, r.previous) for r in january.rises] == [("wages", 12, 0)]  # December had none
    february = public_report(facts, date(2026, 2, 1), date(2026, 2, 28))
    # Safety rose from 3 to 9, but January's 3 is hidden: saying that it rose would say something about it.
    assert [(r.category, r.count, r.previous) for r in february.rises] == [("wages", 14, 12)]
