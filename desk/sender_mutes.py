"""What the desk remembers of the mutes it asked for: which case's sender, until when, by whom.

The intake server holds the mute itself (storage/mutes.py, by the sender's keyed pseudonym);
the desk never learns who the sender is. This table lets the case page say "the sender of this
case is muted until ..." without asking the server on every page; the server's answer to each
mute and unmute (desk/web/mutes.py) is what is written here. No pseudonym, no address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, MetaData, String, Table, delete, insert, select

from .operator_store import OperatorStore, serialize
from .store import stamp

_metadata = MetaData()
desk_sender_mutes = Table(
    "desk_sender_mutes", _metadata,
    Column("case_id", String(36), primary_key=True),
    Column("until", String(20), nullable=False),  # as the intake server answered, UTC
    Column("muted_by", String(64), nullable=False),
    Column("muted_at", String(20), nullable=False),
)


@dataclass(frozen=True)
class DeskMute:
    case_id: str
    until: str
    muted_by: str
    muted_at: str

    def active(self, now: datetime) -> bool:
        return self.until > stamp(now)


class DeskMutes:
    """The desk's record of the mutes of one operator store."""

    def __init__(self, store: OperatorStore) -> None:
        self.store = store
        with store.engine.begin() as connection:
            serialize(connection, "schema")  # desks starting at once on one PostgreSQL store
            _metadata.create_all(connection)

    def muted(self, case_id: str, until: datetime, by: str, at: datetime) -> DeskMute:
        mute = DeskMute(case_id, stamp(until), by, stamp(at))
        with self.store.engine.begin() as connection:
            connection.execute(delete(desk_sender_mutes).where(desk_sender_mutes.c.case_id == case_id))
            connection.execute(insert(desk_sender_mutes).values(**mute.__dict__))
        return mute

    def unmuted(self, case_id: str) -> None:
        with self.store.engine.begin() as connection:
            connection.execute(delete(desk_sender_mutes).where(desk_sender_mutes.c.case_id == case_id))

    def of(self, case_id: str) -> DeskMute | None:
        with self.store.engine.connect() as connection:
            row = connection.execute(select(desk_sender_mutes).where(desk_sender_mutes.c.case_id == case_id)).mappings().first()
        return DeskMute(**row) if row else None
