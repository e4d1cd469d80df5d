"""The database: engine set-up for SQLite (WAL) and PostgreSQL, migrations, transactions.

SQLite is the embedded default. Each write transaction starts with
`BEGIN IMMEDIATE`, so two processes handling the same worker's messages are
serialized instead of overwriting each other's draft; `secure_delete` zeroes
erased rows in the file. Before `BEGIN IMMEDIATE` a transaction passes the
*write gate* (see `_WriteGate`): threads of one process queue on a lock, and
processes on an `flock` of a file beside the database, so a waiting writer is
woken the moment the previous one commits instead of sleep-polling in SQLite's
busy handler (1, 2, 5 ... 100 ms steps: that was most of the p99 latency).
`synchronous` is FULL by default (an fsync per commit: a commit survives a
power loss); NORMAL is an option (`paths.sqlite_synchronous`, see docs/production.md).
The WAL is checkpointed by a thread of each process (`_Checkpointer`).

`secure_delete` does not reach the WAL, which keeps every page version written
since the last checkpoint: an erased draft and every superseded version of it.
So a transaction that erases a worker's words (a conversation or its media
deleted, a reply address cleared) asks that thread, as it commits, for a
TRUNCATE checkpoint: every frame copied into the file (where `secure_delete`
has zeroed what was erased) and the WAL cut to zero bytes. It runs off the
request path, at once, or under load at most once every
TRUNCATE_MIN_INTERVAL_SECONDS (one covers every erasure before it);
`wait_for_wal_erasure` waits for it (the purge does). `journal_size_limit`
bounds what a WAL keeps between checkpoints.

On PostgreSQL the worker's conversation is locked for the transaction (see
`storage.conversations`); sessions run in UTC and the pool checks a connection
that has been idle before using it, for several stateless bot processes.
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import os
import re
import sqlite3
import threading
import time
import weakref
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    """Now, to the minute: coarse timestamps are enough and correlate less."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime: SQLite returns naive ones (stored as UTC), PostgreSQL aware ones."""
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


SQLITE_SYNCHRONOUS = ("full", "normal")
BUSY_TIMEOUT_SECONDS = 10.0
# SQLite's automatic checkpoint runs inside the commit that crosses 1000 WAL pages, i.e. while that
# writer still holds the write gate, so every other writer waits for it (and its fsyncs). Gated
# engines turn it off and have a thread of their own run a PASSIVE checkpoint every this many
# commits of the process (a transaction here writes a few pages, so the WAL stays around 1000 pages).
CHECKPOINT_EVERY_COMMITS = 200
# A WAL longer than this is cut back to it whenever it starts over after a checkpoint (a WAL of 200
# commits is about 4 MiB here); without a limit the file keeps its largest size, and old frames in it.
JOURNAL_SIZE_LIMIT_BYTES = 8 * 1024 * 1024
# Statements that erase a worker's words: after such a transaction the WAL is truncated (see above).
# Drafts and their media (DELETE, a confirmed case, expiry) and a case's reply address (retention).
_ERASING = re.compile(r"\s*(DELETE\s+FROM\s+(conversations|draft_media)\b|UPDATE\s+cases\s+SET\s+reply_address\b)", re.I)
# How long the checkpoint thread lets readers still on the WAL hold up a TRUNCATE checkpoint,
# inside the write gate (writers wait meanwhile), before it steps out and tries again.
TRUNCATE_BUSY_TIMEOUT_MS = 200
TRUNCATE_RETRY_SECONDS = 0.05
TRUNCATE_ERROR_PAUSE_SECONDS = 1.0
# At most one TRUNCATE checkpoint this often: under load every few messages confirm a case, and a WAL cut
# to zero bytes must grow again, which makes the next commits' fsyncs dearer (truncating after every
# erasure cost about a third of the throughput in an A/B run; once every 5 s, nothing measurable). One
# truncation covers every erasure committed before it, so an erased draft stays in the WAL at most
# about this long (the first erasure after a quiet spell is truncated at once).
TRUNCATE_MIN_INTERVAL_SECONDS = 5.0
# A pooled PostgreSQL connection is pinged before use only when it has been idle this long
# (`_ping_when_idle`). SQLAlchemy's pre-ping pinged on every checkout: a round trip on every
# transaction. A connection used moments ago is alive unless the server has just restarted, and
# then the first statement's error makes SQLAlchemy invalidate every older connection of the pool:
# one message of the process answered 503 (the provider retries it), the next on a new connection.
PING_AFTER_IDLE_SECONDS = 5.0


