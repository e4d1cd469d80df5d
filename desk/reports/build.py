"""A report under its profile: the internal one (every count, figures.py) or the public one
(what may be published across every period of the year, public.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from .facts import CaseFacts
from .figures import PROFILES, Report, build_internal
from .outcome import Outcome, outcome_table
from .public import build_public
from .referral_figures import ReferralFacts
from .referral_public import RecordedReferrals


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
    channels: Sequence[str] = (),
    languages: Sequence[str] = (),
    recorded: dict | None = None,
    outcomes: Iterable[Outcome] = (),
    referrals: Iterable[ReferralFacts] | None = None,
    referral_record: RecordedReferrals | None = None,
) -> Report:
    """The report of the cases received from `start` to `end` (both included) under `profile`.

    The public profile needs a calendar period (PeriodError otherwise), the facts of its
    year and of the previous period, and takes `recorded` decisions of reports already
    published (desk/reports/snapshot.py); `channels` and `languages` give the order of rows.
    `outcomes`: the workers' views of the outcome (desk/reports/outcome.py), a table of their own.
    With `referrals` (desk/reports/referral_figures.py) the report has referral figures; a
    public one takes `referral_record`, what public reports already published of them.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}")
    if end < start:
        raise ValueError("the period ends before it starts")
    if profile == "public":
        report = build_public(all_facts, start=start, end=end, categories=categories, k=k, as_of=as_of or end,
                              country=country, acknowledge_within_days=acknowledge_within_days,
                              feedback_within_days=feedback_within_days, channels=channels, languages=languages,
                              recorded=recorded or {}, referrals=referrals, referral_record=referral_record)
    else:
        report = build_internal(all_facts, start=start, end=end, profile=profile, categories=categories, k=k, as_of=as_of,
                                country=country, acknowledge_within_days=acknowledge_within_days,
                                feedback_within_days=feedback_within_days, channels=channels, languages=languages,
                                referrals=referrals)
    report.worker_view = outcome_table(outcomes, start, end, profile == "public", k)
    return report
