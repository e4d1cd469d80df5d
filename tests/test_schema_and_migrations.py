"""The database schema comes from Alembic and matches the models; the case schema is valid JSON Schema."""

from __future__ import annotations

import jsonschema
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.case_record import case_schema, validate_case_record
from databases import ON_POSTGRES
from storage.db import alembic_config, make_engine, migrate
from storage.models import Base


def test_migrations_build_exactly_the_models(empty_database_url):
    engine = make_engine(empty_database_url)
    migrate(engine)
    migrate(engine)  # idempotent
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    assert set(inspect(engine).get_table_names()) >= {"conversations", "cases", "case_messages", "outbox", "queue_cases", "alembic_version"}
    command.downgrade(alembic_config(engine), "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_secure_delete(tmp_path):
    """On its own file, whichever database the rest of the suite runs on."""
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_the_test_deployments_database_is_set_up_as_in_production(services):
    """SQLite: WAL and secure_delete on the deployment's file; PostgreSQL: sessions in UTC, timestamps aware."""
    from datetime import UTC

    from storage.db import utcnow
    from storage.models import InboundReceipt

    with services.db.connect() as connection:
        if ON_POSTGRES:
            assert connection.exec_driver_sql("SHOW timezone").scalar() == "UTC"
        else:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    now = utcnow()
    with services.sessions.begin() as session:
        session.add(InboundReceipt(key="k" * 64, received_at=now))
    with services.sessions.begin() as session:
        stored = session.get(InboundReceipt, "k" * 64).received_at
    assert stored.replace(tzinfo=stored.tzinfo or UTC) == now  # the same instant back, to the minute


def test_case_schema_is_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(case_schema())


VALID = {
    "schema_version": 1,
    "case_id": "25d1ab01-5e4c-49f5-b39e-4fb81d34138d",
    "code": "27114098672296",
    "received_at": "2026-11-25T00:00:00Z",
    "acknowledge_by": "2026-12-02",
    "channel": "sms",
    "language": "bn",
    "category": "wages",
    "urgent": False,
    "description": "মালিক বেতন দেয়নি",
    "answers": {"workplace": "X", "people_affected": 3, "ongoing": True, "brand": None},
    "nlu": {"backend": "builtin", "suggested_category": None, "confidence": 0.0, "urgent_signal": False},
    "contact": None,
}


@pytest.mark.parametrize(
    "change",
    [
        {"category": "bribes"},
        {"code": "1234"},
        {"schema_version": 2},
        {"channel": "email"},
        {"description": ""},
        {"contact": {"channel": "sms"}},
        {"answers": {"people_affected": -1}},
        {"answers": {"extra": [1, 2]}},
        {"unexpected": True},
        {"received_at": "yesterday"},
    ],
)
def test_schema_rejects_broken_records(change):
    with pytest.raises(jsonschema.ValidationError):
        validate_case_record({**VALID, **change})


def test_schema_accepts_a_valid_record_with_contact_and_custom_answers():
    validate_case_record({**VALID, "contact": {"channel": "sms", "address": "+8801711000000"}, "answers": {"shift": "night"}})


def test_migration_0004_erases_the_reply_address_of_cases_stored_before_consent_was_recorded(empty_database_url):
    """The server cannot tell which earlier workers said NO to contact: none of their addresses survives."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    engine = make_engine(empty_database_url)
    config = alembic_config(engine)
    command.upgrade(config, "0003")
    now = datetime(2026, 11, 1, tzinfo=UTC)
    with engine.begin() as connection:
        for case_id in ("c-with-address", "c-without"):
            connection.execute(
                text("INSERT INTO cases (case_id, code_lookup, status, urgent, created_at, reply_address, reply_address_expires_at)"
                     " VALUES (:id, :lookup, 'received', false, :now, :address, :expires)"),
                {"id": case_id, "lookup": "l-" + case_id, "now": now,
                 "address": b"ciphertext" if case_id == "c-with-address" else None, "expires": now if case_id == "c-with-address" else None},
            )
    command.upgrade(config, "0004")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT case_id, reply_address, reply_address_expires_at, contact_allowed, status FROM cases ORDER BY case_id")).all()
    assert [tuple(row) for row in rows] == [("c-with-address", None, None, None, "received"), ("c-without", None, None, None, "received")]
    command.downgrade(config, "0003")
    command.upgrade(config, "head")
    engine.dispose()
