"""The operator's local case store, on the operator's own machine, encrypted at rest.

`grievance cases pull --key FILE` (desk/pull.py) opens each sealed case from the queue with
the operator's private key and keeps it here, re-encrypted under a key derived
from that same private key: a copied store file is useless without it. Only
the fields an operator filters on (category, urgency, status, date) are kept
readable beside the ciphertext; none of them identifies a worker.

Each status change (desk/lifecycle.py says which are allowed) is kept as history:
when, from, to, whether forced, all readable; the reason, which may hold notes about
the case, encrypted like the records.

Store formats: 1 had the cases only; 2 adds the status history and a format marker.
Opening a format-1 file adds the missing tables and keeps every case.

Where it lives (`operator.store`): a SQLite file on one machine, or a PostgreSQL database
shared by a team's desks on several machines (`StoreLocation`). Several desks may pull into
one store at once: a case inserted twice is no error (`add` says it was already here), a
merge of an alert and its report locks the row, and creating the tables is serialized.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    and_,
    func,
    text,
    insert,
    inspect,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError

from storage import crypto
from .store_location import StoreLocation, open_store, open_store_file, store_location  # noqa: F401  (where callers find them)
from .lifecycle import OPEN_STATUSES, ServiceLevels, TransitionError, check_transition, due_dates, received_before

STORE_FORMAT = 2
# A case is named by its id or a unique prefix of at least this many characters: shorter ones
# would match another case as soon as the store grows (`cases list` shows the first 8).
CASE_PREFIX_MIN = 6

_metadata = MetaData()
operator_cases = Table(
    "operator_cases",
    _metadata,
    Column("case_id", String(36), primary_key=True),
    Column("received_at", String(20), nullable=False),
    Column("category", String(40), nullable=False),
    Column("urgent", Boolean, nullable=False),
    Column("status", String(20), nullable=False),
    Column("record", LargeBinary, nullable=False),
)
# Exports page through cases in this order; a format-1 file gets the index on opening.
cases_by_received = Index("ix_operator_cases_received", operator_cases.c.received_at, operator_cases.c.case_id)
status_changes = Table(
    "status_changes",
    _metadata,
    Column("change_id", String(32), primary_key=True),
    Column("case_id", String(36), nullable=False),
    Column("seq", Integer, nullable=False),  # 1, 2, ... per case: the order of changes made in one minute
    Column("changed_at", String(20), nullable=False),
    Column("from_status", String(20), nullable=False),
    Column("to_status", String(20), nullable=False),
    Column("forced", Boolean, nullable=False),
    Column("reason", LargeBinary, nullable=False),  # encrypted: crypto.encrypt_status_reason
    Index("ix_status_changes_case", "case_id", "seq", unique=True),
)
# A case worker's re-categorisation: the readable `category` of operator_cases follows it (lists and
# reports), the sealed record keeps the category the case was filed under (desk/categories.py).
category_changes = Table(
    "category_changes",
    _metadata,
    Column("change_id", String(32), primary_key=True),
    Column("case_id", String(36), nullable=False, index=True),
    Column("seq", Integer, nullable=False),  # 1, 2, ... per case: the order of changes made in one minute
    Column("changed_at", String(20), nullable=False),
    Column("changed_by", String(64), nullable=False),
    Column("from_category", String(40), nullable=False),
    Column("to_category", String(40), nullable=False),
    Column("reason", LargeBinary, nullable=False),  # encrypted: crypto.encrypt_triage_reason
)
store_meta = Table(
    "store_meta",
    _metadata,
    Column("name", String(40), primary_key=True),
    Column("value", String(200), nullable=False),
)


class OperatorStoreError(Exception):
    """The store cannot be opened or does not belong to this key."""


class UnknownCaseError(OperatorStoreError):
    """No case (or more than one) matches the id given."""


class StatusChangeError(OperatorStoreError):
    """A status change was refused; the message says why."""


@dataclass(frozen=True)
class CaseSummary:
    case_id: str
    received_at: str
    category: str
    urgent: bool
    status: str


@dataclass(frozen=True)
class StatusChange:
    """One move of a case on the desk; `reason` is the operator's own words (kept encrypted)."""

    change_id: str
    case_id: str
    at: str  # UTC, to the minute: YYYY-MM-DDTHH:MM:00Z
    from_status: str
    to_status: str
    reason: str
    forced: bool


