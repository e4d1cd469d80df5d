"""The Patterns page at a busy mechanism's size: the report's facts from the cases the desk holds, and the
report kept until what it rests on changes.

A report over 50,000 cases takes seconds to build and draw (desk/reports/); the page asks for it again
at each visit. The facts of each case are made from the case the desk already holds open in memory
(never decrypted again) and kept until the case changes; the rendered report is kept under a
fingerprint of everything it rests on: the cases as the desk holds them (their generation, which each
refresh or status change moves on), the referrals, the workers' views of the outcome, the recorded
public months (their sealed bytes, unopened), the period, the profile and the day. Any change there
makes a new report; nothing else does. Nothing is written to disk.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Hashable
from datetime import date

from sqlalchemy import inspect, select

from ..reports.facts import CATEGORY_BASES, CaseFacts, facts_of, referred_cases, status_dates

log = logging.getLogger(__name__)
REPORTS_KEPT = 8  # periods and profiles kept at once (a few analysts looking at a few periods)
BATCH = 500


class MemoryFacts:
    """CaseFacts of the desk's open cases, each made once and again only when its case changed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._made: dict[str, tuple[tuple, dict, CaseFacts]] = {}

    def facts(self, cases: list, store, until: date, questions: tuple[str, ...], referred: set[str],
              categories: str = "desk") -> list[CaseFacts]:
        """The facts of `cases` (the desk's OpenCase objects) received up to `until`, oldest first; each case
        counted under the case workers' category ("desk") or the one it was filed under ("filed")."""
        if categories not in CATEGORY_BASES:
            raise ValueError(f"unknown category basis {categories!r}")
        with self._lock:
            stale = [case for case in cases if not self._fresh(case, questions, referred, categories)]
            if stale:
                dates = _dates(store, [case.case_id for case in stale])
                for case in stale:
                    made = facts_of(case.record, case.status, dates.get(case.case_id, (None, None)), questions,
                                    case.case_id in referred, case.category if categories == "desk" else None)
                    self._made[case.case_id] = (self._key(case, questions, referred, categories), case.record, made)
            if len(self._made) > len(cases):  # cases erased since: forget their facts
                present = {case.case_id for case in cases}
                self._made = {case_id: made for case_id, made in self._made.items() if case_id in present}
            limit = until.isoformat()
            found = [self._made[case.case_id][2] for case in cases if case.received_at[:10] <= limit]
        found.reverse()  # the desk keeps its cases newest first
        return found

    @staticmethod
    def _key(case, questions: tuple[str, ...], referred: set[str], categories: str) -> tuple:
        return case.status, case.status_changed_at, case.case_id in referred, questions, categories, case.category

    def _fresh(self, case, questions: tuple[str, ...], referred: set[str], categories: str) -> bool:
        made = self._made.get(case.case_id)
        if made is None or made[0] != self._key(case, questions, referred, categories):
            return False
        return made[1] is case.record or made[1] == case.record  # reopened at a refresh: the same words, the same facts


def _dates(store, case_ids: list[str]) -> dict:
    """When each case was first acknowledged and concluded: of these cases when they are a few (one query),
    else the whole history at once (one query too, rather than one per batch)."""
    return status_dates(store, case_ids) if len(case_ids) <= BATCH else status_dates(store)


class ReportCache:
    """Rendered reports by view (period, profile, day), each with the fingerprint it was made under.

    When what a report rests on changed, a large desk (at least `rebuild_behind_from` cases) shows
    the report it has, marked as being brought up to date, and makes the new one in a thread of its
    own: a status change at 50,000 cases would otherwise make the next visitor wait seconds. A
    smaller desk makes it at once (it is quick). A view never seen is made at once.
    """

    def __init__(self, rebuild_behind_from: int = 2000) -> None:
        self._lock = threading.Lock()
        self._kept: dict[Hashable, tuple[Hashable, object]] = {}
        self._making: dict[Hashable, threading.Thread] = {}
        self.rebuild_behind_from = rebuild_behind_from

    def get(self, view: Hashable, fingerprint: Hashable, make: Callable[[], object], cases: int) -> tuple[object, bool]:
        """(the report, whether it is up to date)."""
        with self._lock:
            kept = self._kept.get(view)
            if kept is not None and kept[0] == fingerprint:
                return kept[1], True
            if kept is not None and cases >= self.rebuild_behind_from:
                if view not in self._making:
                    self._making[view] = threading.Thread(target=self._make_behind, args=(view, fingerprint, make),
                                                          name="desk-report", daemon=True)
                    self._making[view].start()
                return kept[1], False
        made = make()  # outside the lock: another view may be asked for meanwhile
        self._keep(view, fingerprint, made)
        return made, True

    def _keep(self, view: Hashable, fingerprint: Hashable, made: object) -> None:
        with self._lock:
            self._kept.pop(view, None)
            self._kept[view] = (fingerprint, made)
            while len(self._kept) > REPORTS_KEPT:
                self._kept.pop(next(iter(self._kept)))

    def _make_behind(self, view: Hashable, fingerprint: Hashable, make: Callable[[], object]) -> None:
        try:
            self._keep(view, fingerprint, make())
        except Exception:  # the page goes on showing the report it has; the next visit tries again
            log.exception("a report could not be made")
        finally:
            with self._lock:
                self._making.pop(view, None)

    def settle(self) -> None:
        """Wait until the reports being made are kept."""
        while True:
            with self._lock:
                making = list(self._making.values())
            if not making:
                return
            for thread in making:
                thread.join()


def store_fingerprint(store, outcomes: list, referrals: list, years: set[int]) -> tuple:
    """What a report rests on beyond the cases: referred cases, views of the outcome, referral figures, and the
    public months recorded for `years` (hashed sealed, never opened)."""
    from ..reports.referral_public import report_referral_months
    from ..reports.snapshot import report_months

    digest = hashlib.sha256()
    with store.engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        for table in (report_months, report_referral_months):
            if table.name not in tables:
                continue
            for year in sorted(years):
                query = select(table.c.month, table.c.k, table.c.sealed).where(table.c.month.like(f"{year:04d}-%"))
                for month, k, sealed in connection.execute(query.order_by(table.c.month)):
                    digest.update(f"{table.name}|{month}|{k}|".encode() + hashlib.sha256(sealed).digest())
    return tuple(sorted(referred_cases(store))), tuple(outcomes), tuple(referrals), digest.hexdigest()
