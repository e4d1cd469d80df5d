"""The figures of a pattern report, from the facts of the cases, for one period and one profile.

Two profiles. `internal` shows every count and says "internal: do not publish". `public`
applies disclosure control (desk/reports/suppression.py): counts under k hidden with
enough others hidden that none can be worked out from the totals; free-text groups
(places, workplaces, brands) shown only when every shown count is at least k; the
mechanism's own timings only when they rest on at least k cases; the published list of
grievances without any line that falls in a hidden count, and with the district or the
company only where at least k lines share it.

Everything here is computed from `CaseFacts` and an `as_of` day given by the caller (never
the clock), so the same store and arguments give the same report, byte for byte.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from .facts import CaseFacts
from .suppression import HIDDEN, ProtectedTable, protect, protect_counts

PROFILES = ("internal", "public")
STATUS_ORDER = ("received", "acknowledged", "in_review", "in_dialogue", "resolved", "closed")


@dataclass(frozen=True)
class Timing:
    """Days from receipt to a step, over the cases that reached it."""

    cases: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class Promise:
    """How often the mechanism kept one of its promises: of `due` cases whose date has come, `kept` on time."""

    due: int
    kept: int

    @property
    def share(self) -> float | None:
        return self.kept / self.due if self.due else None


@dataclass(frozen=True)
class NamedCount:
    """A free-text group (a workplace, a brand, a place) and its count; `label` as first typed."""

    label: str
    count: int


@dataclass(frozen=True)
class Rise:
    """A category with more cases than in the previous period of the same length."""

    category: str
    count: int
    previous: int


@dataclass(frozen=True)
class ListLine:
    """One line of the published grievance list: never free text, never a date finer than the month."""

    month: str
    place: str
    category: str
    company: str
    status: str


@dataclass
class Report:
    """Everything a report shows; `protected` tables know what they must hide."""

    profile: str
    start: date
    end: date
    as_of: date
    k: int
    country: str
    months: tuple[str, ...]
    categories: tuple[str, ...]
    by_category_month: ProtectedTable
    by_channel: ProtectedTable
    by_language: ProtectedTable
    by_urgency: ProtectedTable
    by_status: ProtectedTable
    places: list[NamedCount]
    places_other: int | None  # cases at places not shown (public), None when none
    workplaces: list[NamedCount]
    brands: list[NamedCount]
    acknowledge: Timing
    conclude: Timing
    acknowledged_on_time: Promise
    feedback_on_time: Promise
    overdue_acknowledgement: int
    overdue_feedback: int
    referred: int
    rises: list[Rise]
    grievance_list: list[ListLine]
    lines_withheld: int
    acknowledge_within_days: int
    feedback_within_days: int
    notes: list[str] = field(default_factory=list)

    @property
    def public(self) -> bool:
        return self.profile == "public"

    def count_text(self, value: int) -> str:
        """A single published count: hidden under k in the public profile."""
        return HIDDEN.format(k=self.k) if self.public and value < self.k else str(value)

    def timing_text(self, timing: Timing, which: str) -> str:
        value = getattr(timing, which)
        if value is None or (self.public and timing.cases < self.k):
            return "not enough cases"
        return f"{value:g} days"

    def share_text(self, promise: Promise) -> str:
        if promise.share is None or (self.public and promise.due < self.k):
            return "not enough cases"
        return f"{round(100 * promise.share)}% of {promise.due}"


def months_between(start: date, end: date) -> tuple[str, ...]:
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(months)


def _percentile(values: Sequence[int], share: float) -> float | None:
    """The nearest-rank percentile (a day count someone actually waited), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(share * len(ordered)) - 1)])


def _median(values: Sequence[int]) -> float | None:
    if not values:
        return None
    ordered, middle = sorted(values), len(values) // 2
    return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _timing(days: list[int]) -> Timing:
    return Timing(len(days), _median(days), _percentile(days, 0.9))


