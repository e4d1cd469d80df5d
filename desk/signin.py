"""How often one may try to sign in to the desk, counted on the server: throttles and pending sign-ins.

Passwords, without a CAPTCHA and without letting a stranger lock staff out (OWASP's "device
cookies"): a browser in which the account signed in fully before carries a signed device
cookie (desk/web/auth.py), and its wrong passwords slow down that browser only ("device").
Any other client is slowed down per address ("client": one machine trying many names) and per
account ("account": many machines guessing one name); the account's delay applies to new
browsers only, so a stranger can make a new browser wait, never the ones staff use. Delays
grow: a few free tries, then 30 s, doubling up to 15 minutes; after 100 wrong passwords in a
row from new browsers the account waits for an admin (NIST SP 800-63B allows at most 100
consecutive failures), which still holds when the guesses come from many addresses. Every try
is counted before the password is checked, so parallel requests cannot slip past the count.

The second step: after the right password, the sign-in waits on the server (a random id in the
cookie, its hash here) for the code. Three wrong codes end it; five wrong codes in a row for the
account, across sign-ins, lock the account's second step until an admin unlocks it. Replaying
an old cookie or signing in again starts no fresh count.

What was typed as a username (perhaps a password typed in the wrong box), the address and the
device are kept only as keyed hashes (crypto.desk_throttle_tag).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Boolean, Column, Integer, LargeBinary, MetaData, String, Table, delete, insert, select, update

from desk.operator_store import serialize
from desk.store import DeskStore, parse_stamp, stamp
from storage.crypto import desk_secrets

PENDING_FOR = timedelta(minutes=5)  # between the right password and the code
CODES_PER_SIGNIN = 3
CODES_IN_A_ROW = 5  # wrong codes for one account, across sign-ins, before its second step is locked


@dataclass(frozen=True)
class Policy:
    """How one kind of throttle slows down: `free` failures, then waits that double up to `longest_wait`."""

    free: int
    first_wait: timedelta = timedelta(seconds=30)
    longest_wait: timedelta = timedelta(minutes=15)
    hold_after: int | None = None  # failures in a row after which only an admin's unlock helps
    forget_after: timedelta | None = None  # a quiet time after which the failures are forgotten

    def wait(self, failures: int) -> timedelta | None:
        if failures < self.free:
            return None
        return min(self.first_wait * 2 ** min(failures - self.free, 16), self.longest_wait)


POLICIES = {
    "client": Policy(free=10, forget_after=timedelta(days=1)),  # addresses change hands: forget after a quiet day
    "account": Policy(free=5, hold_after=100),
    "device": Policy(free=5),
    "code": Policy(free=CODES_IN_A_ROW, hold_after=CODES_IN_A_ROW),
}

_metadata = MetaData()
desk_throttle = Table(
    "desk_throttle", _metadata,
    Column("scope", String(10), primary_key=True),  # client | account | device | code
    Column("tag", String(40), primary_key=True),  # keyed hash of the address, the name typed, the device
    Column("account", String(40), nullable=True, index=True),  # keyed hash of the name it concerns (None for an address)
    Column("failures", Integer, nullable=False),
    Column("wait_until", String(20), nullable=True),
    Column("held", Boolean, nullable=False),  # until an admin unlocks
    Column("last_failure", String(20), nullable=False),
)
desk_pending_signins = Table(
    "desk_pending_signins", _metadata,
    Column("pending_hash", String(64), primary_key=True),
    Column("username", String(64), nullable=False, index=True),
    Column("started_at", String(20), nullable=False),
    Column("wrong_codes", Integer, nullable=False),
    Column("new_secret", LargeBinary, nullable=True),  # encrypted: the TOTP seed being set up, if any
)


@dataclass(frozen=True)
class Refusal:
    """Why a try was not even looked at: which throttle, and until when (None: until an admin unlocks)."""

    scope: str
    until: datetime | None

    def seconds(self, now: datetime) -> int | None:
        return None if self.until is None else max(1, int((self.until - now).total_seconds() + 0.999))


@dataclass(frozen=True)
class PasswordTry:
    """A counted try: refused, or allowed; `slows` says which waits begin if the password is wrong."""

    refused: Refusal | None
    slows: tuple[tuple[str, timedelta | None], ...] = ()  # (scope, wait; None: held for an admin)


@dataclass(frozen=True)
class CodeTry:
    """A counted code: its number in this sign-in and in a row for the account."""

    number: int
    in_a_row: int

    @property
    def ends_signin(self) -> bool:
        return self.number >= CODES_PER_SIGNIN

    @property
    def locks_account(self) -> bool:
        return self.in_a_row >= CODES_IN_A_ROW


@dataclass(frozen=True)
class Pending:
    pending_id: str
    username: str
    wrong_codes: int
    new_secret: str | None


def _pending_hash(pending_id: str) -> str:
    return hashlib.sha256(pending_id.encode()).hexdigest()


class SignInGuard:
    """The throttles and pending sign-ins of one desk store."""

    def __init__(self, store: DeskStore) -> None:
        self.engine, self.key = store.engine, store.key
        with self.engine.begin() as connection:
            serialize(connection, "schema")
            _metadata.create_all(connection)

    def _tag(self, scope: str, value: str) -> str:
        return desk_secrets.desk_throttle_tag(self.key, scope, value)

    def _scopes(self, username: str, client: str, device: str | None) -> list[tuple[str, str, str | None]]:
        account = self._tag("account", username)
        if device:  # a browser this account signed in from: only its own count applies
            return [("device", self._tag("device", device), account)]
        return [("client", self._tag("client", client), None), ("account", account, account)]

    @staticmethod
    def _row(connection, scope: str, tag: str):
        return connection.execute(select(desk_throttle).where(desk_throttle.c.scope == scope, desk_throttle.c.tag == tag)).mappings().first()

    @staticmethod
    def _failures(row, now: datetime) -> int:
        if row is None:
            return 0
        forget = POLICIES[row["scope"]].forget_after
        return 0 if forget and now - parse_stamp(row["last_failure"]) > forget else row["failures"]

    def _count(self, connection, scope: str, tag: str, account: str | None, now: datetime) -> tuple[int, timedelta | None]:
        """One more failure in this throttle; its count and the wait it now imposes (None: none)."""
        row = self._row(connection, scope, tag)
        policy, failures = POLICIES[scope], self._failures(row, now) + 1
        wait = policy.wait(failures)
        held = bool(policy.hold_after and failures >= policy.hold_after)
        values = {"failures": failures, "wait_until": stamp(now + wait) if wait else None, "held": held, "last_failure": stamp(now)}
        if row is None:
            connection.execute(insert(desk_throttle).values(scope=scope, tag=tag, account=account, **values))
        else:
            connection.execute(update(desk_throttle).where(desk_throttle.c.scope == scope, desk_throttle.c.tag == tag).values(**values))
        return failures, wait

    # ------------------------------------------------------------ passwords

    def try_password(self, username: str, client: str, device: str | None, now: datetime) -> PasswordTry:
        """Count one try before the password is checked (parallel tries see each other); refused while a throttle waits."""
        scopes = self._scopes(username, client, device)
        with self.engine.begin() as connection:
            serialize(connection, "signin")
            forget = now - POLICIES["client"].forget_after
            connection.execute(delete(desk_throttle).where(desk_throttle.c.scope == "client", desk_throttle.c.last_failure < stamp(forget)))
            refusals = []
            for scope, tag, _account in scopes:
                row = self._row(connection, scope, tag)
                if row is not None and row["held"]:
                    return PasswordTry(Refusal(scope, None))
                if row is not None and row["wait_until"] and self._failures(row, now) and parse_stamp(row["wait_until"]) > now:
                    refusals.append(Refusal(scope, parse_stamp(row["wait_until"])))
            if refusals:  # the longest wait is the one that holds
                return PasswordTry(max(refusals, key=lambda refusal: refusal.until))
            slows = []
            for scope, tag, account in scopes:
                failures, wait = self._count(connection, scope, tag, account, now)
                hold_after = POLICIES[scope].hold_after
                if hold_after and failures == hold_after:
                    slows.append((scope, None))
                elif wait:
                    slows.append((scope, wait))
        return PasswordTry(None, tuple(slows))

    def password_right(self, username: str, client: str, device: str | None) -> None:
        """The password was right: the try counted for it was no failure, and earlier ones are forgiven."""
        with self.engine.begin() as connection:
            for scope, tag, _account in self._scopes(username, client, device):
                connection.execute(delete(desk_throttle).where(desk_throttle.c.scope == scope, desk_throttle.c.tag == tag))

    # ------------------------------------------------------------ the second step

    def second_step_locked(self, username: str) -> bool:
        with self.engine.connect() as connection:
            row = self._row(connection, "code", self._tag("account", username))
        return bool(row is not None and row["held"])

    def start_pending(self, username: str, now: datetime, new_secret: str | None = None) -> str:
        """A sign-in waiting for its code (and, for a first sign-in, the seed being set up); its id goes in the cookie."""
        pending_id = secrets.token_urlsafe(32)
        sealed = desk_secrets.encrypt_pending_totp_secret(self.key, pending_id, new_secret) if new_secret else None
        with self.engine.begin() as connection:
            connection.execute(delete(desk_pending_signins).where(desk_pending_signins.c.started_at < stamp(now - PENDING_FOR)))
            connection.execute(insert(desk_pending_signins).values(pending_hash=_pending_hash(pending_id), username=username,
                                                                   started_at=stamp(now), wrong_codes=0, new_secret=sealed))
        return pending_id

    def pending(self, pending_id: str, now: datetime) -> Pending | None:
        """The sign-in waiting under this id, if it is not over (too old, too many wrong codes, finished)."""
        with self.engine.connect() as connection:
            row = connection.execute(select(desk_pending_signins).where(
                desk_pending_signins.c.pending_hash == _pending_hash(pending_id))).mappings().first()
        if row is None or now - parse_stamp(row["started_at"]) > PENDING_FOR or row["wrong_codes"] >= CODES_PER_SIGNIN:
            return None
        secret = desk_secrets.decrypt_pending_totp_secret(self.key, pending_id, row["new_secret"]) if row["new_secret"] else None
        return Pending(pending_id, row["username"], row["wrong_codes"], secret)

    def try_code(self, pending: Pending, now: datetime) -> CodeTry | None:
        """Count one code before it is checked; None when this sign-in or the account may try no more."""
        account = self._tag("account", pending.username)
        key = _pending_hash(pending.pending_id)
        with self.engine.begin() as connection:
            serialize(connection, "signin")
            row = connection.execute(select(desk_pending_signins.c.wrong_codes, desk_pending_signins.c.started_at).where(
                desk_pending_signins.c.pending_hash == key)).first()
            code = self._row(connection, "code", account)
            if (row is None or row.wrong_codes >= CODES_PER_SIGNIN or now - parse_stamp(row.started_at) > PENDING_FOR
                    or (code is not None and code["held"])):
                return None
            connection.execute(update(desk_pending_signins).where(desk_pending_signins.c.pending_hash == key).values(
                wrong_codes=row.wrong_codes + 1))
            in_a_row, _wait = self._count(connection, "code", account, account, now)
        return CodeTry(row.wrong_codes + 1, in_a_row)

    def code_wrong(self, username: str, now: datetime) -> int:
        """A wrong code outside a sign-in (a signed-in user's new recovery codes): counted in a row; locks at CODES_IN_A_ROW."""
        account = self._tag("account", username)
        with self.engine.begin() as connection:
            serialize(connection, "signin")
            in_a_row, _wait = self._count(connection, "code", account, account, now)
        return in_a_row

    def code_right(self, pending: Pending) -> None:
        """The code was right: the account's count of wrong codes starts again, and this sign-in is done."""
        with self.engine.begin() as connection:
            connection.execute(delete(desk_throttle).where(desk_throttle.c.scope == "code",
                                                           desk_throttle.c.tag == self._tag("account", pending.username)))
        self.end_pending(pending.pending_id)

    def end_pending(self, pending_id: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(desk_pending_signins).where(desk_pending_signins.c.pending_hash == _pending_hash(pending_id)))

    # ------------------------------------------------------------ what an admin sees and does

    def unlock(self, username: str) -> bool:
        """Forget every count about this account (its name, its devices, its second step); True if there was one."""
        with self.engine.begin() as connection:
            done = connection.execute(delete(desk_throttle).where(desk_throttle.c.account == self._tag("account", username))).rowcount
            connection.execute(delete(desk_pending_signins).where(desk_pending_signins.c.username == username))
        return bool(done)

    def states(self, usernames: list[str], now: datetime) -> dict[str, str]:
        """username -> what holds it back now: "code-locked", "held", "slowed" (new browsers wait), or "" (nothing)."""
        tags = {self._tag("account", name): name for name in usernames}
        found = dict.fromkeys(usernames, "")
        with self.engine.connect() as connection:
            rows = connection.execute(select(desk_throttle).where(desk_throttle.c.scope.in_(("account", "code")),
                                                                  desk_throttle.c.tag.in_(list(tags)))).mappings().all()
        for row in sorted(rows, key=lambda r: r["scope"] != "code"):  # a locked second step says the most
            name = tags[row["tag"]]
            if found[name]:
                continue
            if row["held"]:
                found[name] = "code-locked" if row["scope"] == "code" else "held"
            elif row["wait_until"] and parse_stamp(row["wait_until"]) > now:
                found[name] = "slowed"
        return found
