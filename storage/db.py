"""The database: engine set-up for SQLite (WAL) and PostgreSQL, migrations, transactions.

SQLite is the embedded default. Each write transaction starts with
`BEGIN IMMEDIATE`, so two processes handling the same worker's messages are
serialized instead of overwriting each other's draft; `secure_delete` zeroes
erased rows in the file. On PostgreSQL the worker's conversation is locked
for the transaction (see `storage.conversations`); sessions run in UTC and the
pool checks connections before use, for several stateless bot processes.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def utcnow() -> datetime:
    """Now, to the minute: coarse timestamps are enough and correlate less."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime: SQLite returns naive ones (stored as UTC), PostgreSQL aware ones."""
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # The driver's own transaction handling is turned off so that `BEGIN IMMEDIATE` below is ours.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "secure_delete=ON", "busy_timeout=10000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for the database URL; SQLite files get their folder (mode 0700) and pragmas."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return create_engine(
            url,
            future=True,
            pool_size=5,  # per process; gunicorn workers and the forwarder each have their own pool
            max_overflow=5,
            pool_timeout=30,
            pool_pre_ping=True,  # a restarted server or a dropped connection is noticed before use
            pool_recycle=1800,
            connect_args={"options": "-c timezone=UTC", "connect_timeout": 10},
        )
    if parsed.get_backend_name() != "sqlite":
        raise ValueError(f"unsupported database: {parsed.get_backend_name()} (use sqlite or postgresql+psycopg)")
    if parsed.database and parsed.database != ":memory:":
        folder = Path(parsed.database).parent
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    engine = create_engine(url, future=True, connect_args={"check_same_thread": False, "timeout": 10})
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
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
