"""Referrals in the pattern reports: every count in the internal profile, figures no set of public reports can subtract.

The internal figures (made, answered, waiting, overdue, days to an answer) are checked on
tables of referrals. The public ones (the referrals whose day to answer fell in the period, by
what the company sent by that day) are checked the way tests/test_report_disclosure.py checks
the counts of cases: an attacker reads every public report of a year and, with an integer
program of its own, tries to pin a count under k. The figures are read from a real desk's
store, and a month once published keeps its figures when a late answer is recorded.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import date, timedelta

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.optimize import Bounds, LinearConstraint, milp
from sqlalchemy import func, select

from bot.cli import cli
from desk.reports.build import build_report
from desk.reports.periods import Period
from desk.reports.referral_figures import ReferralFacts, read_referral_facts
from desk.reports.referral_public import ROWS, ReferralRecord, ReferralRecordError, report_referral_months
from desk.reports.render import as_json, referral_rows, tables
from test_referral_followup import ANSWER_TEXT, COMPANY, a_referable_case, clock, company, make_desk, signed_in  # noqa: F401  fixtures
from test_report_disclosure import calendar_periods

K = 5
HIDDEN = "[c]"


def _facts(made: int, answered: int, overdue: int) -> list[ReferralFacts]:
    """Referrals of 2026: `answered` answered 10, 11, 12... days after, `overdue` past their day on 20 April, the rest waiting."""
    facts = []
    for n in range(made):
        if n < answered:
            referred = date(2026, 3, 2) + timedelta(days=n)
            facts.append(ReferralFacts(referred, referred + timedelta(days=45), referred + timedelta(days=10 + n), n % 2 == 0))
        elif n < answered + overdue:
            facts.append(ReferralFacts(date(2026, 2, 1), date(2026, 3, 18), None, False))
        else:
            facts.append(ReferralFacts(date(2026, 4, 10), date(2026, 5, 25), None, False))
    return facts


def _due(day: date, promised: int, plain: int, unanswered: int) -> list[ReferralFacts]:
    """Referrals due on `day`: `promised` answered by it promising remediation, `plain` answered without, the rest
    not answered by it (half of them answered the day after); the answers came 10, 11, 12... days after the referral."""
    facts = []
    for n in range(promised + plain + unanswered):
        referred = day - timedelta(days=45)
        if n < promised + plain:
            facts.append(ReferralFacts(referred, day, referred + timedelta(days=10 + n), n < promised))
        else:
            facts.append(ReferralFacts(referred, day, day + timedelta(days=1) if n % 2 else None, n % 4 == 1))
    return facts


def _rows(report) -> dict[str, str]:
    return dict(referral_rows(report))


def test_the_internal_report_shows_every_referral_count_and_the_days_to_an_answer():
    report = build_report([], start=date(2026, 1, 1), end=date(2026, 6, 30), profile="internal", categories=["wages"],
                          as_of=date(2026, 4, 20), referrals=_facts(3, 1, 1))
    assert _rows(report) == {
        "referrals made to companies": "3", "referrals answered by the company": "1",
        "referrals waiting for an answer, not yet due": "1", "referrals overdue: no answer by the day asked": "1",
        "referrals answered by the day asked": "1", "answers promising remediation": "1",
        "days to a company's answer, median": "10 days",
    }
    assert "referrals made to companies,3" in tables(report)["performance.csv"]
    empty = build_report([], start=date(2026, 7, 1), end=date(2026, 7, 31), profile="internal", categories=["wages"],
                         referrals=_facts(3, 1, 1))
    assert _rows(empty)["referrals made to companies"] == "0", "zeros as 0"


@pytest.mark.parametrize("promised, plain, unanswered, expected", [
    # 4 referrals due: every figure would be a count under k.
    (2, 1, 1, {"referrals whose day to answer fell in the period": HIDDEN, "answered by that day, promising remediation": HIDDEN,
               "answered by that day, without promising remediation": HIDDEN, "not answered by that day": HIDDEN,
               "days to an answer given by that day, median": "not published"}),
    # 2 not answered are hidden, and the smallest count beside them, or 15 - 7 - 6 would give them away.
    (6, 7, 2, {"referrals whose day to answer fell in the period": "15", "answered by that day, promising remediation": HIDDEN,
               "answered by that day, without promising remediation": "7", "not answered by that day": HIDDEN,
               "days to an answer given by that day, median": "not published"}),
    (5, 6, 7, {"referrals whose day to answer fell in the period": "18", "answered by that day, promising remediation": "5",
               "answered by that day, without promising remediation": "6", "not answered by that day": "7",
               "days to an answer given by that day, median": "15 days"}),
])
def test_a_public_report_counts_the_referrals_due_in_its_period_by_what_came_by_their_day(promised, plain, unanswered, expected):
    facts = _due(date(2026, 4, 20), promised, plain, unanswered) + _due(date(2026, 8, 3), 1, 0, 0)  # due later: not in Q2
    report = build_report([], start=date(2026, 4, 1), end=date(2026, 6, 30), profile="public", categories=["wages"], k=K,
                          referrals=facts)
    assert _rows(report) == expected
    performance = tables(report)["performance.csv"]
    assert "referrals made" not in performance, "the referrals made in a period are not published"
    assert "referred to the company concerned,not published" in performance
    assert json.loads(as_json(report))["performance"]["not answered by that day"] == expected["not answered by that day"]


class ReferralAttacker:
    """Unknowns: the referrals of each row in each month they were due; facts: what every public report published."""

    def __init__(self) -> None:
        self.index = {(row, m): i for i, (row, m) in enumerate((row, m) for row in ROWS for m in range(1, 13))}
        self.equal: list[tuple[list[int], int]] = []
        self.at_least_one: list[list[int]] = []  # a hidden count is not zero: zeros are published

    def read(self, period: Period, rows: dict[str, str]) -> None:
        published = {ROWS[0]: rows["answered by that day, promising remediation"],
                     ROWS[1]: rows["answered by that day, without promising remediation"],
                     ROWS[2]: rows["not answered by that day"]}
        terms = {row: [self.index[(row, m)] for m in period.months] for row in ROWS}
        total = rows["referrals whose day to answer fell in the period"]
        for text, atoms in [(total, [a for row in ROWS for a in terms[row]])] + [(published[row], terms[row]) for row in ROWS]:
            if text == HIDDEN:
                self.at_least_one.append(atoms)
            else:
                self.equal.append((atoms, int(text)))

    def most(self, target: tuple[str, int]) -> float:
        n = len(self.index)
        matrix, lower, upper = [], [], []
        for atoms, value in self.equal:
            matrix.append(np.bincount(atoms, minlength=n))
            lower.append(value)
            upper.append(value)
        for atoms in self.at_least_one:
            matrix.append(np.bincount(atoms, minlength=n))
            lower.append(1)
            upper.append(np.inf)
        objective = np.zeros(n)
        objective[self.index[target]] = -1
        result = milp(objective, constraints=LinearConstraint(np.array(matrix), lower, upper), integrality=np.ones(n),
                      bounds=Bounds(0, 10_000))
        assert result.status == 0, result.message
        return -result.fun


def test_the_attacker_learns_no_referral_count_under_k_from_every_public_report_of_a_year():
    rng = random.Random(11)
    facts = []
    for _ in range(150):  # a small mechanism: a dozen referrals due a month, many counts under k
        due = date(2026, 1, 1) + timedelta(days=rng.randrange(365))
        facts += _due(due, *rng.choices([(1, 0, 0), (0, 1, 0), (0, 0, 1)], [2, 5, 3])[0])
    true = Counter()
    for fact in facts:
        answered = fact.answered_on is not None and fact.answered_on <= fact.respond_by
        true[(ROWS[0] if answered and fact.remediation_promised else ROWS[1] if answered else ROWS[2], fact.respond_by.month)] += 1
    attacker, published = ReferralAttacker(), 0
    for label, start, end in calendar_periods(2026):
        report = build_report([], start=start, end=end, profile="public", categories=["wages"], k=K, referrals=facts)
        rows = _rows(report)
        attacker.read(Period.parse(label), rows)
        published += sum(value not in (HIDDEN, "0") for measure, value in rows.items() if "median" not in measure)
    small = [(key, value) for key, value in sorted(true.items()) if 0 < value < K]
    assert len(small) > 12, "the year has small counts to protect"
    assert published > 30, "and most figures are published all the same"
    exposed = [(key, value, most) for key, value in small if (most := attacker.most(key)) < K]
    assert not exposed, f"{len(exposed)} referral counts under {K} pinned below {K}, e.g. {exposed[:3]}"


def test_the_report_reads_referrals_and_answers_from_the_desks_store(make_desk, company, clock):  # noqa: F811
    desk = make_desk()
    company_id = desk.store.add_company(COMPANY, company[1])
    from desk.referral_flow import ReferralDesk

    work = ReferralDesk(desk.settings, desk.store, clock=clock)
    first = work.refer(a_referable_case(desk), company_id, "cai")
    work.refer(a_referable_case(desk), company_id, "cai")
    clock.advance(days=8)
    work.record_answer(first.view.referral_id, received_on=date(2026, 11, 27), text=ANSWER_TEXT, remediation_promised=True,
                       files=[], by="cai")
    facts = read_referral_facts(desk.cases_store)
    assert sorted(((f.referred_on, f.respond_by, f.answered_on, f.remediation_promised, f.promised_on) for f in facts), key=str) == [
        (date(2026, 11, 20), date(2027, 1, 4), None, False, None),
        (date(2026, 11, 20), date(2027, 1, 4), date(2026, 11, 27), True, date(2026, 11, 27))]
    client = signed_in(desk, "ana")
    patterns = client.get("/patterns?start=2026-11-01&end=2026-11-30&profile=internal").text
    assert "Referrals made to companies" in patterns and "7 days" in patterns
    assert "not recorded by the desk yet" not in patterns


def test_a_published_month_of_referrals_keeps_its_figures_when_a_late_answer_is_recorded(make_desk, company, clock):  # noqa: F811
    desk = make_desk()
    company_id = desk.store.add_company(COMPANY, company[1])
    from desk.referral_flow import ReferralDesk

    work = ReferralDesk(desk.settings, desk.store, clock=clock)
    made = [work.refer(a_referable_case(desk), company_id, "cai").view.referral_id for _ in range(10)]  # all due 4 January
    clock.advance(days=20)
    for referral_id in made[:5]:
        work.record_answer(referral_id, received_on=date(2026, 12, 5), text=ANSWER_TEXT, remediation_promised=False,
                           files=[], by="cai")
    january = {"start": date(2027, 1, 1), "end": date(2027, 1, 31), "profile": "public", "categories": ["wages"], "k": K}
    store, record = desk.cases_store, ReferralRecord(desk.cases_store)
    first = build_report([], **january, referrals=read_referral_facts(store), referral_record=record.load(2027))
    assert _rows(first) == {
        "referrals whose day to answer fell in the period": "10", "answered by that day, promising remediation": "0",
        "answered by that day, without promising remediation": "5", "not answered by that day": "5",
        "days to an answer given by that day, median": "15 days"}
    assert record.record(first.referrals) == ["2027-01"]
    clock.advance(days=60)  # in February, the answer one company sent on 3 January is recorded
    work.record_answer(made[5], received_on=date(2027, 1, 3), text=ANSWER_TEXT, remediation_promised=True, files=[], by="cai")
    live = build_report([], **january, referrals=read_referral_facts(store))
    assert _rows(live)["not answered by that day"] == HIDDEN, "the store as it is now: 4 not answered"
    later = ReferralRecord(store)
    again = build_report([], **january, referrals=read_referral_facts(store), referral_record=later.load(2027))
    assert _rows(again) == _rows(first), "the published month as it was published"
    assert later.record(again.referrals) == []
    with pytest.raises(ReferralRecordError, match="meanwhile"):  # a report that read the record before January was kept
        ReferralRecord(store).record(again.referrals)
    internal = build_report([], **{**january, "profile": "internal", "start": date(2026, 11, 1)}, referrals=read_referral_facts(store))
    assert _rows(internal)["referrals answered by the company"] == "6", "the late answer counts in internal reports"


def test_the_public_report_command_records_the_referral_months_it_rests_on(make_desk, company, clock, tmp_path):  # noqa: F811
    desk = make_desk()
    company_id = desk.store.add_company(COMPANY, company[1])
    from desk.referral_flow import ReferralDesk

    ReferralDesk(desk.settings, desk.store, clock=clock).refer(a_referable_case(desk), company_id, "cai")
    result = CliRunner().invoke(cli, ["report", "--from", "2026-10-01", "--to", "2026-10-31", "--profile", "public",
                                      "-o", str(tmp_path / "october")], obj={"settings": desk.settings}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "october" / "report.json").read_text())
    assert document["performance"]["referrals whose day to answer fell in the period"] == "0"
    with desk.cases_store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(report_referral_months)).scalar() == 10