def _one_way(counter: Counter, order: Iterable[str], k: int, public: bool) -> ProtectedTable:
    labels = [label for label in order if counter.get(label)] or list(order)[:1]
    counts = [counter.get(label, 0) for label in labels]
    return protect_counts(counts, k if public else 1, labels)


def _named(groups: dict[str, list[str]], k: int, public: bool, minimum: int = 1) -> list[NamedCount]:
    """Free-text groups with at least `minimum` cases (k in the public profile), biggest first."""
    floor = max(minimum, k) if public else minimum
    shown = [NamedCount(Counter(labels).most_common(1)[0][0], len(labels)) for labels in groups.values() if len(labels) >= floor]
    return sorted(shown, key=lambda item: (-item.count, item.label.casefold()))


def _group(facts: Iterable[CaseFacts], key: str) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for fact in facts:
        group = getattr(fact, key)
        if group is not None:
            groups.setdefault(group, []).append(getattr(fact, key + "_label"))
    return groups


def _places(facts: list[CaseFacts], k: int, public: bool) -> tuple[list[NamedCount], int | None]:
    """Places with enough cases; in public, the rest together, itself at least k (or nothing)."""
    groups = _group(facts, "location")
    if not public:
        return _named(groups, k, False), None
    shown = _named(groups, k, True)
    other = len(facts) - sum(item.count for item in shown)
    while shown and 0 < other < k:  # the remainder would be a small count: fold the smallest shown place into it
        other += shown.pop().count
    return shown, (other or None)


def _grievance_list(
    facts: list[CaseFacts], table: ProtectedTable, country: str, k: int, public: bool
) -> tuple[list[ListLine], int]:
    """The published list and how many cases it leaves out (those in hidden counts)."""
    months, categories = table.columns, table.rows
    hidden = {(categories[i], months[j]) for i, j in table.hidden_cells} if public else set()
    cells: dict[tuple[str, str], list[CaseFacts]] = {}
    for fact in facts:
        cells.setdefault((fact.category, fact.month), []).append(fact)
    lines, withheld = [], 0
    for (category, month), members in sorted(cells.items(), key=lambda item: (item[0][1], item[0][0])):
        if (category, month) in hidden:
            withheld += len(members)
            continue
        places = Counter(fact.location for fact in members)
        companies = Counter(fact.workplace for fact in members if fact.referral_agreed)
        if public:
            big = {place for place, n in places.items() if place is not None and n >= k}
            rest = len(members) - sum(places[place] for place in big)
            if 0 < rest < k:
                big = set()  # the few at other places would stand out: the whole cell shows the country only
            named = {company for company, n in companies.items() if company is not None and n >= k}
        else:
            big = {place for place in places if place is not None}
            named = {company for company in companies if company is not None}
        for fact in members:
            place = fact.location_label if fact.location in big else country
            company = fact.workplace_label if fact.referral_agreed and fact.workplace in named else ""
            lines.append(ListLine(month, place or country, category, company or "", fact.status))
    lines.sort(key=lambda line: (line.month, line.category, line.place, line.company, line.status))
    return lines, withheld


