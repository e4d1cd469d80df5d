"""The public profile of a pattern report: what may be published, the same in every report of a year.

A public report covers a whole calendar month, quarter or year (desk/reports/periods.py).
The counts about the workers' cases (by category and month, channel, language, urgency,
brand, and the totals) come from one release of the whole year (desk/reports/release.py),
so the figures of any reports of the year, put together, give away no count under k.

The rest follows from those counts and adds nothing to them:
- the published list holds only the cases of the (category, month) counts that are shown,
  with a district or a company only where k or more of the count's lines share it; the
  places and the companies (workplaces) tables add up what the list names, and "other
  places, or not given" is the rest, shown with the total;
- the categories that rose are those whose count and whose count in the previous period
  are both shown;
- what the mechanism did (where the cases stand, its timings, its promises kept, what is
  overdue, what it referred) is given for the period's cases only when the period's total
  is shown, with counts under k hidden and shares without the number of cases they are of.

The referrals to companies and how the companies answered are counts of referrals, not of
cases: a release of their own by the same method (desk/reports/referral_public.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import date

from .facts import CaseFacts
from .figures import (
    COMPANY_NOTE, STATUS_ORDER, NamedCount, Report, Rise, grievance_list, handling, label_of, months_between,
)
from .periods import Period, month, public_period
from .referral_figures import ReferralFacts
from .referral_public import RecordedReferrals, public_referral_figures
from .release import TOTAL, CountTable, Recorded, Release, release_year
from .suppression import HIDDEN, ProtectedTable, protect_counts
from .words import ENGLISH_WORDS, N_, Words



class KError(ValueError):
    """A public report asked for another k than its year was published with."""


def year_tables(facts: Iterable[CaseFacts], *, categories: Sequence[str], channels: Sequence[str],
                languages: Sequence[str]) -> list[CountTable]:
    """The tables of counts a public report shows, from the facts of one year (to add a table, add it here)."""
    facts = list(facts)

    def counts(key) -> dict[tuple[Hashable, int], int]:
        return dict(Counter((key(fact), fact.received.month) for fact in facts))

    brands = sorted({fact.brand for fact in facts if fact.brand is not None})
    return [
        CountTable("category", tuple(categories), counts(lambda f: f.category)),
        CountTable("channel", tuple(channels), counts(lambda f: f.channel)),
        CountTable("language", tuple(languages), counts(lambda f: f.language)),
        CountTable("urgency", ("urgent", "not urgent"), counts(lambda f: "urgent" if f.urgent else "not urgent")),
        CountTable("brand", tuple(brands), counts(lambda f: f.brand), free_text=True),
    ]


def _rows(release: Release, table: str, period: Period, order: Sequence[Hashable]) -> list[Hashable]:
    present = {row for (name, row, p) in release.values if name == table and p == period}
    return [row for row in order if row in present] + sorted((row for row in present if row not in order), key=str)


def _category_table(release: Release, period: Period, order: Sequence[str]) -> ProtectedTable:
    rows = _rows(release, "category", period, order)
    months = [month(period.year, m) for m in period.months]
    cells, hidden_cells = [], set()
    for i, row in enumerate(rows):
        cells.append(tuple(release.values.get(("category", row, m), 0) for m in months))
        hidden_cells |= {(i, j) for j, m in enumerate(months) if release.is_hidden("category", row, m)}
    return ProtectedTable(
        rows=tuple(rows), columns=tuple(m.label for m in months), cells=tuple(cells),
        row_totals=tuple(release.values[("category", row, period)] for row in rows),
        column_totals=tuple(release.values[(TOTAL, TOTAL, m)] for m in months),
        total=release.values[(TOTAL, TOTAL, period)],
        hidden_cells=frozenset(hidden_cells),
        hidden_rows=frozenset(i for i, row in enumerate(rows) if release.is_hidden("category", row, period)),
        hidden_columns=frozenset(j for j, m in enumerate(months) if release.is_hidden(TOTAL, TOTAL, m)),
        hidden_total=release.is_hidden(TOTAL, TOTAL, period),
    )


def _one_way(release: Release, table: str, period: Period, order: Sequence[str]) -> ProtectedTable:
    rows = _rows(release, table, period, order)
    values = [release.values[(table, row, period)] for row in rows]
    hidden = frozenset(i for i, row in enumerate(rows) if release.is_hidden(table, row, period))
    return ProtectedTable(
        rows=tuple(str(row) for row in rows), columns=("count",), cells=tuple((v,) for v in values),
        row_totals=tuple(values), column_totals=(sum(values),), total=sum(values),
        hidden_cells=frozenset((i, 0) for i in hidden), hidden_rows=hidden,
        hidden_columns=frozenset({0}) if release.is_hidden(TOTAL, TOTAL, period) else frozenset(),
        hidden_total=release.is_hidden(TOTAL, TOTAL, period), one_way=True,
    )


def _status_table(statuses: Counter, k: int, total_hidden: bool) -> ProtectedTable | None:
    """Where the period's cases stand, or None when no status can be shown without giving a small one away."""
    if total_hidden:  # nothing of the period's cases is published without its total
        return None
    try:
        return protect_counts([statuses.get(status, 0) for status in STATUS_ORDER], k, STATUS_ORDER, total_hidden=False)
    except RuntimeError:  # the total is published and every status is small: hiding them all would still pin them
        return None


