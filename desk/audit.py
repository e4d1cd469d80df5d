"""The desk's audit log: a keyed hash chain in the store, and signed heads kept outside it.

Each line says who did what to which case or account, and when, never what a case says.
Each line's hash is an HMAC (crypto.desk_audit_chain_key, derived from the operator's private
key, never written anywhere) over the line and the hash of the line before it. So someone who
can write the store but holds no operator key (a database admin, anyone with the file) cannot
edit, remove, insert or reorder a line unseen: every line after it would need a new hash, and
only the key makes one.

What such a writer can still do is cut lines off the end, or wipe the whole log: what is left
is a chain whole in itself. Heads kept outside the store catch that (in the spirit of
Certificate Transparency's signed tree heads): a head line names the newest line's number and
hash, when it was seen, and carries the desk's Ed25519 signature. The desk appends one to its
heads file (`operator.audit_heads_file`, never in the store) on the first line it writes,
then at most a day apart, and when it stops; `grievance desk audit anchor` writes one on
demand, for a copy off the machine. `verify` with heads checks that every headed line is
still in the log with the same hash. A desk also remembers the last line it wrote and checks,
before each new one, that the store still holds it: a cut made while it runs is written to the
heads file as it is found.

Lines written by a desk before the chain was keyed (plain SHA-256) are accepted only before
the first keyed line, whose hash covers theirs: they are sealed from then on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, delete, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from desk.operator_store import serialize
from storage.crypto import desk_secrets

log = logging.getLogger(__name__)

GENESIS = "genesis"  # what the first line follows (not digits: a run of zeros reads like a number beside a case id)
LINE_FORMAT = "desk-audit/2"  # inside every keyed line's hash: a line of the plain format can never pass for one
HEAD_FORMAT = "grievance-desk-audit-head/1"
ANCHOR_EVERY = timedelta(days=1)
_STAMP = "%Y-%m-%dT%H:%M:%SZ"

_metadata = MetaData()
desk_audit = Table(
    "desk_audit", _metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(20), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target", String(64), nullable=False),
    Column("detail", String(200), nullable=False),  # never content: a status name, a username, a count
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
# The newest line's number and hash, kept apart from the lines: a cut made without updating it is
# seen without any head from outside (one that updates it needs the heads outside the store).
desk_audit_head = Table(
    "desk_audit_head", _metadata,
    Column("name", String(10), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    actor: str
    action: str
    target: str
    detail: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Head:
    """A signed statement: at `at`, the log's line `seq` had hash `hash`."""

    at: str
    seq: int
    hash: str
    signature: str = ""

    def signed_text(self) -> bytes:
        return f"{HEAD_FORMAT} {self.at} {self.seq} {self.hash}".encode()

    def line(self) -> str:
        return f"{HEAD_FORMAT} {self.at} {self.seq} {self.hash} {self.signature}"


class HeadError(ValueError):
    """A head line that cannot be read; the message names where it is."""


def parse_head(text: str, where: str) -> Head:
    parts = text.split()
    if len(parts) != 5 or parts[0] != HEAD_FORMAT or not parts[2].isdigit() or len(parts[3]) != 64:
        raise HeadError(f"{where} is not a head line ({HEAD_FORMAT} TIME LINE HASH SIGNATURE)")
    return Head(parts[1], int(parts[2]), parts[3], parts[4])


def read_heads(source: str | Path) -> list[tuple[str, Head]]:
    """The heads in a file, or one head line given as text; each with where it was found."""
    text = str(source)
    if text.startswith(HEAD_FORMAT):
        return [("the head given", parse_head(text, "the head given"))]
    path = Path(source)
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise HeadError(f"cannot read heads from {path}: {error.__class__.__name__}") from None
    return [(f"line {number} of {path}", parse_head(line, f"line {number} of {path}"))
            for number, line in enumerate(lines, 1) if line.strip() and not line.startswith("#")]


def heads_file_of(settings) -> Path | None:
    """Where this machine's desk keeps the heads of its audit log (`operator.audit_heads_file`)."""
    name = settings.operator.audit_heads_file
    return settings.path(name) if name else None