def build_report(
    all_facts: Iterable[CaseFacts],
    *,
    start: date,
    end: date,
    profile: str,
    categories: Sequence[str],
    k: int = 5,
    as_of: date | None = None,
    country: str = "",
    acknowledge_within_days: int = 7,
    feedback_within_days: int = 90,
) -> Report:
    """The report of the cases received from `start` to `end` (both included) under `profile`."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}")
    if end < start:
        raise ValueError("the period ends before it starts")
    public = profile == "public"
    as_of = as_of or end
    length = (end - start).days + 1
    previous_start = start - timedelta(days=length)
    facts, previous = [], Counter()
    for fact in all_facts:
        if start <= fact.received <= end:
            facts.append(fact)
        elif previous_start <= fact.received < start:
            previous[fact.category] += 1
    months = months_between(start, end)
    present = {fact.category for fact in facts}
    shown_categories = tuple(c for c in categories if c in present) or tuple(categories[:1])
    matrix = Counter((fact.category, fact.month) for fact in facts)
    cells = [[matrix.get((category, month), 0) for month in months] for category in shown_categories]
    threshold = k if public else 1
    by_category_month = protect(cells, threshold, shown_categories, months)

    acknowledged_days = [(fact.acknowledged - fact.received).days for fact in facts if fact.acknowledged]
    concluded_days = [(fact.concluded - fact.received).days for fact in facts if fact.concluded]
    ack_due = [fact for fact in facts if fact.received + timedelta(days=acknowledge_within_days) <= as_of or fact.acknowledged]
    ack_kept = [fact for fact in ack_due
                if fact.acknowledged and (fact.acknowledged - fact.received).days <= acknowledge_within_days]
    fb_due = [fact for fact in facts if fact.received + timedelta(days=feedback_within_days) <= as_of or fact.concluded]
    fb_kept = [fact for fact in fb_due if fact.concluded and (fact.concluded - fact.received).days <= feedback_within_days]
    overdue_ack = sum(1 for fact in facts if fact.acknowledged is None and fact.status == "received"
                      and fact.received + timedelta(days=acknowledge_within_days) < as_of)
    overdue_fb = sum(1 for fact in facts if fact.concluded is None and fact.status not in ("resolved", "closed")
                     and fact.received + timedelta(days=feedback_within_days) < as_of)

    current = Counter(fact.category for fact in facts)
    rises = [Rise(category, current[category], previous.get(category, 0)) for category in categories
             if current[category] > previous.get(category, 0) and (not public or current[category] >= k)]
    places, places_other = _places(facts, k, public)
    repeated = 2  # a workplace or brand "recurs" with two cases; published only from k
    grievance_list, withheld = _grievance_list(facts, by_category_month, country or "-", k, public)
    notes = []
    if public:
        notes.append(f"Counts under {k} are not shown (\"<{k}\"), and some other counts are hidden with them so that "
                     "none can be worked out from the totals. Places, workplaces and brands are named only where "
                     f"{k} or more cases share them; timings and shares are given only when {k} or more cases count.")
    else:
        notes.append("Internal: do not publish. Every count is shown, however small.")
    notes.append("The list names a company only where the worker agreed that the company may be told. The companies' "
                 "answers to referrals are not recorded by the desk yet.")
    return Report(
        profile=profile, start=start, end=end, as_of=as_of, k=k, country=country or "-", months=months,
        categories=shown_categories, by_category_month=by_category_month,
        by_channel=_one_way(Counter(fact.channel for fact in facts), sorted({f.channel for f in facts}) or ["sms"], k, public),
        by_language=_one_way(Counter(fact.language for fact in facts), sorted({f.language for f in facts}) or ["en"], k, public),
        by_urgency=_one_way(Counter("urgent" if fact.urgent else "not urgent" for fact in facts), ["urgent", "not urgent"], k, public),
        by_status=_one_way(Counter(fact.status for fact in facts), STATUS_ORDER, k, public),
        places=places, places_other=places_other,
        workplaces=_named(_group(facts, "workplace"), k, public, repeated),
        brands=_named(_group(facts, "brand"), k, public, repeated),
        acknowledge=_timing(acknowledged_days), conclude=_timing(concluded_days),
        acknowledged_on_time=Promise(len(ack_due), len(ack_kept)), feedback_on_time=Promise(len(fb_due), len(fb_kept)),
        overdue_acknowledgement=overdue_ack, overdue_feedback=overdue_fb, referred=sum(f.referred for f in facts), rises=rises,
        grievance_list=grievance_list, lines_withheld=withheld,
        acknowledge_within_days=acknowledge_within_days, feedback_within_days=feedback_within_days, notes=notes,
    )
