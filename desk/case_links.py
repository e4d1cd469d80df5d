"""Links between cases: a duplicate of another case, or cases of one workplace joined into a collective grievance.

A worker who reports twice (or a gateway that delivered twice) makes a duplicate: it is marked
as the duplicate of the case the team works on, and both pages say so. Forty workers of one
factory reporting the same locked exit are one collective grievance: each case stays the
worker's own (its dialogue, its status, its code), and every case of the group shows the
others. A group is every case reachable through "collective" links, so joining a case to any
member joins it to the group.

One link per pair of cases, in a table of its own beside the desk's (created like
desk/referral_store.py's); a link holds two case ids, its kind, who made it and when,
nothing a worker wrote. The audit line is written by the page (desk/web/triage.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Index, MetaData, String, Table, delete, insert, or_, select

from .operator_store import OperatorStore, serialize
from .store import DeskError, stamp

KINDS = ("duplicate", "collective")

_metadata = MetaData()
desk_case_links = Table(
    "desk_case_links", _metadata,
    Column("link_id", String(32), primary_key=True),
    Column("case_id", String(36), nullable=False),  # "duplicate": the duplicate; "collective": either member
    Column("other_id", String(36), nullable=False),  # "duplicate": the case it duplicates
    Column("kind", String(12), nullable=False),
    Column("linked_by", String(64), nullable=False),
    Column("linked_at", String(20), nullable=False),
    Index("ix_desk_case_links_case", "case_id"),
    Index("ix_desk_case_links_other", "other_id"),
)


@dataclass(frozen=True)
class CaseLink:
    link_id: str
    case_id: str
    other_id: str
    kind: str
    linked_by: str
    linked_at: str


@dataclass(frozen=True)
class CaseLinks:
    """What one case page shows: the links it is part of, and its collective group."""

    duplicate_of: CaseLink | None  # this case duplicates link.other_id
    duplicates: list[CaseLink]  # cases that duplicate this one (link.case_id)
    collective: list[CaseLink]  # this case's own collective links
    group: list[str]  # every other case of its collective grievance, by id

    def other(self, link: CaseLink, case_id: str) -> str:
        return link.other_id if link.case_id == case_id else link.case_id


class CaseLinkStore:
    """The links between the cases of one operator store."""

    def __init__(self, store: OperatorStore) -> None:
        self.store = store
        with store.engine.begin() as connection:
            serialize(connection, "schema")  # desks starting at once on one PostgreSQL store
            _metadata.create_all(connection)

    def link(self, case_id: str, other_id: str, kind: str, by: str, at: datetime) -> CaseLink:
        """Link two cases (full ids); refused for a case itself, a pair already linked, a second original."""
        if kind not in KINDS:
            raise DeskError("not a kind of link")
        if case_id == other_id:
            raise DeskError("a case cannot be linked to itself")
        c = desk_case_links.c
        with self.store.engine.begin() as connection:
            serialize(connection, "case-links")  # the checks below stay true until this link is in
            pair = or_((c.case_id == case_id) & (c.other_id == other_id), (c.case_id == other_id) & (c.other_id == case_id))
            if connection.execute(select(c.link_id).where(pair)).first():
                raise DeskError("these two cases are linked already")
            if kind == "duplicate" and connection.execute(
                    select(c.link_id).where(c.kind == "duplicate", c.case_id == case_id)).first():
                raise DeskError("this case is marked as the duplicate of another case already")
            link = CaseLink(uuid.uuid4().hex, case_id, other_id, kind, by, stamp(at))
            connection.execute(insert(desk_case_links).values(**link.__dict__))
        return link

    def unlink(self, link_id: str, case_id: str) -> CaseLink | None:
        """Remove a link of this case (its full id); the link removed, or None when it has no such link."""
        c = desk_case_links.c
        with self.store.engine.begin() as connection:
            row = connection.execute(select(desk_case_links).where(
                c.link_id == link_id, or_(c.case_id == case_id, c.other_id == case_id))).mappings().first()
            if row is None:
                return None
            connection.execute(delete(desk_case_links).where(c.link_id == link_id))
        return CaseLink(**row)

    def of(self, case_id: str) -> CaseLinks:
        """The links of a case (its full id) and its whole collective group."""
        c = desk_case_links.c
        with self.store.engine.connect() as connection:
            rows = [CaseLink(**row) for row in connection.execute(
                select(desk_case_links).where(or_(c.case_id == case_id, c.other_id == case_id)).order_by(c.linked_at, c.link_id)
            ).mappings()]
            group = self._group(connection, case_id)
        return CaseLinks(
            duplicate_of=next((r for r in rows if r.kind == "duplicate" and r.case_id == case_id), None),
            duplicates=[r for r in rows if r.kind == "duplicate" and r.other_id == case_id],
            collective=[r for r in rows if r.kind == "collective"],
            group=sorted(group - {case_id}),
        )

    @staticmethod
    def _group(connection, case_id: str) -> set[str]:
        """Every case reachable from `case_id` through collective links (one query a step; groups are small)."""
        c = desk_case_links.c
        found, frontier = {case_id}, {case_id}
        while frontier:
            rows = connection.execute(select(c.case_id, c.other_id).where(
                c.kind == "collective", or_(c.case_id.in_(frontier), c.other_id.in_(frontier)))).all()
            reached = {member for row in rows for member in row} - found
            found |= reached
            frontier = reached
        return found
