"""Pages to the person on duty: queued with the alert, then sent, escalated and acknowledged.

`page_duty` is called inside the transaction that queues an urgent alert (or a worker's answer
that speaks of danger), so an alert is never without its page: both commit, or neither. The
always-running process (`grievance forward --loop`, beside `grievance serve`) sends it within
seconds and escalates it along the roster (channels/duty_pager.py); the desk acknowledges it
through the operator API, which ends it. Every step is an event the desk copies into its audit
log. Nothing here holds case content or a staff address: a page has a short random reference,
the case id (for the desk), and a position in the roster.
"""

from __future__ import annotations

import secrets as _random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.config import Duty

from .db import as_utc, utcnow
from .models import DutyEvent, DutyPage

# No 0/O, 1/I/L, 2/Z, 5/S, 6/G, 8/B: a reference read out over a phone at 3 a.m. is read right.
REF_ALPHABET = "ACDEFHJKMNPQRTUVWXY3479"
REF_LENGTH = 6
REASONS = ("alert", "answer", "test")
OPEN = "open"
EVENT_KINDS = ("queued", "sent", "failed", "retrying", "escalated", "acknowledged", "unanswered")
CLAIM_SECONDS = 120  # a page being sent is not taken by another pager for this long (then it is again: at least once)


def new_ref() -> str:
    return "".join(_random.choice(REF_ALPHABET) for _ in range(REF_LENGTH))


def shown_ref(ref: str) -> str:
    """The reference as people read it: K7Q-4MR."""
    return f"{ref[:3]}-{ref[3:]}" if len(ref) == REF_LENGTH else ref


def parse_ref(text: str) -> str | None:
    """A reference as typed (any case, with or without the dash or spaces), or None when it cannot be one."""
    ref = "".join(text.split()).replace("-", "").upper()
    return ref if len(ref) == REF_LENGTH and all(char in REF_ALPHABET for char in ref) else None


def exact_now() -> datetime:
    """Paging needs seconds (retries, a test's short escalation), but only while a page is open."""
    return datetime.now(UTC)


def page_duty(session: Session, duty: Duty, *, case_id: str | None, reason: str, now: datetime | None = None,
              step: int = 0) -> str | None:
    """Queue a page about this case in the caller's transaction; its reference, or None when paging is off.

    One open page per case: a second alert (or a danger answer) while the first page is still
    unacknowledged returns that page's reference, so the person on duty is not paged twice for
    one case; once it was acknowledged, a new alert pages again.
    """
    if not duty.enabled:
        return None
    if reason not in REASONS:
        raise ValueError("unknown page reason")
    if case_id is not None:
        waiting = session.execute(
            select(DutyPage.ref).where(DutyPage.case_id == case_id, DutyPage.state == OPEN).limit(1)
        ).scalar_one_or_none()
        if waiting is not None:
            return waiting
    while True:
        ref = new_ref()
        if session.get(DutyPage, ref) is None:
            break
    minute = (now or utcnow()).replace(second=0, microsecond=0)
    session.add(DutyPage(ref=ref, case_id=case_id, reason=reason, state=OPEN, step=step, phase="send", attempts=0,
                         next_at=exact_now(), created_at=minute))
    session.add(DutyEvent(page_ref=ref, case_id=case_id, kind="queued", detail=reason, at=minute))
    return ref


@dataclass(frozen=True)
class ClaimedPage:
    """An open page whose time has come, held by this pager for `CLAIM_SECONDS`."""

    ref: str
    case_id: str | None
    reason: str
    step: int
    phase: str
    attempts: int


@dataclass(frozen=True)
class PageEvent:
    seq: int
    page_ref: str
    case_id: str | None
    kind: str
    person: str | None
    way: str | None
    detail: str | None
    at: datetime


@dataclass(frozen=True)
class PageView:
    """An open or recent page as `grievance duty status` and the desk show it."""

    ref: str
    case_id: str | None
    reason: str
    state: str
    step: int
    created_at: datetime
    acknowledged_by: str | None


