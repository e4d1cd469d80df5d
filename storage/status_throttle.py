"""Throttling STATUS <code> look-ups: counted per sender pseudonym and overall, refused when over the limit.

A case code has 43 random bits, but a patient guesser with many phones could
still try codes. Every look-up that finds no case is counted twice, under the
sender's keyed pseudonym (crypto.sender_pseudonym: it cannot be turned back
into an address, and it differs from the conversation index) and globally, in
fixed time windows. A sender at their own limit is refused. While the global count
is at its limit, senders who failed at least once in their window are refused too,
but a sender with no failure is still served: otherwise a few guessers with many
phones would block STATUS for every worker. Refused look-ups never touch the cases
table, and each refusal is counted.

Counters are rows updated with one atomic INSERT ... ON CONFLICT DO UPDATE, so
several processes and both SQLite and PostgreSQL count exactly. Rows of a
pseudonym live only as long as their window matters; global rows are kept
`keep_counts_days` for `grievance stats`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from bot.config import StatusThrottle

from .models import StatusAttempts

GLOBAL = "global"
SENDER_PREFIX = "p:"


@dataclass(frozen=True)
class AttemptCounts:
    """Totals over a period: look-ups that found nothing, refusals while throttled, senders throttled."""

    failed: int
    refused: int
    senders_over_limit: int


def _window(now: datetime, seconds: int) -> datetime:
    # Windows need seconds (the global one is a minute long); they are counters, not records of anyone.
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


class StatusThrottleStore:
    """Checks and counts inside the caller's transaction (the intake's), so counts commit with the turn."""

    def __init__(self, session: Session, limits: StatusThrottle) -> None:
        self.session = session
        self.limits = limits

    def _windows(self, pseudonym: str, now: datetime) -> tuple[tuple[str, datetime], tuple[str, datetime]]:
        return (
            (SENDER_PREFIX + pseudonym, _window(now, self.limits.per_sender_window_minutes * 60)),
            (GLOBAL, _window(now, self.limits.global_window_seconds)),
        )

    def _failed(self, scope: str, window_start: datetime) -> int:
        value = self.session.execute(
            select(StatusAttempts.failed).where(StatusAttempts.scope == scope, StatusAttempts.window_start == window_start)
        ).scalar_one_or_none()
        return value or 0

    def allowed(self, pseudonym: str, now: datetime | None = None) -> bool:
        """True when this sender may look a code up now; a refusal is counted (under both scopes).

        Refused: a sender at their own limit, or, while the global limit is reached, a sender
        who already failed in their window. A sender with no failure is always served."""
        now = now or datetime.now(UTC)
        (sender, sender_window), (overall, overall_window) = self._windows(pseudonym, now)
        failed = self._failed(sender, sender_window)
        if failed == 0 or (
            failed < self.limits.per_sender_failures and self._failed(overall, overall_window) < self.limits.global_failures
        ):
            return True
        self._bump(sender, sender_window, refused=1)
        self._bump(overall, overall_window, refused=1)
        return False

    def record_failure(self, pseudonym: str, now: datetime | None = None) -> None:
        """Count a look-up that found no case, and drop counters no window needs any more."""
        now = now or datetime.now(UTC)
        (sender, sender_window), (overall, overall_window) = self._windows(pseudonym, now)
        self._bump(sender, sender_window, failed=1)
        self._bump(overall, overall_window, failed=1)
        stale = now - timedelta(minutes=self.limits.per_sender_window_minutes) - timedelta(days=1)
        self.session.execute(
            delete(StatusAttempts).where(StatusAttempts.scope != GLOBAL, StatusAttempts.window_start < stale)
        )
        self.session.execute(
            delete(StatusAttempts).where(
                StatusAttempts.scope == GLOBAL, StatusAttempts.window_start < now - timedelta(days=self.limits.keep_counts_days)
            )
        )

    def _bump(self, scope: str, window_start: datetime, failed: int = 0, refused: int = 0) -> None:
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(StatusAttempts).values(scope=scope, window_start=window_start, failed=failed, refused=refused)
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[StatusAttempts.scope, StatusAttempts.window_start],
                set_={"failed": StatusAttempts.failed + failed, "refused": StatusAttempts.refused + refused},
            )
        )


def attempt_counts(sessions: sessionmaker[Session], limits: StatusThrottle, since: datetime) -> AttemptCounts:
    """Failed and refused STATUS look-ups since `since` (global counters), and senders that hit their limit."""
    with sessions.begin() as session:
        failed, refused = session.execute(
            select(func.coalesce(func.sum(StatusAttempts.failed), 0), func.coalesce(func.sum(StatusAttempts.refused), 0)).where(
                StatusAttempts.scope == GLOBAL, StatusAttempts.window_start >= since
            )
        ).one()
        over = session.execute(
            select(func.count()).select_from(StatusAttempts).where(
                StatusAttempts.scope != GLOBAL,
                StatusAttempts.window_start >= since - timedelta(minutes=limits.per_sender_window_minutes),
                StatusAttempts.failed >= limits.per_sender_failures,
            )
        ).scalar_one()
    return AttemptCounts(int(failed), int(refused), int(over))
