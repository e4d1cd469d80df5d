"""What the desk keeps beside the cases: accounts, sessions, notes, assignments, labels, companies, referrals, the audit log.

The tables live in the operator store's own file (desk/operator_store.py), so one
backup holds a mechanism's whole desk. Nothing here holds a worker's words in the clear:
internal notes and TOTP seeds are encrypted under the operator store key (derived from
the operator's private key); passwords are Argon2id hashes; sessions are kept as hashes
of their random ids; the audit log (desk/audit.py) says who did what to which case and when,
never what a case says. How often one may try to sign in is kept by desk/signin.py.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Boolean, Column, Integer, LargeBinary, MetaData, String, Table, delete, func, insert, select, update

from storage import crypto
from desk.audit import AuditEntry, AuditLog, Head
from desk.operator_store import OperatorStore, serialize

ROLES = ("admin", "caseworker", "analyst")
IDLE_LIMIT = timedelta(minutes=30)
ABSOLUTE_LIMIT = timedelta(hours=8)

_metadata = MetaData()
desk_users = Table(
    "desk_users", _metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("totp_secret", LargeBinary, nullable=True),  # encrypted; None until enrolled
    Column("totp_required", Boolean, nullable=False),
    Column("last_totp_step", Integer, nullable=False, default=0),  # a code is accepted once (no replay)
    Column("failed_logins", Integer, nullable=False, default=0),  # no longer read: desk/signin.py keeps the throttles
    Column("locked_until", String(20), nullable=True),  # no longer read (stores made before it still have it)
    Column("disabled", Boolean, nullable=False, default=False),
    Column("language", String(8), nullable=False, default="en"),
    Column("generation", Integer, nullable=False, default=0),  # bumped on reset/disable: ends every session
)
desk_sessions = Table(
    "desk_sessions", _metadata,
    Column("sid_hash", String(64), primary_key=True),
    Column("username", String(64), nullable=False),
    Column("generation", Integer, nullable=False),
    Column("created_at", String(20), nullable=False),
    Column("last_seen_at", String(20), nullable=False),
)
desk_notes = Table(
    "desk_notes", _metadata,
    Column("note_id", String(32), primary_key=True),
    Column("case_id", String(36), nullable=False, index=True),
    Column("author", String(64), nullable=False),
    Column("created_at", String(20), nullable=False),
    Column("body", LargeBinary, nullable=False),  # encrypted
)
desk_assignments = Table(
    "desk_assignments", _metadata,
    Column("case_id", String(36), primary_key=True),
    Column("username", String(64), nullable=False, index=True),
    Column("assigned_at", String(20), nullable=False),
    Column("assigned_by", String(64), nullable=False),
)
desk_labels = Table(
    "desk_labels", _metadata,
    Column("case_id", String(36), primary_key=True),
    Column("label", String(40), primary_key=True),
)
desk_seen = Table(
    "desk_seen", _metadata,
    Column("username", String(64), primary_key=True),
    Column("case_id", String(36), primary_key=True),
    Column("seen_at", String(20), nullable=False),
)
desk_companies = Table(
    "desk_companies", _metadata,
    Column("company_id", String(32), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("recipient", String(100), nullable=False),  # the company's age public key
)
desk_referrals = Table(
    "desk_referrals", _metadata,
    Column("referral_id", String(32), primary_key=True),
    Column("case_id", String(36), nullable=False, index=True),
    Column("company_id", String(32), nullable=False),
    Column("referred_by", String(64), nullable=False),
    Column("referred_at", String(20), nullable=False),
    Column("sealed", LargeBinary, nullable=False),  # what the company gets, sealed to its key (the desk cannot reopen it)
)


class DeskError(Exception):
    """A refused desk action; the message is safe to show."""


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class User:
    username: str
    role: str
    totp_enrolled: bool
    totp_required: bool
    disabled: bool
    language: str
    generation: int


@dataclass(frozen=True)
class Note:
    note_id: str
    author: str
    created_at: str
    text: str


class DeskStore:
    """The desk's tables in the operator store's file, opened with the operator store's key."""

    def __init__(self, cases: OperatorStore, audit_heads: Path | None = None) -> None:
        self.cases = cases
        self.engine = cases.engine
        self.key = cases.key
        self.hasher = PasswordHasher()  # Argon2id with the library's current parameters
        self._decoy: str | None = None
        with self.engine.begin() as connection:
            serialize(connection, "schema")  # desks starting at once on one PostgreSQL store
            _metadata.create_all(connection)
        self.audit_log = AuditLog(self.engine, self.key, audit_heads)  # heads of the log go to `audit_heads`, outside the store

    # ------------------------------------------------------------ accounts

    def add_user(self, username: str, password: str, role: str, *, totp_required: bool = False, language: str = "en") -> None:
        if role not in ROLES:
            raise DeskError(f"role must be one of {', '.join(ROLES)}")
        if not username or len(username) > 64 or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise DeskError("a username is 1 to 64 letters, digits, '.', '-' or '_'")
        check_password(password)
        with self.engine.begin() as connection:
            if connection.execute(select(desk_users.c.username).where(desk_users.c.username == username)).first():
                raise DeskError("that username is taken")
            connection.execute(insert(desk_users).values(
                username=username, password_hash=self.hasher.hash(password), role=role, totp_secret=None,
                totp_required=totp_required or role == "admin", last_totp_step=0, failed_logins=0, locked_until=None,
                disabled=False, language=language, generation=0,
            ))

    def user(self, username: str) -> User | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(desk_users).where(desk_users.c.username == username)).mappings().first()
        return None if row is None else self._user(row)

    @staticmethod
    def _user(row) -> User:
        return User(row["username"], row["role"], row["totp_secret"] is not None, bool(row["totp_required"]),
                    bool(row["disabled"]), row["language"], row["generation"])

    def users(self) -> list[User]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(desk_users).order_by(desk_users.c.username)).mappings().all()
        return [self._user(row) for row in rows]

    def check_password(self, username: str, password: str, now: datetime) -> User | None:
        """The user when the password is right and the account usable; None otherwise (same answer for every reason).

        Exactly one Argon2id verification whatever the name: an unknown or disabled account takes
        as long as a wrong password, so the time of the answer does not say which names exist.
        How often one may try is desk/signin.py's business, before this is called.
        """
        decoy = self._decoy_hash()  # made at the first sign-in, whoever it is for
        with self.engine.connect() as connection:
            row = connection.execute(select(desk_users).where(desk_users.c.username == username)).mappings().first()
        try:
            right = self.hasher.verify(row["password_hash"] if row is not None else decoy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            right = False
        if row is None or not right or row["disabled"]:
            return None
        if self.hasher.check_needs_rehash(row["password_hash"]):
            with self.engine.begin() as connection:
                connection.execute(update(desk_users).where(desk_users.c.username == username).values(
                    password_hash=self.hasher.hash(password)))
        return self._user(row)

    def _decoy_hash(self) -> str:
        """An Argon2id hash of a random password, verified against for names that have no account."""
        if self._decoy is None:
            self._decoy = self.hasher.hash(secrets.token_urlsafe(24))
        return self._decoy

    def set_password(self, username: str, password: str) -> None:
        """A new password, and every session of the user ended (a reset by an admin, or a recovery)."""
        check_password(password)
        with self.engine.begin() as connection:
            done = connection.execute(update(desk_users).where(desk_users.c.username == username).values(
                password_hash=self.hasher.hash(password), failed_logins=0, locked_until=None,
                generation=desk_users.c.generation + 1, totp_secret=None, last_totp_step=0)).rowcount
        if not done:
            raise DeskError("no such user")

    def set_disabled(self, username: str, disabled: bool) -> None:
        with self.engine.begin() as connection:
            done = connection.execute(update(desk_users).where(desk_users.c.username == username).values(
                disabled=disabled, generation=desk_users.c.generation + 1)).rowcount
        if not done:
            raise DeskError("no such user")

    def set_language(self, username: str, language: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(desk_users).where(desk_users.c.username == username).values(language=language))

    # ------------------------------------------------------------ second factor

    def totp_secret(self, username: str) -> str | None:
        with self.engine.connect() as connection:
            blob = connection.execute(select(desk_users.c.totp_secret).where(desk_users.c.username == username)).scalar()
        return None if blob is None else crypto.decrypt_totp_secret(self.key, username, blob)

    def enroll_totp(self, username: str, secret: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(desk_users).where(desk_users.c.username == username).values(
                totp_secret=crypto.encrypt_totp_secret(self.key, username, secret), last_totp_step=0))

    def use_totp_step(self, username: str, step: int) -> bool:
        """Record that the code of time step `step` was used; False if it (or a later one) was used already."""
        with self.engine.begin() as connection:
            return connection.execute(update(desk_users).where(
                desk_users.c.username == username, desk_users.c.last_totp_step < step).values(last_totp_step=step)).rowcount == 1

    # ------------------------------------------------------------ sessions

    def new_session(self, user: User, now: datetime) -> str:
        sid = secrets.token_urlsafe(32)
        with self.engine.begin() as connection:
            connection.execute(insert(desk_sessions).values(
                sid_hash=hashlib.sha256(sid.encode()).hexdigest(), username=user.username, generation=user.generation,
                created_at=stamp(now), last_seen_at=stamp(now)))
        return sid

    def session_user(self, sid: str, now: datetime) -> User | None:
        """The signed-in user of session `sid`, its idle time renewed; None (and the session gone) when it expired."""
        sid_hash = hashlib.sha256(sid.encode()).hexdigest()
        with self.engine.begin() as connection:
            row = connection.execute(select(desk_sessions).where(desk_sessions.c.sid_hash == sid_hash)).mappings().first()
            if row is None:
                return None
            user_row = connection.execute(select(desk_users).where(desk_users.c.username == row["username"])).mappings().first()
            expired = (now - parse_stamp(row["last_seen_at"]) > IDLE_LIMIT or now - parse_stamp(row["created_at"]) > ABSOLUTE_LIMIT)
            if expired or user_row is None or user_row["disabled"] or user_row["generation"] != row["generation"]:
                connection.execute(delete(desk_sessions).where(desk_sessions.c.sid_hash == sid_hash))
                return None
            connection.execute(update(desk_sessions).where(desk_sessions.c.sid_hash == sid_hash).values(last_seen_at=stamp(now)))
        return self._user(user_row)

    def end_session(self, sid: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(desk_sessions).where(desk_sessions.c.sid_hash == hashlib.sha256(sid.encode()).hexdigest()))

    # ------------------------------------------------------------ work on cases

    def add_note(self, case_id: str, author: str, text: str, now: datetime) -> str:
        text = text.strip()
        if not text:
            raise DeskError("a note needs some text")
        note_id = uuid.uuid4().hex
        with self.engine.begin() as connection:
            connection.execute(insert(desk_notes).values(note_id=note_id, case_id=case_id, author=author, created_at=stamp(now),
                                                        body=crypto.encrypt_desk_note(self.key, note_id, text)))
        return note_id

    def notes(self, case_id: str) -> list[Note]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(desk_notes).where(desk_notes.c.case_id == case_id).order_by(desk_notes.c.created_at,
                                                                                                       desk_notes.c.note_id)).mappings().all()
        return [Note(r["note_id"], r["author"], r["created_at"], crypto.decrypt_desk_note(self.key, r["note_id"], r["body"])) for r in rows]

    def assign(self, case_id: str, username: str | None, by: str, now: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(desk_assignments).where(desk_assignments.c.case_id == case_id))
            if username:
                user = connection.execute(select(desk_users.c.role, desk_users.c.disabled).where(desk_users.c.username == username)).first()
                if user is None or user.disabled or user.role == "analyst":
                    raise DeskError("cases can be assigned to active admins and caseworkers only")
                connection.execute(insert(desk_assignments).values(case_id=case_id, username=username, assigned_at=stamp(now), assigned_by=by))

    def reassign_all(self, from_user: str, to_user: str, by: str, now: datetime) -> int:
        """Every case of `from_user` to `to_user` (someone leaves); the number moved."""
        with self.engine.connect() as connection:
            case_ids = connection.execute(select(desk_assignments.c.case_id).where(desk_assignments.c.username == from_user)).scalars().all()
        for case_id in case_ids:
            self.assign(case_id, to_user, by, now)
        return len(case_ids)

    def assignments(self, case_ids: Iterable[str] | None = None) -> dict[str, str]:
        """Who each case is assigned to: of every case, or of `case_ids` only (a page of a list)."""
        query = select(desk_assignments.c.case_id, desk_assignments.c.username)
        if case_ids is not None:
            query = query.where(desk_assignments.c.case_id.in_(list(case_ids)))
        with self.engine.connect() as connection:
            return dict(connection.execute(query).all())

    def assigned_cases(self, username: str | None = None) -> set[str]:
        """The ids of the cases assigned to `username` (None: to anyone)."""
        query = select(desk_assignments.c.case_id)
        if username is not None:
            query = query.where(desk_assignments.c.username == username)
        with self.engine.connect() as connection:
            return set(connection.execute(query).scalars())

    def labelled(self, label: str) -> set[str]:
        """The ids of the cases that carry `label`."""
        with self.engine.connect() as connection:
            return set(connection.execute(select(desk_labels.c.case_id).where(desk_labels.c.label == label)).scalars())

    def set_labels(self, case_id: str, labels: list[str]) -> None:
        clean = sorted({" ".join(label.split())[:40].lower() for label in labels if label.strip()})
        with self.engine.begin() as connection:
            connection.execute(delete(desk_labels).where(desk_labels.c.case_id == case_id))
            for label in clean:
                connection.execute(insert(desk_labels).values(case_id=case_id, label=label))

    def labels(self, case_ids: Iterable[str] | None = None) -> dict[str, list[str]]:
        """The labels of every case, or of `case_ids` only."""
        query = select(desk_labels.c.case_id, desk_labels.c.label).order_by(desk_labels.c.label)
        if case_ids is not None:
            query = query.where(desk_labels.c.case_id.in_(list(case_ids)))
        found: dict[str, list[str]] = {}
        with self.engine.connect() as connection:
            for case_id, label in connection.execute(query):
                found.setdefault(case_id, []).append(label)
        return found

    def mark_seen(self, username: str, case_id: str, now: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(desk_seen).where(desk_seen.c.username == username, desk_seen.c.case_id == case_id))
            connection.execute(insert(desk_seen).values(username=username, case_id=case_id, seen_at=stamp(now)))

    def seen(self, username: str) -> dict[str, str]:
        with self.engine.connect() as connection:
            return dict(connection.execute(select(desk_seen.c.case_id, desk_seen.c.seen_at).where(desk_seen.c.username == username)).all())

    # ------------------------------------------------------------ companies and referrals

    def add_company(self, name: str, recipient: str) -> str:
        name = " ".join(name.split())
        if not name:
            raise DeskError("a company needs a name")
        try:
            crypto.export_recipients([recipient.strip()])
        except crypto.CryptoError:
            raise DeskError("not an age public key (age1...)") from None
        company_id = uuid.uuid4().hex
        with self.engine.begin() as connection:
            if connection.execute(select(desk_companies.c.company_id).where(desk_companies.c.name == name)).first():
                raise DeskError("that company is in the directory already")
            connection.execute(insert(desk_companies).values(company_id=company_id, name=name, recipient=recipient.strip()))
        return company_id

    def companies(self) -> list[tuple[str, str, str]]:
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(
                select(desk_companies.c.company_id, desk_companies.c.name, desk_companies.c.recipient).order_by(desk_companies.c.name))]

    def add_referral(self, case_id: str, company_id: str, by: str, sealed: bytes, now: datetime, referral_id: str | None = None) -> str:
        referral_id = referral_id or uuid.uuid4().hex  # given when the sealed file names its own id
        with self.engine.begin() as connection:
            connection.execute(insert(desk_referrals).values(referral_id=referral_id, case_id=case_id, company_id=company_id,
                                                            referred_by=by, referred_at=stamp(now), sealed=sealed))
        return referral_id

    def referrals(self, case_id: str | None = None) -> list[dict]:
        query = select(desk_referrals.c.referral_id, desk_referrals.c.case_id, desk_referrals.c.referred_by,
                       desk_referrals.c.referred_at, desk_companies.c.name).join(
            desk_companies, desk_companies.c.company_id == desk_referrals.c.company_id)
        if case_id:
            query = query.where(desk_referrals.c.case_id == case_id)
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query.order_by(desk_referrals.c.referred_at)).mappings()]

    def sealed_referral(self, referral_id: str) -> bytes:
        with self.engine.connect() as connection:
            return connection.execute(select(desk_referrals.c.sealed).where(desk_referrals.c.referral_id == referral_id)).scalar_one()

    # ------------------------------------------------------------ the audit log (desk/audit.py)

    def audit(self, actor: str, action: str, target: str = "-", detail: str = "", now: datetime | None = None) -> None:
        """Append one line: who, what, which case or user, when; each line's keyed hash covers the one before it."""
        self.audit_log.append(actor, action, target, detail, now or datetime.now(UTC))

    def audit_entries(self, limit: int | None = None) -> list[AuditEntry]:
        return self.audit_log.entries(limit)

    def verify_audit(self, heads: Iterable[tuple[str, Head]] = ()) -> tuple[bool, str]:
        """(True, summary) when the chain is whole (and holds these heads); (False, where it breaks) otherwise."""
        return self.audit_log.verify(heads)

    def close(self) -> None:
        """Done with the store: a head of what this process wrote goes to the heads file, then the store is closed."""
        self.audit_log.close()
        self.cases.close()

    def count_users(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(desk_users)).scalar_one()


def check_password(password: str) -> None:
    """A desk password: long enough to resist guessing (NIST 800-63B: length over composition rules)."""
    if len(password) < 12:
        raise DeskError("a password needs at least 12 characters")
    if len(password) > 256:
        raise DeskError("a password can have at most 256 characters")