class PageStore:
    """The pages' state changes, each inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def event(self, page: DutyPage | ClaimedPage, kind: str, *, person: str | None = None, way: str | None = None,
              detail: str | None = None) -> None:
        self.session.add(DutyEvent(page_ref=page.ref, case_id=page.case_id, kind=kind, person=person, way=way,
                                   detail=(detail or None) and detail[:64], at=utcnow()))

    def claim_due(self, now: datetime, limit: int = 20) -> list[ClaimedPage]:
        """Open pages due now, each claimed by a conditional update (two pagers never both take one)."""
        rows = self.session.execute(
            select(DutyPage.ref, DutyPage.case_id, DutyPage.reason, DutyPage.step, DutyPage.phase, DutyPage.attempts)
            .where(DutyPage.state == OPEN, DutyPage.next_at <= now).order_by(DutyPage.next_at).limit(limit)
        ).all()
        claimed = []
        for row in rows:
            taken = self.session.execute(
                update(DutyPage).where(DutyPage.ref == row.ref, DutyPage.state == OPEN, DutyPage.next_at <= now)
                .values(next_at=now + timedelta(seconds=CLAIM_SECONDS)).execution_options(synchronize_session=False)
            ).rowcount
            if taken:
                claimed.append(ClaimedPage(row.ref, row.case_id, row.reason, row.step, row.phase, row.attempts))
        return claimed

    def _page(self, ref: str) -> DutyPage | None:
        page = self.session.get(DutyPage, ref)
        return page if page is not None and page.state == OPEN else None

    def sent(self, ref: str, step: int, wait_until: datetime) -> bool:
        """The page reached someone at `step`: wait for an acknowledgement until `wait_until`. False when it ended meanwhile."""
        page = self._page(ref)
        if page is None or page.step != step:
            return False
        page.phase, page.attempts, page.next_at = "wait", 0, wait_until
        return True

    def retry(self, ref: str, step: int, attempts: int, at: datetime) -> bool:
        page = self._page(ref)
        if page is None or page.step != step:
            return False
        page.phase, page.attempts, page.next_at = "send", attempts, at
        return True

    def move_to(self, ref: str, step: int, now: datetime) -> bool:
        """Page the person at `step` now (an escalation)."""
        page = self._page(ref)
        if page is None:
            return False
        page.step, page.phase, page.attempts, page.next_at = step, "send", 0, now
        return True

    def end(self, ref: str, state: str) -> bool:
        """The page ends unacknowledged (`unanswered`), or a test page ends (`sent`, `failed`)."""
        page = self._page(ref)
        if page is None:
            return False
        page.state, page.ended_at, page.next_at = state, utcnow(), utcnow()
        return True

    def acknowledge(self, ref: str, by: str) -> tuple[PageView | None, bool]:
        """(the page, True) when this acknowledged it; (the page, False) when it was acknowledged already
        (or was a test); (None, False) when there is none. A page that ended unanswered can still be
        acknowledged: someone has seen it at last."""
        page = self.session.get(DutyPage, ref, with_for_update=True)
        if page is None:
            return None, False
        done = page.state in (OPEN, "unanswered")
        if done:
            page.state, page.acknowledged_by, page.ended_at, page.next_at = "acknowledged", by[:64], utcnow(), utcnow()
            self.event(page, "acknowledged", detail=by)
        return _view(page), done

    def pages(self, *, open_only: bool = True, limit: int = 100) -> list[PageView]:
        query = select(DutyPage).order_by(DutyPage.created_at.desc(), DutyPage.ref).limit(limit)
        if open_only:
            query = query.where(DutyPage.state == OPEN)
        return [_view(page) for page in self.session.execute(query).scalars()]

    def events(self, after: int, limit: int) -> list[PageEvent]:
        rows = self.session.execute(select(DutyEvent).where(DutyEvent.seq > after).order_by(DutyEvent.seq).limit(limit)).scalars()
        return [PageEvent(r.seq, r.page_ref, r.case_id, r.kind, r.person, r.way, r.detail, as_utc(r.at)) for r in rows]

    def purge(self, before: datetime) -> int:
        """Erase the pages that ended before `before`, and their events; how many pages."""
        ended = select(DutyPage.ref).where(DutyPage.state != OPEN, DutyPage.ended_at <= before)
        self.session.execute(delete(DutyEvent).where(DutyEvent.page_ref.in_(ended)))
        return self.session.execute(delete(DutyPage).where(DutyPage.state != OPEN, DutyPage.ended_at <= before)).rowcount


def _view(page: DutyPage) -> PageView:
    return PageView(page.ref, page.case_id, page.reason, page.state, page.step, as_utc(page.created_at), page.acknowledged_by)