def _named_counts(groups: dict[str, list[str]]) -> list[NamedCount]:
    items = [NamedCount(label_of(labels), len(labels)) for labels in groups.values()]
    return sorted(items, key=lambda item: (-item.count, item.label.casefold()))


REFERRAL_NOTE = N_("Referrals: those whose day to answer fell in the period, by what the company sent by that day, decided "
                   "with the same rule for every public report of the year. An answer recorded after its month was published "
                   "counts in internal reports only. How many referrals were made in a period is not published.")
RULE_NOTE = N_("%(hidden)s: not published. Counts from 1 to %(below_k)s are not published, and some larger ones are hidden "
               "with them, so that no count under %(k)s can be worked out from this report or from any other public "
               "report of the same year (every calendar month, quarter and the year; their figures are decided together "
               "and never changed). A zero is published. Places, workplaces and brands are named only where %(k)s or more "
               "cases share them; timings and shares are given only when %(k)s or more cases count.")


def rule_note(k: int, _: Words = ENGLISH_WORDS) -> str:
    """What a public report hides and why (its first note; the report's JSON keeps it in English)."""
    return _(RULE_NOTE, hidden=HIDDEN, below_k=k - 1, k=k)


def build_public(all_facts: Iterable[CaseFacts], *, start: date, end: date, categories: Sequence[str], k: int,
                 as_of: date, country: str, acknowledge_within_days: int, feedback_within_days: int,
                 channels: Sequence[str], languages: Sequence[str], recorded: Mapping[int, Recorded],
                 referrals: Iterable[ReferralFacts] | None = None, referral_record: RecordedReferrals | None = None) -> Report:
    """The public report of a calendar period; `recorded` and `referral_record` hold what was already published."""
    period = public_period(start, end)
    for kept in (recorded.get(period.year), referral_record):
        if kept is not None and kept.k != k:
            raise KError(f"{period.year} was published with k = {kept.k}: every report of a year keeps its k")
    previous = period.previous()
    by_year: dict[int, list[CaseFacts]] = {period.year: [], previous.year: []}
    for fact in all_facts:
        if fact.received.year in by_year and fact.received <= end:
            by_year[fact.received.year].append(fact)
    country = country or "-"
    orders = {"categories": categories, "channels": channels, "languages": languages}
    releases: dict[int, Release] = {}
    for year, through in sorted({previous.year: previous.last, period.year: period.last}.items()):
        tables = year_tables((f for f in by_year[year] if f.received.month <= through), **orders)
        kept = recorded.get(year)
        releases[year] = release_year(tables, year, through, kept.k if kept else k, kept.steps if kept else None)
    release, before = releases[period.year], releases[previous.year]
    facts = [fact for fact in by_year[period.year] if start <= fact.received <= end]
    total_hidden = release.is_hidden(TOTAL, TOTAL, period)
    table = _category_table(release, period, categories)
    shown_cells = {(row, table.columns[j]) for i, row in enumerate(table.rows) for j in range(len(table.columns))
                   if (i, j) not in table.hidden_cells}
    listed = grievance_list(facts, shown_cells, country, k)
    places, companies = _named_counts(listed.places), _named_counts(listed.companies)
    rises = []
    for category in table.rows:
        now = release.count("category", category, period)
        # No case of it at all before: nothing of the row was listed, and a zero is published.
        then = before.count("category", category, previous) if ("category", category, previous) in before.values else 0
        if now is not None and then is not None and now > then:
            rises.append(Rise(category, now, then))
    done = handling(facts, as_of, acknowledge_within_days, feedback_within_days)
    year_brands = {}
    for fact in by_year[period.year]:
        if fact.brand is not None:
            year_brands.setdefault(fact.brand, []).append(fact.brand_label)
    brands = sorted((NamedCount(label_of(year_brands[row]), value) for row, value in release.named("brand", period)),
                    key=lambda item: (-item.count, item.label.casefold()))
    return Report(
        profile="public", start=start, end=end, as_of=as_of, k=k, country=country,
        months=months_between(start, end), categories=table.rows, by_category_month=table,
        by_channel=_one_way(release, "channel", period, channels),
        by_language=_one_way(release, "language", period, languages),
        by_urgency=_one_way(release, "urgency", period, ("urgent", "not urgent")),
        by_status=_status_table(done.statuses, k, total_hidden),
        places=places, places_other=(len(facts) - sum(item.count for item in places)) or None,
        workplaces=companies, brands=brands,
        acknowledge=done.acknowledge, conclude=done.conclude, acknowledged_on_time=done.acknowledged_on_time,
        feedback_on_time=done.feedback_on_time, overdue_acknowledgement=done.overdue_acknowledgement,
        overdue_feedback=done.overdue_feedback, referred=done.referred, rises=rises, grievance_list=listed.lines,
        lines_withheld=listed.withheld, acknowledge_within_days=acknowledge_within_days, feedback_within_days=feedback_within_days,
        notes=[rule_note(k), COMPANY_NOTE] + ([REFERRAL_NOTE] if referrals is not None else []), period=period,
        total_hidden=total_hidden, releases=releases,
        referrals=None if referrals is None else public_referral_figures(referrals, period, k, referral_record),
    )

