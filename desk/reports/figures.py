"""The figures of a pattern report, from the facts of the cases, for one period and one profile.

Two profiles. `internal`, for the mechanism's own staff, shows every count as it is (zeros
as 0), for any period. `public` is what may be published (desk/reports/public.py): only
for a whole calendar month, quarter or year, with the counts decided once for all the
periods of the year so that no report, and no set of reports, gives away a count under k.

Everything here is computed from `CaseFacts` and an `as_of` day given by the caller (never
the clock), so the same facts and arguments give the same report, byte for byte.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from .facts import CaseFacts
from .periods import Period
from .referral_figures import ReferralFacts, ReferralFigures, referral_figures
from .release import Release
from .suppression import HIDDEN, ProtectedTable, exact_counts, exact_table
from .words import ENGLISH_WORDS, N_, Words

if TYPE_CHECKING:
    from .referral_public import PublicReferralFigures

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
    """Everything a report shows; in the public profile, what is hidden is marked so."""

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
    by_status: ProtectedTable | None  # public: None when no status can be shown
    places: list[NamedCount]
    places_other: int | None  # cases at places not named, None when none
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
    period: Period | None = None  # public: the calendar period
    total_hidden: bool = False  # public: the period's total is not published, nor anything that would give it
    releases: dict[int, Release] = field(default_factory=dict)  # public: the decisions of each year used
    worker_view: ProtectedTable | None = None  # did it help? answers of the period (desk/reports/outcome.py)
    referrals: ReferralFigures | PublicReferralFigures | None = None  # referrals to companies; None: not asked for
    by_story: ProtectedTable | None = None  # internal: written reports and voice reports, counted apart

    @property
    def public(self) -> bool:
        return self.profile == "public"

    def count_text(self, value: int) -> str:
        """A single published count: in the public profile hidden from 1 to k-1, and all hidden with the total."""
        if self.public and (self.total_hidden or 0 < value < self.k):
            return HIDDEN
        return str(value)

    def timing_text(self, timing: Timing, which: str, _: Words = ENGLISH_WORDS) -> str:
        value = getattr(timing, which)
        if value is None or (self.public and (self.total_hidden or timing.cases < self.k)):
            return _("not enough cases")
        days = f"{value:g}"
        return _("%(days)s days", days=days)

    def share_text(self, promise: Promise, _: Words = ENGLISH_WORDS) -> str:
        if promise.share is None or (self.public and (self.total_hidden or promise.due < self.k)):
            return _("not enough cases")
        if self.public:  # the number of cases due would be a count of the last days' cases
            return f"{round(100 * promise.share)}%"
        return _("%(percent)s%% of %(due)s", percent=round(100 * promise.share), due=promise.due)

    def referred_text(self, _: Words = ENGLISH_WORDS) -> str:
        """The period's cases referred to a company: not in a public report, where they could be subtracted across
        periods (the public referral figures are in `referrals`, desk/reports/referral_public.py)."""
        return _("not published") if self.public else str(self.referred)

    def places_other_text(self) -> str:
        return HIDDEN if self.public and self.total_hidden else str(self.places_other or 0)


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


def timing(days: list[int]) -> Timing:
    return Timing(len(days), _median(days), _percentile(days, 0.9))


def named(groups: dict[str, list[str]], minimum: int = 1) -> list[NamedCount]:
    """Free-text groups with at least `minimum` cases, biggest first, each under its most common label."""
    shown = [NamedCount(label_of(labels), len(labels)) for labels in groups.values() if len(labels) >= minimum]
    return sorted(shown, key=lambda item: (-item.count, item.label.casefold()))


def label_of(labels: list[str]) -> str:
    """The label a group is shown under: the most common way it was typed (the first of equals by its letters)."""
    counts = Counter(labels)
    return min(counts, key=lambda label: (-counts[label], label.casefold(), label))


def group(facts: Iterable[CaseFacts], key: str) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for fact in facts:
        name = getattr(fact, key)
        if name is not None:
            groups.setdefault(name, []).append(getattr(fact, key + "_label"))
    return groups


@dataclass
class ListedCases:
    """The published list, how many cases it leaves out, and the places and companies it names (group: labels)."""

    lines: list[ListLine]
    withheld: int
    places: dict[str, list[str]]
    companies: dict[str, list[str]]


def grievance_list(facts: list[CaseFacts], shown_cells: set[tuple[str, str]] | None, country: str, k: int) -> ListedCases:
    """The published list of the cases.

    Internal (`shown_cells` None): every case, its place and the company where the worker
    agreed. Public: only the cases of the (category, month) counts that are shown, and in
    each such count a district only where k or more of its lines share it (else the
    country, for all of them when the rest would be fewer than k), and within a place a
    company only where every company named and the lines naming none are 0 or k or more.
    A place or company is written the way most of its lines in the count typed it.
    """
    public = shown_cells is not None
    cells: dict[tuple[str, str], list[CaseFacts]] = {}
    for fact in facts:
        cells.setdefault((fact.category, fact.month), []).append(fact)
    listed = ListedCases([], 0, {}, {})
    for (category, month), members in sorted(cells.items(), key=lambda item: (item[0][1], item[0][0])):
        if public and (category, month) not in shown_cells:
            listed.withheld += len(members)
            continue
        places = Counter(fact.location for fact in members)
        big = {place for place, n in places.items() if place is not None and (n >= k or not public)}
        if public and 0 < len(members) - sum(places[place] for place in big) < k:
            big = set()  # the few at other places would stand out: the whole count shows the country only
        by_place: dict[str | None, list[CaseFacts]] = {}
        for fact in members:
            by_place.setdefault(fact.location if fact.location in big else None, []).append(fact)
        for place, at_place in by_place.items():
            place_label = label_of([fact.location_label for fact in at_place]) if place is not None else country
            companies = Counter(fact.workplace if fact.referral_agreed else None for fact in at_place)
            if public and any(0 < n < k for n in companies.values()):
                companies = Counter()  # one company, or the lines naming none, would be a small group: name none here
            company_labels = {company: label_of([f.workplace_label for f in at_place if f.referral_agreed and f.workplace == company])
                              for company in companies if company is not None}
            for fact in at_place:
                company = fact.workplace if fact.referral_agreed and fact.workplace in company_labels else None
                line = ListLine(month, place_label, category, company_labels[company] if company else "", fact.status)
                listed.lines.append(line)
                if place is not None:
                    listed.places.setdefault(place, []).append(place_label)
                if company is not None:
                    listed.companies.setdefault(company, []).append(line.company)
    listed.lines.sort(key=lambda line: (line.month, line.category, line.place, line.company, line.status))
    return listed


@dataclass(frozen=True)
class Handling:
    """What the mechanism did with the period's cases: its timings, promises, overdue and referred counts."""

    acknowledge: Timing
    conclude: Timing
    acknowledged_on_time: Promise
    feedback_on_time: Promise
    overdue_acknowledgement: int
    overdue_feedback: int
    referred: int
    statuses: Counter


