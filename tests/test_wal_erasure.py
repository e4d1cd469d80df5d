"""Erased means erased on disk too: no byte of an erased draft's ciphertext stays in SQLite's files.

`secure_delete` zeroes erased rows in the database file, but not in the WAL,
which keeps every page version written since the last checkpoint: the drafts a
worker erased with DELETE, every superseded version of a confirmed case's draft,
and what a purge erased. The tests capture the ciphertext as stored before it is
erased, and scan the raw files (database, -wal, -journal, -shm) for it afterwards.
These run on SQLite whatever GRIEVANCE_TEST_DB says: the WAL is SQLite's; on
PostgreSQL the purge vacuums instead (tested at the end).
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.config import settings_from_mapping
from bot.messages import InboundMessage
from bot.services import build_services
from conftest import make_config
from storage.db import JOURNAL_SIZE_LIMIT_BYTES, make_engine, utcnow, wait_for_wal_erasure
from storage.keys import init_keys
from storage.models import Conversation, DraftMedia
from storage.retention import purge_expired
from worker_scripts import ENGLISH_INTAKE


@pytest.fixture
def sqlite_services(deployment_dir: Path):
    deployment_dir.mkdir(parents=True, exist_ok=True)
    settings = settings_from_mapping(make_config(deployment_dir), base_dir=deployment_dir)
    init_keys(settings, dev_operator_key=True)
    services = build_services(settings)
    yield services
    services.close()


def _send(services, sender: str, text_: str, number: int) -> None:
    services.intake.receive(InboundMessage(channel="sms", sender=sender, text=text_, provider_id=f"wal-{sender}-{number}"))


def _stored_ciphertexts(services) -> list[bytes]:
    """Every encrypted draft, reply address and medium stored right now (their random part: nonce and body)."""
    with services.sessions.begin() as session:
        rows = session.execute(select(Conversation.draft, Conversation.reply_address)).all()
        media = session.execute(select(DraftMedia.blob)).scalars().all()
    blobs = [blob for row in rows for blob in row if blob] + list(media)
    return [blob[5:] for blob in blobs]  # after the version and key id: 12 random nonce bytes, then the body


def _database_files(services) -> list[Path]:
    database = Path(services.db.url.database)
    return [path for path in database.parent.iterdir() if path.name.startswith(database.name) and path.is_file()]


def _found_in_files(services, ciphertexts: list[bytes]) -> list[str]:
    found = []
    for path in _database_files(services):
        raw = path.read_bytes()
        found += [f"{path.name}: ciphertext {number}" for number, blob in enumerate(ciphertexts) if blob[:28] in raw]
    return found


def _conversation(services, sender: str, messages: list[str]) -> list[bytes]:
    """Send the messages; return every version of the stored draft and reply address along the way."""
    versions: list[bytes] = []
    for number, message in enumerate(messages):
        _send(services, sender, message, number)
        versions += _stored_ciphertexts(services)
    return versions


def test_delete_leaves_no_byte_of_the_draft_in_any_file(sqlite_services):
    versions = _conversation(sqlite_services, "+15550701", ENGLISH_INTAKE[:5])
    assert versions and _found_in_files(sqlite_services, versions)  # the scan does find them while they are stored
    _send(sqlite_services, "+15550701", "DELETE", 99)  # a report is half-written: asked first
    versions += _stored_ciphertexts(sqlite_services)
    _send(sqlite_services, "+15550701", "yes", 100)
    assert _stored_ciphertexts(sqlite_services) == []
    assert wait_for_wal_erasure(sqlite_services.db)
    assert _found_in_files(sqlite_services, versions) == []


def test_a_confirmed_case_leaves_no_old_draft_version_in_any_file(sqlite_services):
    versions = _conversation(sqlite_services, "+15550702", [*ENGLISH_INTAKE, "1"])
    assert len(set(versions)) > 10
    assert _stored_ciphertexts(sqlite_services) == []  # the conversation ended with the case
    assert wait_for_wal_erasure(sqlite_services.db)
    assert _found_in_files(sqlite_services, versions) == []


def test_a_purged_draft_leaves_no_byte_in_any_file(sqlite_services):
    versions = _conversation(sqlite_services, "+15550703", ENGLISH_INTAKE[:4])
    result = purge_expired(sqlite_services.sessions, now=utcnow() + timedelta(days=30))
    assert result.conversations == 1
    # The purge itself waits for the checkpoint: nothing to wait for afterwards.
    assert _found_in_files(sqlite_services, versions) == []


def test_every_connection_zeroes_erased_rows_and_bounds_the_wal(sqlite_services):
    with sqlite_services.db.connect() as connection:
        assert connection.execute(text("PRAGMA secure_delete")).scalar_one() == 1
        assert connection.execute(text("PRAGMA journal_size_limit")).scalar_one() == JOURNAL_SIZE_LIMIT_BYTES
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"


def test_an_engine_without_erasures_has_nothing_to_wait_for(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'plain.db'}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (v TEXT)"))
            connection.execute(text("INSERT INTO t VALUES ('x')"))
        assert wait_for_wal_erasure(engine, timeout=0.01)
    finally:
        engine.dispose()


def test_a_purge_vacuums_what_it_erased_on_postgresql(deployment_dir: Path, fresh_postgres_url: str):
    deployment_dir.mkdir(parents=True, exist_ok=True)
    settings = settings_from_mapping(make_config(deployment_dir, fresh_postgres_url), base_dir=deployment_dir)
    init_keys(settings, dev_operator_key=True)
    services = build_services(settings)
    try:
        _conversation(services, "+15550704", ENGLISH_INTAKE[:4])
        assert purge_expired(services.sessions, now=utcnow() + timedelta(days=30)).conversations == 1
        query = text("SELECT n_dead_tup, vacuum_count FROM pg_stat_user_tables WHERE relname = 'conversations'")
        with services.db.connect() as connection:
            for _ in range(100):  # the statistics reach the view a moment after the VACUUM
                connection.execute(text("SELECT pg_stat_clear_snapshot()"))
                dead, vacuums = connection.execute(query).one()
                if vacuums:
                    break
                time.sleep(0.1)
        assert vacuums >= 1 and dead == 0
    finally:
        services.close()


def test_erasures_in_quick_succession_are_all_covered(sqlite_services):
    """Under load one truncation covers several erasures (at most one every few seconds): none is missed."""
    versions = []
    for number, sender in enumerate(("+15550705", "+15550706", "+15550707")):
        versions += _conversation(sqlite_services, sender, ENGLISH_INTAKE[:4])
        _send(sqlite_services, sender, "DELETE", 99 + number)  # asked first: a report is half-written
        versions += _stored_ciphertexts(sqlite_services)
        _send(sqlite_services, sender, "yes", 199 + number)
    assert _stored_ciphertexts(sqlite_services) == []
    assert wait_for_wal_erasure(sqlite_services.db)
    assert _found_in_files(sqlite_services, versions) == []