def _plain_hash(prev_hash: str, seq: int, at: str, actor: str, action: str, target: str, detail: str) -> str:
    """The hash of a line written before the chain was keyed (anyone can compute it)."""
    line = json.dumps([prev_hash, seq, at, actor, action, target, detail], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(line.encode()).hexdigest()


class AuditLog:
    """The audit lines of one store, keyed with the operator's key; heads go to `heads_file` when one is given."""

    def __init__(self, engine, store_key: bytes, heads_file: Path | None = None) -> None:
        self.engine = engine
        self._store_key = store_key
        self._chain_key = desk_secrets.desk_audit_chain_key(store_key)
        self.heads_file = heads_file
        self._lock = threading.Lock()
        self._written: AuditEntry | None = None  # the last line this process wrote
        self._anchored_seq = 0
        self._anchored_at = self._last_anchor_time()
        with engine.begin() as connection:
            serialize(connection, "schema")
            _metadata.create_all(connection)

    # ------------------------------------------------------------ writing

    def _mac(self, prev_hash: str, seq: int, at: str, actor: str, action: str, target: str, detail: str) -> str:
        line = json.dumps([LINE_FORMAT, prev_hash, seq, at, actor, action, target, detail], ensure_ascii=False,
                          separators=(",", ":"))
        return desk_secrets.audit_line_mac(self._chain_key, line.encode())

    def append(self, actor: str, action: str, target: str, detail: str, now: datetime) -> AuditEntry:
        """Append one line after the newest; two desks appending at once never fork the chain."""
        at = now.astimezone(UTC).strftime(_STAMP)
        for attempt in range(5):  # two desk processes appending at once on SQLite: the second takes the next number
            try:
                with self.engine.begin() as connection:
                    # On PostgreSQL (desks on several machines) appends wait for each other until commit:
                    # each reads the head the previous one wrote, so the chain never forks.
                    serialize(connection, "audit")
                    lost = self._lost_own_line(connection)
                    last = connection.execute(select(desk_audit.c.seq, desk_audit.c.hash).order_by(desk_audit.c.seq.desc()).limit(1)).first()
                    seq, prev_hash = (last.seq + 1, last.hash) if last else (1, GENESIS)
                    entry = AuditEntry(seq, at, actor, action, target, detail, prev_hash,
                                       self._mac(prev_hash, seq, at, actor, action, target, detail))
                    connection.execute(insert(desk_audit).values(**entry.__dict__))
                    connection.execute(delete(desk_audit_head))
                    connection.execute(insert(desk_audit_head).values(name="head", seq=seq, hash=entry.hash))
                break
            except IntegrityError:
                if attempt == 4:
                    raise
        if lost is not None:
            log.error("the audit log in the store no longer holds line %d as this desk wrote it: it was cut or "
                      "rewritten; that line's head is kept in the heads file", lost.seq)
            self._write_head(Head(at, lost.seq, lost.hash))
        with self._lock:
            self._written = entry
            due = self._anchored_at is None or now - self._anchored_at >= ANCHOR_EVERY
        if due:
            self._write_head(Head(at, entry.seq, entry.hash))
        return entry

    def _lost_own_line(self, connection) -> AuditEntry | None:
        """The line this process wrote last, when the store no longer holds it as written."""
        with self._lock:
            mine = self._written
        if mine is None:
            return None
        found = connection.execute(select(desk_audit.c.hash).where(desk_audit.c.seq == mine.seq)).scalar()
        return None if found == mine.hash else mine

    def anchor(self, now: datetime | None = None) -> Head | None:
        """Sign the store's newest line as a head, add it to the heads file (when there is one); None for an empty log."""
        with self.engine.connect() as connection:
            last = connection.execute(select(desk_audit.c.seq, desk_audit.c.hash).order_by(desk_audit.c.seq.desc()).limit(1)).first()
        if last is None:
            return None
        return self._write_head(Head((now or datetime.now(UTC)).astimezone(UTC).strftime(_STAMP), last.seq, last.hash))

    def close(self, now: datetime | None = None) -> None:
        """When this process stops: a head of the newest line it wrote, unless one was written since."""
        with self._lock:
            mine = self._written
        if mine is None or mine.seq <= self._anchored_seq or self.heads_file is None:
            return
        try:
            with self.engine.connect() as connection:
                if self._lost_own_line(connection) is not None:
                    log.error("the audit log in the store no longer holds line %d as this desk wrote it: it was cut or "
                              "rewritten; that line's head is kept in the heads file", mine.seq)
        except SQLAlchemyError as error:  # the store is gone or down at exit: the head is written all the same
            log.warning("audit log: the store could not be read at exit (%s); the head of line %d is written", type(error).__name__, mine.seq)
        # The head of what this process wrote (the store may have been cut under it: then this head shows it).
        self._write_head(Head((now or datetime.now(UTC)).astimezone(UTC).strftime(_STAMP), mine.seq, mine.hash))

    def _write_head(self, head: Head) -> Head:
        signed = Head(head.at, head.seq, head.hash, desk_secrets.sign_audit_head(self._store_key, head.signed_text()))
        if self.heads_file is not None:
            self.heads_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.heads_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (signed.line() + "\n").encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)
        with self._lock:
            self._anchored_seq = max(self._anchored_seq, signed.seq)
            self._anchored_at = datetime.strptime(signed.at, _STAMP).replace(tzinfo=UTC)
        return signed

    def _last_anchor_time(self) -> datetime | None:
        if self.heads_file is None:
            return None
        try:
            with self.heads_file.open("rb") as heads:
                heads.seek(max(0, heads.seek(0, os.SEEK_END) - 4096))
                last = heads.read().decode("ascii", "replace").strip().splitlines()[-1:]
            return datetime.strptime(parse_head(last[0], "the last head").at, _STAMP).replace(tzinfo=UTC) if last else None
        except (OSError, HeadError, ValueError):
            return None  # no heads yet, or a damaged last line: the next line written gets a head

    # ------------------------------------------------------------ reading and checking

    def entries(self, limit: int | None = None) -> list[AuditEntry]:
        query = select(desk_audit).order_by(desk_audit.c.seq.desc() if limit else desk_audit.c.seq)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            return [AuditEntry(**row) for row in connection.execute(query).mappings()]

    def _iter_entries(self, batch: int = 5000) -> Iterable[AuditEntry]:
        after = 0
        while True:
            with self.engine.connect() as connection:
                rows = connection.execute(select(desk_audit).where(desk_audit.c.seq > after).order_by(desk_audit.c.seq)
                                          .limit(batch)).mappings().all()
            if not rows:
                return
            for row in rows:
                yield AuditEntry(**row)
            after = rows[-1]["seq"]

    def verify(self, heads: Iterable[tuple[str, Head]] = ()) -> tuple[bool, str]:
        """(True, summary) when the chain is whole and holds every head given; (False, where it breaks) otherwise."""
        heads = list(heads)
        wanted: dict[int, list[tuple[str, Head]]] = {}
        for where, head in heads:
            if not desk_secrets.audit_head_signed(self._store_key, head.signed_text(), head.signature):
                return False, f"{where} is not a head signed by this desk's key"
            wanted.setdefault(head.seq, []).append((where, head))
        prev_hash, expected_seq, count, keyed_from = GENESIS, 1, 0, 0
        for entry in self._iter_entries():
            if entry.seq != expected_seq:
                return False, f"line {expected_seq} is missing (found {entry.seq})"
            if entry.prev_hash != prev_hash:
                return False, f"line {entry.seq} does not follow line {entry.seq - 1}"
            fields = (entry.prev_hash, entry.seq, entry.at, entry.actor, entry.action, entry.target, entry.detail)
            if entry.hash == self._mac(*fields):
                keyed_from = keyed_from or entry.seq
            elif keyed_from or entry.hash != _plain_hash(*fields):
                return False, f"line {entry.seq} was changed, or written without this desk's key"
            for where, head in wanted.pop(entry.seq, []):
                if head.hash != entry.hash:
                    return False, f"line {entry.seq} is not the line {where} saw at {head.at}: the log was rewritten"
            prev_hash, expected_seq, count = entry.hash, expected_seq + 1, count + 1
        if wanted:
            seq = max(wanted)
            where, head = wanted[seq][0]
            return False, f"the log ends at line {count}, but {where} saw line {seq} at {head.at}: lines were cut off"
        if count and not keyed_from:
            return False, (f"none of the {count} lines was written with this desk's key: the log was rewritten, or "
                           "no desk of this version has written to it yet")
        with self.engine.connect() as connection:
            head = connection.execute(select(desk_audit_head.c.seq, desk_audit_head.c.hash)).first()
        if (head is None and count) or (head is not None and (head.seq, head.hash) != (count, prev_hash)):
            return False, f"the log ends at line {count}, but its head says line {head.seq if head else 0}: lines were cut off"
        summary = f"{count} lines, chain intact, head {prev_hash[:16]}"
        if keyed_from > 1:
            summary += f"; lines 1 to {keyed_from - 1} were written before the chain was keyed, and line {keyed_from} seals them"
        return True, summary + (f"; {len(heads)} head(s) kept outside the store agree" if heads else
                                "; no head kept outside the store was checked, so lines cut off the end could not be seen")