def handling(facts: list[CaseFacts], as_of: date, acknowledge_within_days: int, feedback_within_days: int) -> Handling:
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
    return Handling(timing(acknowledged_days), timing(concluded_days), Promise(len(ack_due), len(ack_kept)),
                    Promise(len(fb_due), len(fb_kept)), overdue_ack, overdue_fb, sum(f.referred for f in facts),
                    Counter(fact.status for fact in facts))


def row_orders(settings) -> dict:
    """The order of the rows of a report's tables, from the deployment (rows with no case are left out)."""
    from bot.config import CHANNEL_TYPES

    return {"categories": settings.flow.categories, "languages": settings.deployment.languages,
            "channels": tuple(channel for channel in CHANNEL_TYPES if channel != "console")}


INTERNAL_NOTE = N_("Internal: do not publish. Every count is shown, however small.")
COMPANY_NOTE = N_("The list names a company only where the worker agreed that the company may be told.")
REFERRAL_NOTE = N_("Referrals count in the period they were made; one is answered once the desk recorded the company's answer, "
                   "overdue when none came by the day the company was asked to answer by.")


def build_internal(
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
    channels: Sequence[str] = (),
    languages: Sequence[str] = (),
    recorded: dict | None = None,
    referrals: Iterable[ReferralFacts] | None = None,
) -> Report:
    """The internal report of the cases received from `start` to `end` (both included): every
    count exact (`build.build_report` chooses between this and the public one)."""
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
    shown_categories = tuple(c for c in categories if c in present) + tuple(sorted(present - set(categories)))
    shown_categories = shown_categories or tuple(categories[:1])
    matrix = Counter((fact.category, fact.month) for fact in facts)
    cells = [[matrix.get((category, month), 0) for month in months] for category in shown_categories]
    done = handling(facts, as_of, acknowledge_within_days, feedback_within_days)
    current = Counter(fact.category for fact in facts)
    rises = [Rise(category, current[category], previous.get(category, 0)) for category in shown_categories
             if current[category] > previous.get(category, 0)]
    listed = grievance_list(facts, None, country or "-", k)

    def one_way(values: Counter, order: Sequence[str]) -> ProtectedTable:
        labels = [label for label in order if values.get(label)] + sorted(set(values) - set(order))
        labels = labels or list(order)[:1]
        return exact_counts([values.get(label, 0) for label in labels], labels)

    return Report(
        profile=profile, start=start, end=end, as_of=as_of, k=k, country=country or "-", months=months,
        categories=shown_categories, by_category_month=exact_table(cells, shown_categories, months),
        by_channel=one_way(Counter(fact.channel for fact in facts), channels or ["sms"]),
        by_language=one_way(Counter(fact.language for fact in facts), languages or ["en"]),
        by_urgency=one_way(Counter("urgent" if fact.urgent else "not urgent" for fact in facts), ["urgent", "not urgent"]),
        by_status=one_way(done.statuses, STATUS_ORDER),
        by_story=one_way(Counter(fact.story for fact in facts), ["text", "voice"]),
        places=named(group(facts, "location")), places_other=sum(1 for f in facts if f.location is None) or None,
        workplaces=named(group(facts, "workplace"), 2), brands=named(group(facts, "brand"), 2),
        acknowledge=done.acknowledge, conclude=done.conclude, acknowledged_on_time=done.acknowledged_on_time,
        feedback_on_time=done.feedback_on_time, overdue_acknowledgement=done.overdue_acknowledgement,
        overdue_feedback=done.overdue_feedback, referred=done.referred, rises=rises,
        grievance_list=listed.lines, lines_withheld=listed.withheld,
        acknowledge_within_days=acknowledge_within_days, feedback_within_days=feedback_within_days,
        notes=[INTERNAL_NOTE, COMPANY_NOTE]
        + ([REFERRAL_NOTE] if referrals is not None else []),
        referrals=None if referrals is None else referral_figures(referrals, start=start, end=end, as_of=as_of),
    )
