"""Referrals in a pattern report: what the desk's referrals to companies came to.

The facts are read from the desk's own tables (desk/store.py, desk/referral_store.py) in the
operator store, never a company's words: only the days, and whether an answer promised
remediation.

The internal profile (`referral_figures`) shows every count as it is: the referrals made in
the period and where they stood on the report's `as_of` day: answered (the desk recorded a
company's answer received by then), overdue (no answer by the day the company was asked to
answer by) or waiting; how many answers came by the day asked, how many promised
remediation, and the median days to an answer. The public profile publishes other figures,
decided once for every calendar period of a year (desk/reports/referral_public.py).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import inspect, select

from desk.operator_store import OperatorStore

from .suppression import ProtectedTable, exact_counts
from .words import ENGLISH_WORDS, Words

OUTCOMES = ("answered", "waiting", "overdue")


@dataclass(frozen=True)
class ReferralFacts:
    """One referral as a report sees it."""

    referred_on: date
    respond_by: date
    answered_on: date | None  # the first answer's day received, None while none is recorded
    remediation_promised: bool  # some answer promised remediation
    promised_on: date | None = None  # the first answer promising remediation: its day received

    @property
    def promise_day(self) -> date | None:
        """The day remediation was first promised (the first answer's day when only that is known)."""
        if not self.remediation_promised:
            return None
        return self.promised_on or self.answered_on


@dataclass(frozen=True)
class ReferralFigures:
    """The internal figures: every count as it is, zeros as 0."""

    outcomes: ProtectedTable  # answered, waiting, overdue; the total is the number made
    answered_on_time: int
    remediation_promised: int
    days_to_answer: list[int]

    def rows(self, _: Words = ENGLISH_WORDS) -> list[tuple[str, str]]:
        """(measure, value) lines for the report's table of referrals and performance.csv (in English)."""
        table = self.outcomes
        median = statistics.median(self.days_to_answer) if self.days_to_answer else None
        return [
            (_("referrals made to companies"), table.total_text()),
            (_("referrals answered by the company"), table.cell_text(0, 0)),
            (_("referrals waiting for an answer, not yet due"), table.cell_text(1, 0)),
            (_("referrals overdue: no answer by the day asked"), table.cell_text(2, 0)),
            (_("referrals answered by the day asked"), str(self.answered_on_time)),
            (_("answers promising remediation"), str(self.remediation_promised)),
            (_("days to a company's answer, median"),
             _("no answer yet") if median is None else _("%(days)s days", days=format(median, "g"))),
        ]


def read_referral_facts(store: OperatorStore, response_days: int = 45) -> list[ReferralFacts]:
    """Every referral of the store (none in a store the desk never opened)."""
    from desk.referral_store import desk_company_answers, desk_referral_terms
    from desk.store import desk_referrals

    with store.engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        if "desk_referrals" not in tables:
            return []
        made = connection.execute(select(desk_referrals.c.referral_id, desk_referrals.c.referred_at)).all()
        terms = dict(connection.execute(select(desk_referral_terms.c.referral_id, desk_referral_terms.c.respond_by)).all()) \
            if "desk_referral_terms" in tables else {}
        answers: dict[str, list[tuple[str, bool]]] = {}
        if "desk_company_answers" in tables:
            a = desk_company_answers.c
            for referral_id, received_on, promised in connection.execute(select(a.referral_id, a.received_on, a.remediation_promised)):
                answers.setdefault(referral_id, []).append((received_on, bool(promised)))
    facts = []
    for referral_id, referred_at in made:
        referred_on = date.fromisoformat(referred_at[:10])
        respond_by = date.fromisoformat(terms[referral_id]) if referral_id in terms else referred_on + timedelta(days=response_days)
        got = sorted(answers.get(referral_id, []))
        promises = [received for received, promised in got if promised]
        facts.append(ReferralFacts(referred_on, respond_by, date.fromisoformat(got[0][0]) if got else None,
                                   bool(promises), date.fromisoformat(promises[0]) if promises else None))
    return sorted(facts, key=lambda fact: (fact.referred_on, fact.respond_by))


def referral_figures(facts: Iterable[ReferralFacts], *, start: date, end: date, as_of: date) -> ReferralFigures:
    """The internal figures of the referrals made from `start` to `end`, as they stood on `as_of`."""
    counts = dict.fromkeys(OUTCOMES, 0)
    on_time = promised = 0
    days = []
    for fact in facts:
        if not start <= fact.referred_on <= end:
            continue
        if fact.answered_on is not None and fact.answered_on <= as_of:
            counts["answered"] += 1
            days.append((fact.answered_on - fact.referred_on).days)
            on_time += fact.answered_on <= fact.respond_by
            promised += fact.promise_day is not None and fact.promise_day <= as_of
        elif fact.respond_by < as_of:
            counts["overdue"] += 1
        else:
            counts["waiting"] += 1
    return ReferralFigures(exact_counts([counts[outcome] for outcome in OUTCOMES], OUTCOMES), on_time, promised, days)
