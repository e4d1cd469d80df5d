"""Pages to the person on duty, as the desk sees them: the server's events, kept once and audited.

The intake server pages the person on duty and escalates (storage/duty.py, channels/duty_pager.py);
the desk pulls what happened (`GET /v1/duty/events`) with every pull, keeps each event once in
`desk_duty_events` (in the operator store, beside the audit log) and appends it to the audit log,
so every notification, escalation and acknowledgement is in the desk's hash chain. From the same
events the desk knows which pages are still open, and shows each beside its case with a button
that acknowledges it. Nothing here is content or an address: a reference, a case id, a kind, the
roster name of a person, the kind of a way (sms, telegram...), the kind of a failure.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.exc import IntegrityError

from desk.operator_store import serialize

from .store import DeskStore

log = logging.getLogger(__name__)

SERVER_ACTOR = "duty-pager"  # the audit log's actor for what the intake server did
ENDED = ("acknowledged",)  # an unanswered page stays in the banner until someone acknowledges it

_metadata = MetaData()
desk_duty_events = Table(
    "desk_duty_events", _metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),  # the server's event number: each kept once
    Column("ref", String(12), nullable=False, index=True),
    Column("case_id", String(36), nullable=True, index=True),
    Column("kind", String(14), nullable=False),
    Column("person", String(60), nullable=True),
    Column("way", String(10), nullable=True),
    Column("detail", String(64), nullable=True),
    Column("at", String(20), nullable=False),
)


@dataclass(frozen=True)
class OpenPage:
    """A page nobody has acknowledged yet, as the desk shows it beside its case."""

    ref: str
    shown_ref: str
    case_id: str | None
    reason: str
    since: str
    last: str  # the latest event: queued, sent, failed, retrying, escalated, unanswered
    person: str | None  # who was paged last (the roster's name)


def _shown(ref: str) -> str:
    return f"{ref[:3]}-{ref[3:]}" if len(ref) == 6 else ref


def _stamp(value: str) -> str:
    return datetime.fromisoformat(value).strftime("%Y-%m-%dT%H:%M:%SZ")


class DutyLog:
    """The server's page events in the operator store, and the open pages they leave."""

    def __init__(self, desk: DeskStore) -> None:
        self.desk = desk
        self.engine = desk.engine
        with self.engine.begin() as connection:
            serialize(connection, "schema")
            _metadata.create_all(connection)

    def last_seq(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(desk_duty_events.c.seq).order_by(desk_duty_events.c.seq.desc()).limit(1)).scalar() or 0

    def record(self, events: list[dict], now: datetime) -> int:
        """Keep each event once and append it to the audit log; how many were new here."""
        new = 0
        for event in sorted(events, key=lambda e: e["seq"]):
            row = {"seq": int(event["seq"]), "ref": str(event["ref"])[:12], "case_id": _optional(event.get("case_id"), 36),
                   "kind": str(event["kind"])[:14], "person": _optional(event.get("person"), 60),
                   "way": _optional(event.get("way"), 10), "detail": _optional(event.get("detail"), 64), "at": _stamp(event["at"])}
            try:
                with self.engine.begin() as connection:
                    connection.execute(insert(desk_duty_events).values(**row))
            except IntegrityError:  # another desk on the same store kept it (and audited it) first
                continue
            parts = [f"ref {_shown(row['ref'])}", f"at {row['at'][11:16]}Z", row["person"], row["way"], row["detail"]]
            target = row["case_id"] or f"page {_shown(row['ref'])}"
            self.desk.audit(SERVER_ACTOR, f"page_{row['kind']}", target, "; ".join(p for p in parts if p)[:200], now=now)
            new += 1
        return new

    def open_pages(self, since: str = "") -> list[OpenPage]:
        """Pages whose last event is not an end, oldest first (test pages are never open here: they need no one).

        Only pages queued after `since` (a stamp): the server forgets ended pages after
        `duty.keep_days`, so a desk that was off longer may never see how an older one ended."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(desk_duty_events).order_by(desk_duty_events.c.seq)).mappings().all()
        pages: dict[str, dict] = {}
        for row in rows:
            page = pages.setdefault(row["ref"], {"case_id": row["case_id"], "since": row["at"], "reason": "", "person": None})
            # An end is for good: a message the pager had in flight when someone acknowledged is
            # recorded after the acknowledgement ("sent"), and must not reopen the page.
            if page.get("last") not in ENDED:
                page["last"] = row["kind"]
            if row["kind"] == "queued":
                page["reason"] = row["detail"] or ""
            if row["person"]:
                page["person"] = row["person"]
        return [OpenPage(ref, _shown(ref), page["case_id"], page["reason"], page["since"], page["last"], page["person"])
                for ref, page in pages.items() if page["last"] not in ENDED and page["reason"] != "test" and page["since"] >= since]

    def case_of(self, ref: str) -> str | None:
        with self.engine.connect() as connection:
            return connection.execute(select(desk_duty_events.c.case_id).where(desk_duty_events.c.ref == ref).limit(1)).scalar()


def _optional(value, length: int) -> str | None:
    return None if value is None else str(value)[:length]


def pull_duty_events(client, duty_log: DutyLog, now: datetime) -> int:
    """Fetch the server's page events since the last one kept here and record them; how many were new."""
    from desk.operator_client import OperatorApiError

    total = 0
    while True:
        try:
            events = client.duty_events(duty_log.last_seq())
        except OperatorApiError as error:
            if error.status == 404:  # a server from before paging: nothing to pull
                return total
            raise
        if not events:
            return total
        total += duty_log.record(events, now)
        if len(events) < 500:
            return total