@dataclass(frozen=True)
class CaseFilter:
    """Which cases a listing or an export covers; dates are UTC days of `received_at`, both inclusive."""

    status: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    urgent_only: bool = False
    since: date | None = None
    until: date | None = None
    overdue_on: date | None = None  # only cases overdue on that day


@dataclass(frozen=True)
class StoredCase:
    """A case as read for an export: the record and where it stands."""

    record: dict
    status: str
    status_changed_at: str
    category: str = ""  # the case worker's category when they changed it, else the record's


def format_time(at: datetime) -> str:
    """A change time as kept: UTC, to the minute (as coarse as the desk needs)."""
    if at.tzinfo is None:
        raise ValueError("status change times must be timezone-aware")
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:00Z")


def serialize(connection, name: str) -> None:
    """First in a transaction: wait until no other process works on `name`, then hold it until commit.

    PostgreSQL: an advisory lock of the transaction. SQLite: the file's write lock, taken now
    (BEGIN IMMEDIATE) rather than at the first write, so what the transaction read stays true
    (the driver would otherwise read outside a transaction, and a second desk could write between).
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": f"grievance-desk:{name}"})
    elif connection.dialect.name == "sqlite" and not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class OperatorStore:
    """Cases the operator has pulled, opened only with the operator's key."""

    def __init__(self, location: StoreLocation | Path | str, identity: str, levels: ServiceLevels | None = None) -> None:
        self.engine = open_store(location)
        self.key = crypto.operator_store_key(identity)
        self.levels = levels or ServiceLevels()
        try:
            self._upgrade()
        except BaseException:
            self.engine.dispose()  # a refused store leaves no connection open
            raise

    def _upgrade(self) -> None:
        with self.engine.begin() as connection:
            serialize(connection, "schema")  # two desks starting at once on one database: one creates the tables
            # Refuse a newer format before touching anything in the file.
            if inspect(connection).has_table("store_meta"):
                found = connection.execute(select(store_meta.c.value).where(store_meta.c.name == "format")).scalar()
                if found is not None and (not found.isdigit() or int(found) > STORE_FORMAT):
                    raise OperatorStoreError("the operator store was written by a newer version of grievance: upgrade it first")
            # create_all adds only the tables a file lacks: a format-1 store keeps its cases as they are.
            _metadata.create_all(connection)
            cases_by_received.create(connection, checkfirst=True)
            found = connection.execute(select(store_meta.c.value).where(store_meta.c.name == "format")).scalar()
            if found is None:
                connection.execute(insert(store_meta).values(name="format", value=str(STORE_FORMAT)))
            elif int(found) < STORE_FORMAT:
                connection.execute(update(store_meta).where(store_meta.c.name == "format").values(value=str(STORE_FORMAT)))

    def format(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(store_meta.c.value).where(store_meta.c.name == "format")).scalar_one())

    def close(self) -> None:
        self.engine.dispose()

    def add(self, record: dict) -> bool:
        """Keep a case; False when it was already here (pulling twice is harmless).

        A case that began as an urgent alert arrives twice, as the alert and as the report
        (`kind`, same case id and code): the report replaces the alert and carries it under
        "alerts", so `get` shows both as one case; exports (`iter_cases`) hold the report only.
        """
        blob = self._seal(record)
        values = {
            "case_id": record["case_id"],
            "received_at": record["received_at"],
            "category": record["category"],
            "urgent": record["urgent"],
            "status": "received",
            "record": blob,
        }
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(operator_cases).values(**values))
        except IntegrityError:
            return self._merge(record)
        return True

    def _seal(self, record: dict) -> bytes:
        return crypto.encrypt_store_record(self.key, record["case_id"], json.dumps(record, ensure_ascii=False).encode())

    def _merge(self, record: dict) -> bool:
        """A case already kept arrives again: a redelivery (False), or an alert or the report of it.

        What is kept: the report once it came, else the newest alert, and under "alerts" every
        alert of the case that is not that record, in the order they came.
        """
        c, case_id = operator_cases.c, record["case_id"]
        with self.engine.begin() as connection:
            # Locked until commit: two desks merging an alert and its report at once must not lose one.
            serialize(connection, f"case:{case_id}")
            blob, received_at = connection.execute(
                select(c.record, c.received_at).where(c.case_id == case_id).with_for_update()
            ).one()
            main = self._open(case_id, blob)
            if main.get("code") != record.get("code"):  # not the same case: keep what is here
                return False
            alerts = main.pop("alerts", [])
            if main.get("kind") == "alert":
                alerts.append(main)
            if record.get("kind") == "alert":
                if record in alerts:
                    return False
                alerts.append(record)
                if main.get("kind") == "alert":
                    main = record  # the newest alert holds everything written so far
            elif main.get("kind", "report") == "report":
                return False
            else:
                main = record
            others = [alert for alert in alerts if alert != main]
            merged = {**main, "alerts": others} if others else main
            recategorised = connection.execute(
                select(category_changes.c.change_id).where(category_changes.c.case_id == case_id).limit(1)
            ).first()
            connection.execute(
                update(operator_cases)
                .where(c.case_id == case_id)
                .values(
                    record=self._seal(merged),
                    category=c.category if recategorised else merged["category"],  # a case worker's choice stands
                    urgent=True,
                    received_at=min(received_at, record["received_at"]),  # due dates run from the first
                )
            )
        return True

    # ------------------------------------------------------------ finding cases

    def _where(self, query, filters: CaseFilter):
        c = operator_cases.c
        if filters.urgent_only:
            query = query.where(c.urgent.is_(True))
        if filters.category:
            query = query.where(c.category.in_(filters.category))
        if filters.status:
            query = query.where(c.status.in_(filters.status))
        if filters.since:
            query = query.where(c.received_at >= received_before(filters.since))
        if filters.until:
            query = query.where(c.received_at < received_before(filters.until + timedelta(days=1)))
        if filters.overdue_on:
            # Overdue on day D: the due date (received day + N) is before D, i.e. received before D - N.
            day = filters.overdue_on
            late_ack = and_(c.status == "received", c.received_at < received_before(day - timedelta(days=self.levels.acknowledge_within_days)))
            late_feedback = and_(c.status.in_(OPEN_STATUSES), c.received_at < received_before(day - timedelta(days=self.levels.feedback_within_days)))
            query = query.where(or_(late_ack, late_feedback))
        return query

    def summaries(
        self, *, urgent_only: bool = False, category: str | None = None, status: str | None = None, filters: CaseFilter | None = None
    ) -> list[CaseSummary]:
        """Cases, urgent first, newest first within each."""
        filters = filters or CaseFilter(
            status=(status,) if status else (), category=(category,) if category else (), urgent_only=urgent_only
        )
        query = select(*(operator_cases.c[name] for name in CaseSummary.__dataclass_fields__))
        query = self._where(query, filters).order_by(operator_cases.c.urgent.desc(), operator_cases.c.received_at.desc())
        with self.engine.connect() as connection:
            return [CaseSummary(*row) for row in connection.execute(query)]

    def count(self, filters: CaseFilter) -> int:
        with self.engine.connect() as connection:
            return connection.execute(self._where(select(func.count()).select_from(operator_cases), filters)).scalar_one()

    def resolve(self, case_id: str) -> str | None:
        """The full id of the one case `case_id` names (itself, or a unique prefix of `CASE_PREFIX_MIN` characters)."""
        if len(case_id) < CASE_PREFIX_MIN:
            return None
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(operator_cases.c.case_id).where(operator_cases.c.case_id.startswith(case_id, autoescape=True)).limit(2)
            ).all()
        return rows[0][0] if len(rows) == 1 else None

    def _open(self, case_id: str, blob: bytes) -> dict:
        try:
            return json.loads(crypto.decrypt_store_record(self.key, case_id, blob))
        except crypto.DecryptionError:
            raise OperatorStoreError("this store was written with another operator key") from None

    def get(self, case_id: str) -> dict | None:
        """The full case record; `case_id` may be a unique prefix of at least 6 characters."""
        full_id = self.resolve(case_id)
        if full_id is None:
            return None
        with self.engine.connect() as connection:
            blob, status = connection.execute(
                select(operator_cases.c.record, operator_cases.c.status).where(operator_cases.c.case_id == full_id)
            ).one()
        return {**self._open(full_id, blob), "status": status}

    def iter_cases(self, filters: CaseFilter, batch: int = 500) -> Iterator[StoredCase]:
        """Cases oldest first, read in batches of `batch` rows (keyset pages), so memory stays flat."""
        c = operator_cases.c
        last_change = (
            select(func.max(status_changes.c.changed_at)).where(status_changes.c.case_id == c.case_id).scalar_subquery()
        )
        after: tuple[str, str] | None = None
        while True:
            query = self._where(select(c.case_id, c.received_at, c.status, c.record, last_change, c.category), filters)
            if after is not None:
                query = query.where(tuple_(c.received_at, c.case_id) > after)
            query = query.order_by(c.received_at, c.case_id).limit(batch)
            with self.engine.connect() as connection:
                rows = connection.execute(query).all()
            for case_id, received_at, status, blob, changed_at, category in rows:
                record = self._open(case_id, blob)
                record.pop("alerts", None)  # exports carry the report only: its fields are what the redaction knows
                yield StoredCase(record, status, changed_at or received_at, category)
            if len(rows) < batch:
                return
            after = (rows[-1][1], rows[-1][0])

    def stored_case(self, case_id: str) -> tuple[StoredCase, bool] | None:
        """One case (its full id) as `iter_cases` reads it, and whether the store holds it urgent."""
        c = operator_cases.c
        last_change = select(func.max(status_changes.c.changed_at)).where(status_changes.c.case_id == case_id).scalar_subquery()
        with self.engine.connect() as connection:
            row = connection.execute(select(c.received_at, c.status, c.record, c.urgent, last_change, c.category)
                                     .where(c.case_id == case_id)).first()
        if row is None:
            return None
        received_at, status, blob, urgent, changed_at, category = row
        record = self._open(case_id, blob)
        record.pop("alerts", None)
        return StoredCase(record, status, changed_at or received_at, category), bool(urgent)

    # ------------------------------------------------------------ the lifecycle

    def set_status(self, case_id: str, status: str, reason: str, at: datetime, *, force: bool = False) -> StatusChange:
        """Move a case (its full id) to `status`, with the operator's reason, at `at`; return the change.

        Refused with `StatusChangeError` when the lifecycle does not allow the move, the reason
        is empty, or `at` is before the case's last change. The check and the update are one
        conditional update, so two desks changing one case at once cannot both win.
        """
        reason = reason.strip()
        if not reason:
            raise StatusChangeError("a status change needs a reason")
        when = format_time(at)
        with self.engine.begin() as connection:
            row = connection.execute(
                select(operator_cases.c.status, operator_cases.c.received_at).where(operator_cases.c.case_id == case_id)
            ).one_or_none()
            if row is None:
                raise UnknownCaseError("no such case")
            current, received_at = row
            try:
                check_transition(current, status, force=force)
            except TransitionError as error:
                raise StatusChangeError(str(error)) from None
            seq, latest = connection.execute(
                select(func.count(), func.max(status_changes.c.changed_at)).where(status_changes.c.case_id == case_id)
            ).one()
            latest = latest or received_at
            if when < latest:
                raise StatusChangeError(f"the change time {when} is before the case's last change ({latest})")
            moved = connection.execute(
                update(operator_cases)
                .where(operator_cases.c.case_id == case_id, operator_cases.c.status == current)
                .values(status=status)
            ).rowcount
            if moved != 1:
                raise StatusChangeError("the case changed meanwhile; look at it again")
            change = StatusChange(uuid.uuid4().hex, case_id, when, current, status, reason, force)
            connection.execute(
                insert(status_changes).values(
                    change_id=change.change_id,
                    case_id=case_id,
                    seq=seq + 1,
                    changed_at=when,
                    from_status=current,
                    to_status=status,
                    forced=force,
                    reason=crypto.encrypt_status_reason(self.key, change.change_id, reason),
                )
            )
        return change

    def history(self, case_id: str) -> list[StatusChange]:
        """The status changes of a case (its full id), oldest first, reasons opened."""
        c = status_changes.c
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(c.change_id, c.case_id, c.changed_at, c.from_status, c.to_status, c.reason, c.forced)
                .where(c.case_id == case_id)
                .order_by(c.seq)
            ).all()
        changes = []
        for change_id, full_id, at, old, new, blob, forced in rows:
            try:
                reason = crypto.decrypt_status_reason(self.key, change_id, blob)
            except crypto.DecryptionError:
                raise OperatorStoreError("this store was written with another operator key") from None
            changes.append(StatusChange(change_id, full_id, at, old, new, reason, bool(forced)))
        return changes

    def due(self, received_at: str):
        """The due dates of a case received at `received_at`, under this store's service levels."""
        return due_dates(received_at, self.levels)
