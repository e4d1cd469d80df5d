"""Where the operator store lives and how it is opened: a SQLite file kept private, or a PostgreSQL URL.

The file is created 0600 in a 0700 folder, erased rows are zeroed (secure_delete) and it runs in WAL,
so that two desks on one machine can pull into it at once.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine


def _pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA secure_delete=ON")
        _use_wal(cursor)
    finally:
        cursor.close()


def _use_wal(cursor, patience_seconds: float = 30.0) -> None:
    """Switch the file to WAL once; two desks opening a new store at the same moment may both try.

    Changing the journal mode takes the file's exclusive lock and SQLite answers "database is locked"
    at once, without its busy handler, when another connection holds a lock at that moment: the
    second desk waits and asks again (by then the first has usually switched it, and there is nothing to do).
    """
    deadline = time.monotonic() + patience_seconds
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def open_store_file(path: Path) -> Engine:
    """The store's SQLite file (created 0600 in a 0700 folder), with erased rows zeroed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    engine = create_engine(f"sqlite:///{path}", future=True)
    event.listen(engine, "connect", _pragmas)
    return engine


@dataclass(frozen=True)
class StoreLocation:
    """Where the operator store lives: a SQLite file, or a PostgreSQL URL (its password kept apart)."""

    target: Path | str
    password: str | None = field(default=None, repr=False)

    @property
    def is_database(self) -> bool:
        return isinstance(self.target, str) and "://" in self.target

    def open(self) -> Engine:
        if self.is_database:
            from storage.db import make_engine  # the intake's PostgreSQL engine: pool, pre-ping, UTC

            return make_engine(str(self.target), password=self.password)
        return open_store_file(Path(self.target))

    def __str__(self) -> str:
        return str(self.target)


def store_location(settings) -> StoreLocation:
    """The store `operator.store` names: a file relative to the config, or a database URL."""
    from bot.config import is_database_url
    from storage.keys import read_secret

    value, password_source = settings.operator.store, settings.operator.store_password
    if is_database_url(value):
        password = read_secret(settings, password_source, "operator.store_password") if password_source else None
        return StoreLocation(value, password)
    return StoreLocation(settings.path(value))


def open_store(location: StoreLocation | Path | str) -> Engine:
    """An engine on the store at `location` (a StoreLocation, a file path, or a database URL)."""
    return (location if isinstance(location, StoreLocation) else StoreLocation(location)).open()