def _sqlite_pragmas(synchronous: str, gated: bool):
    def apply(dbapi_connection, _record) -> None:
        # The driver's own transaction handling is turned off so that `BEGIN IMMEDIATE` below is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        pragmas = ("journal_mode=WAL", f"synchronous={synchronous.upper()}", "foreign_keys=ON", "secure_delete=ON",
                   f"busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}", f"wal_autocheckpoint={0 if gated else 1000}",
                   f"journal_size_limit={JOURNAL_SIZE_LIMIT_BYTES}")
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    return apply


class _WriteGate:
    """One writer at a time on one SQLite file, across this process's threads and across processes.

    Threads wait on a process-wide lock (woken at once); the thread that holds
    it waits on an exclusive `flock` of `<database>.lock`, which the kernel
    grants the moment another process releases it, or when that process dies
    (kill -9 included). So SQLite's busy handler, which sleeps in growing steps,
    almost never runs. Not re-entrant, like `BEGIN IMMEDIATE` itself: a second
    write transaction in the same thread fails after the busy timeout, as before.
    The lock file is opened per process: a forked child must not share its
    parent's open file, which would share the flock.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.fd: int | None = None
        self.pid = os.getpid()

    def acquire(self) -> None:
        if self.pid != os.getpid():  # an engine made before a fork, used in the child: its own lock and file
            self.pid, self.lock, self.fd = os.getpid(), threading.Lock(), None
        if not self.lock.acquire(timeout=BUSY_TIMEOUT_SECONDS):
            raise sqlite3.OperationalError("database is locked (write gate)")
        try:
            if self.fd is None:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            fcntl.flock(self.fd, fcntl.LOCK_EX)  # blocks; released by the holder's commit, rollback or death
        except BaseException:
            self.lock.release()
            raise

    def release(self) -> None:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self.lock.release()


_gates: dict[str, _WriteGate] = {}
_gates_lock = threading.Lock()


def _gate_for(database: str) -> _WriteGate:
    path = os.path.realpath(database) + ".lock"
    with _gates_lock:
        return _gates.setdefault(path, _WriteGate(path))


def _forget_gates_after_fork() -> None:
    # The child gets fresh locks and opens its own lock file on first use.
    global _gates_lock
    _gates.clear()
    _gates_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_gates_after_fork)


class _Checkpointer:
    """Checkpoints the WAL in a thread of its own, on its own connection, when asked.

    Mostly outside the write gate (a PASSIVE checkpoint never waits for writers,
    and writers need not wait for it) and always outside any request: in a large
    database a checkpoint writes pages all over the file and fsyncs it, which
    would be the latency of whichever message happened to make the 200th commit.
    After an erasure (`request(truncate=True)`) the last step is a TRUNCATE
    checkpoint inside the gate, so no writer adds frames meanwhile; readers still
    on the WAL make it step out and try again a moment later.
    """

    def __init__(self, database: str, synchronous: str, gate: _WriteGate, min_interval: float = TRUNCATE_MIN_INTERVAL_SECONDS) -> None:
        self.database = database
        self.synchronous = synchronous
        self.gate = gate
        self.min_interval = min_interval  # `paths.sqlite_wal_erase_within_seconds`
        self.wanted: threading.Event | None = None  # the running thread's signal, in this process
        self.pid: int | None = None
        self.done = threading.Condition()
        self.truncations_asked = 0  # erasures committed in this process ...
        self.truncations_done = 0  # ... and how many of them a TRUNCATE checkpoint has covered
        self.passive_wanted = False  # the periodic checkpoint (every CHECKPOINT_EVERY_COMMITS) is due

    def request(self, truncate: bool = False) -> None:
        if self.wanted is None or self.pid != os.getpid():  # a forked child starts its own thread
            self.pid, self.wanted = os.getpid(), threading.Event()
            with self.done:
                self.truncations_asked = self.truncations_done = 0
            threading.Thread(target=self._run, args=(self.wanted,), name="sqlite-checkpoint", daemon=True).start()
        if truncate:
            with self.done:
                self.truncations_asked += 1
        else:
            self.passive_wanted = True
        self.wanted.set()

    def wait_for_truncation(self, timeout: float) -> bool:
        """True once every TRUNCATE checkpoint asked for so far has run (or none was asked for)."""
        with self.done:
            target = self.truncations_asked
            return self.done.wait_for(lambda: self.truncations_done >= target or self.pid != os.getpid(), timeout)

    def stop(self) -> None:
        """The engine is disposed: the thread closes its connection and ends."""
        wanted, self.wanted = self.wanted, None
        if wanted is not None and self.pid == os.getpid():
            wanted.stop = True  # type: ignore[attr-defined]
            wanted.set()

    def _run(self, wanted: threading.Event) -> None:
        connection = sqlite3.connect(self.database, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
        next_truncation = 0.0  # monotonic time before which no TRUNCATE checkpoint runs (see the interval above)
        try:
            connection.execute(f"PRAGMA synchronous={self.synchronous.upper()}").close()
            connection.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT_BYTES}").close()
            while True:
                with self.done:
                    asked = self.truncations_asked
                pending = asked > self.truncations_done
                wanted.wait(max(0.0, next_truncation - time.monotonic()) if pending else None)
                wanted.clear()
                if getattr(wanted, "stop", False):
                    return
                with self.done:
                    asked = self.truncations_asked
                if asked > self.truncations_done and time.monotonic() >= next_truncation:
                    if self._truncate(connection):
                        next_truncation = time.monotonic() + self.min_interval
                        with self.done:
                            self.truncations_done = max(self.truncations_done, asked)
                            self.done.notify_all()
                    else:  # readers in the way: try again shortly
                        next_truncation = time.monotonic() + TRUNCATE_RETRY_SECONDS
                elif self.passive_wanted:
                    # Meanwhile the usual checkpoints go on, so the WAL starts over (and reuses its space).
                    self.passive_wanted = False
                    self._checkpoint(connection)
        finally:
            connection.close()

    def _checkpoint(self, connection: sqlite3.Connection) -> None:
        try:
            # The bulk while writers go on; then, briefly inside the gate, the frames they added
            # meanwhile, so the checkpoint is complete and the next writer starts the WAL over
            # (a checkpoint that always lags behind the writers would let the WAL grow without end).
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()
            self.gate.acquire()
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()
            finally:
                self.gate.release()
        except sqlite3.Error as error:  # the next request tries again; SQLite also checkpoints on close
            log.warning("sqlite checkpoint failed", extra={"error": type(error).__name__})

    def _truncate(self, connection: sqlite3.Connection) -> bool:
        """Copy every frame into the file and cut the WAL to zero bytes; False if readers were in the way."""
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()  # the bulk, writers going on
            self.gate.acquire()
            try:
                connection.execute(f"PRAGMA busy_timeout={TRUNCATE_BUSY_TIMEOUT_MS}").close()
                busy, _frames, _copied = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                connection.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}").close()
                self.gate.release()
        except sqlite3.Error as error:
            log.warning("sqlite truncate checkpoint failed", extra={"error": type(error).__name__})
            time.sleep(TRUNCATE_ERROR_PAUSE_SECONDS)  # a failing disk is not retried 20 times a second
            return False
        return not busy


_checkpointers: weakref.WeakKeyDictionary[Engine, _Checkpointer] = weakref.WeakKeyDictionary()


def wait_for_wal_erasure(engine: Engine, timeout: float = 30.0) -> bool:
    """Wait until the WAL truncations this process's erasures asked for have run; True if they have.

    Nothing to wait for on PostgreSQL or an in-memory SQLite (True at once).
    """
    checkpointer = _checkpointers.get(engine)
    return True if checkpointer is None else checkpointer.wait_for_truncation(timeout)


def request_wal_erasure(engine: Engine) -> None:
    """Ask for a TRUNCATE checkpoint now, e.g. after a purge of rows the statements above do not name."""
    checkpointer = _checkpointers.get(engine)
    if checkpointer is not None:
        checkpointer.request(truncate=True)


def _install_gate(engine: Engine, gate: _WriteGate, checkpointer: _Checkpointer) -> None:
    """Every transaction of this engine passes the gate at BEGIN and leaves it at COMMIT or ROLLBACK.

    The gate is left after the DBAPI commit or rollback returns (the dialect's
    `do_commit`/`do_rollback` of this engine are wrapped; the pool's reset on
    return goes through `do_rollback` too), and when the pool invalidates a
    connection, so an error can never leak it.

    BEGIN and the note of an erasing statement wrap the dialect's `do_begin` and
    `do_execute*` too, rather than listening to the engine's `begin` and
    `after_cursor_execute` events: one engine-level listener sends every statement
    of the engine through SQLAlchemy's event dispatch, a few hundredths of a
    millisecond each, on every message.
    """
    holders: set[int] = set()  # ids of the DBAPI connections inside a gated transaction
    erasing: set[int] = set()  # ... of which these erased a worker's words (see _ERASING)
    holders_lock = threading.Lock()
    dialect = engine.dialect
    do_commit, do_rollback = dialect.do_commit, dialect.do_rollback
    do_execute, do_execute_no_params, do_executemany = dialect.do_execute, dialect.do_execute_no_params, dialect.do_executemany

    def leave(connection) -> bool:
        """Out of the gate; True if the transaction had erased something."""
        raw = getattr(connection, "dbapi_connection", connection)
        with holders_lock:
            erased = id(raw) in erasing
            erasing.discard(id(raw))
            if id(raw) not in holders:
                return erased
            holders.discard(id(raw))
        gate.release()
        return erased

    def note_erasure(cursor, statement: str) -> None:
        if _ERASING.match(statement):
            with holders_lock:
                erasing.add(id(cursor.connection))  # the sqlite3 connection, as `leave` finds it

    def execute(cursor, statement, parameters, context=None) -> None:
        do_execute(cursor, statement, parameters, context)
        note_erasure(cursor, statement)

    def execute_no_params(cursor, statement, context=None) -> None:
        do_execute_no_params(cursor, statement, context)
        note_erasure(cursor, statement)

    def executemany(cursor, statement, parameters, context=None) -> None:
        do_executemany(cursor, statement, parameters, context)
        note_erasure(cursor, statement)

    def begin(connection) -> None:
        gate.acquire()
        try:
            _begin_immediate(connection)
        except BaseException:
            gate.release()
            raise
        with holders_lock:
            holders.add(id(getattr(connection, "dbapi_connection", connection)))

    commits = itertools.count(1)

    def commit(connection) -> None:
        try:
            do_commit(connection)
        finally:
            erased = leave(connection)
        if erased:
            checkpointer.request(truncate=True)
        if next(commits) % CHECKPOINT_EVERY_COMMITS == 0:
            checkpointer.request()

    def rollback(connection) -> None:
        try:
            do_rollback(connection)
        finally:
            leave(connection)

    dialect.do_begin, dialect.do_commit, dialect.do_rollback = begin, commit, rollback
    dialect.do_execute, dialect.do_execute_no_params, dialect.do_executemany = execute, execute_no_params, executemany
    _on_dispose(engine, checkpointer.stop)
    event.listen(engine.pool, "invalidate", lambda dbapi_connection, _record, _error: leave(dbapi_connection))


def _on_dispose(engine: Engine, stop) -> None:
    """Call `stop` after `engine.dispose()` (wrapped, as the dialect's methods are: the engine's
    `engine_disposed` event would, like any engine event, slow down every statement)."""
    dispose = engine.dispose

    def dispose_and_stop(close: bool = True) -> None:
        dispose(close)
        stop()

    engine.dispose = dispose_and_stop  # type: ignore[method-assign]


def _begin_immediate(connection) -> None:
    cursor = connection.cursor()
    try:
        cursor.execute("BEGIN IMMEDIATE")
    finally:
        cursor.close()


def _ping_when_idle(engine: Engine) -> None:
    """Before a pooled connection idle for PING_AFTER_IDLE_SECONDS is used, ping it; a dead one is
    replaced, with every older connection of the pool (as SQLAlchemy's own pre-ping does)."""

    def checkin(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return  # a new connection, or one in use moments ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.InvalidatePoolError(type(error).__name__) from error  # the pool connects anew

    event.listen(engine.pool, "checkin", checkin)
    event.listen(engine.pool, "checkout", checkout)


def make_engine(url: str, *, sqlite_synchronous: str = "full", password: str | None = None,
                wal_erase_within: float = TRUNCATE_MIN_INTERVAL_SECONDS) -> Engine:
    """An engine for the database URL; SQLite files get their folder (mode 0700), pragmas and write gate.

    `password` (PostgreSQL) is given to the driver apart from the URL, which never holds it (it would
    show in logs and tracebacks); the desk's operator store uses it (operator.store_password).
    `wal_erase_within` (SQLite): at most this many seconds between two TRUNCATE checkpoints, so how
    long an erased row may stay in the WAL under load (`paths.sqlite_wal_erase_within_seconds`).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        connect_args = {"options": "-c timezone=UTC", "connect_timeout": 10}
        if password is not None:
            connect_args["password"] = password
        engine = create_engine(
            url,
            future=True,
            pool_size=5,  # per process; gunicorn workers and the forwarder each have their own pool
            max_overflow=5,
            pool_timeout=30,
            pool_recycle=1800,
            connect_args=connect_args,
        )
        _ping_when_idle(engine)  # a restarted server or a dropped connection is noticed before use
        return engine
    if parsed.get_backend_name() != "sqlite":
        raise ValueError(f"unsupported database: {parsed.get_backend_name()} (use sqlite or postgresql+psycopg)")
    if sqlite_synchronous not in SQLITE_SYNCHRONOUS:
        raise ValueError(f"sqlite synchronous must be one of {', '.join(SQLITE_SYNCHRONOUS)}")
    on_file = bool(parsed.database) and parsed.database != ":memory:"
    if on_file:
        folder = Path(parsed.database).parent
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    engine = create_engine(url, future=True, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS})
    event.listen(engine, "connect", _sqlite_pragmas(sqlite_synchronous, gated=on_file))
    if on_file:
        gate = _gate_for(parsed.database)
        checkpointer = _Checkpointer(parsed.database, sqlite_synchronous, gate, wal_erase_within)
        _checkpointers[engine] = checkpointer
        _install_gate(engine, gate, checkpointer)
    else:
        engine.dialect.do_begin = _begin_immediate  # type: ignore[method-assign]
    return engine


def alembic_config(engine: Engine) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(resources.files("storage") / "migrations"))
    config.attributes["connection_engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    command.upgrade(alembic_config(engine), "head")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, future=True)
