"""The embedded queue: a table in the same database, the default case sink and its source.

Delivery is idempotent on the case id (an insert that ignores a duplicate), so
the forwarder may deliver the same case twice after a crash and the operator
still sees it once. Urgent cases are read first.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from ..db import utcnow
from ..models import QueuedCase
from .source import QueuedItem


class EmbeddedQueue:
    """Case sink and case source over the `queue_cases` table."""

    kind = "embedded"

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self._released: set[str] = set()

    def deliver(self, case_id: str, sealed: bytes, urgent: bool) -> None:
        with self.sessions.begin() as session:
            dialect = session.get_bind().dialect.name
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            # The time to the minute, like every time kept at rest (the column's default would be exact).
            statement = insert(QueuedCase).values(case_id=case_id, sealed=sealed, urgent=urgent, enqueued_at=utcnow())
            session.execute(statement.on_conflict_do_nothing(index_elements=["case_id"]))

    def peek(self, limit: int = 100) -> list[QueuedItem]:
        """Waiting cases, urgent first, then oldest first; they stay until acknowledged."""
        with self.sessions.begin() as session:
            query = select(QueuedCase).order_by(QueuedCase.urgent.desc(), QueuedCase.seq).limit(limit)
            if self._released:
                query = query.where(QueuedCase.case_id.not_in(self._released))
            rows = session.execute(query).scalars()
            return [QueuedItem(row.case_id, row.sealed, row.urgent) for row in rows]

    def fetch(self, limit: int) -> list[QueuedItem]:
        return self.peek(limit)

    def ack(self, item: QueuedItem | str) -> None:
        """The consumer has the case safely: remove it from the queue."""
        case_id = item if isinstance(item, str) else item.case_id
        with self.sessions.begin() as session:
            row = session.execute(select(QueuedCase).where(QueuedCase.case_id == case_id)).scalar_one_or_none()
            if row is not None:
                session.delete(row)

    def release(self, item: QueuedItem) -> None:
        self._released.add(item.case_id)

    def depth(self) -> tuple[int, int]:
        """(waiting cases, of which urgent)."""
        with self.sessions.begin() as session:
            total = session.execute(select(func.count()).select_from(QueuedCase)).scalar_one()
            urgent = session.execute(select(func.count()).select_from(QueuedCase).where(QueuedCase.urgent)).scalar_one()
            return total, urgent

    def close(self) -> None:
        """Nothing to let go of: the sessions belong to the caller."""
