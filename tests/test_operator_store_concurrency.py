"""Two desks, one store: a team's desks on several machines pull into one PostgreSQL operator store.

Two processes pull the same embedded queue into one store at the same time, add the same cases
directly, and append to the audit log meanwhile. No case is lost or kept twice, a case inserted
twice is no error, and the audit chain verifies. Run on a SQLite file too (two desk processes on
one machine), and always on PostgreSQL, whatever GRIEVANCE_TEST_DB says.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.config import settings_from_mapping
from desk.operator_store import OperatorStore, store_location
from desk.store import DeskStore
from storage import crypto
from storage.keys import intake_signing_public_keys, load_operator_identity, load_signing_key
from storage.sinks.embedded import EmbeddedQueue

from desk_support import make_record

ROOT = Path(__file__).parents[1]
QUEUED, DIRECT, AUDIT_LINES = 40, 25, 30

WORKER = """
import json, sys, time
from pathlib import Path
from desk.operator_store import OperatorStore
from desk.pull import pull_cases
from desk.store import DeskStore
from storage.db import make_engine, session_factory
from storage.sinks.embedded import EmbeddedQueue

name, store_at, identity_file, intake_url, signing_key, direct_file, start_file = sys.argv[1:]
identity = Path(identity_file).read_text().strip()
store = OperatorStore(store_at, identity)
desk = DeskStore(store)
engine = make_engine(intake_url)
queue = EmbeddedQueue(session_factory(engine))
direct = json.loads(Path(direct_file).read_text())
while not Path(start_file).exists():
    time.sleep(0.005)
added = audited = 0
for i in range(max(len(direct), %(lines)d)):
    if i < len(direct):
        added += store.add(direct[i])
    if i < %(lines)d:
        desk.audit(name, "case_opened", str(i))
        audited += 1
result = pull_cases(queue, store, identity, signing_keys=[signing_key], batch=4)
print(json.dumps({"added": added, "audited": audited, "pulled": result.pulled, "already": result.already_had}))
store.close()
engine.dispose()
""" % {"lines": AUDIT_LINES}


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_store(request, tmp_path) -> str:
    """One operator store for both desks: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "shared" / "cases.db")
    return request.getfixturevalue("fresh_postgres_url")


def _queue_cases(settings, services, count: int) -> set[str]:
    """`count` cases, sealed to the operator and signed by this server, in the embedded queue."""
    signing_key = load_signing_key(settings)
    queue = EmbeddedQueue(services.sessions)
    ids = set()
    for day in range(count):
        record = make_record(f"2026-02-{day % 28 + 1:02d}T08:00:00Z", urgent=day % 5 == 0)
        sealed = crypto.seal_case(services.secrets, json.dumps(record).encode())
        queue.deliver(record["case_id"], crypto.sign_sealed_case(signing_key, record["case_id"], sealed), record["urgent"])
        ids.add(record["case_id"])
    return ids


def test_two_desks_pull_the_same_queue_into_one_store_at_once(settings, services, shared_store, tmp_path):
    identity_file = settings.path(settings.operator.identity_file)
    identity = load_operator_identity(identity_file)
    queued = _queue_cases(settings, services, QUEUED)
    direct = [make_record(f"2026-03-{day % 28 + 1:02d}T09:00:00Z") for day in range(DIRECT)]
    (tmp_path / "direct.json").write_text(json.dumps(direct))
    start = tmp_path / "start"
    args = [shared_store, str(identity_file), settings.database_url, intake_signing_public_keys(settings)[0],
            str(tmp_path / "direct.json"), str(start)]
    desks = [subprocess.Popen([sys.executable, "-c", WORKER, name, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
             for name in ("desk-a", "desk-b")]
    time.sleep(1.5)  # both have imported and opened the store
    start.touch()
    finished = []
    try:
        for desk in desks:
            out, err = desk.communicate(timeout=300)
            finished.append((desk.returncode, out, err))
    finally:
        for desk in desks:  # a desk that failed leaves no process behind for the tests after this one
            if desk.poll() is None:
                desk.kill()
                desk.communicate()
    results = []
    for returncode, out, err in finished:
        assert returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))

    # The same cases added by both: each kept once, and exactly one desk was told it was new.
    assert sum(result["added"] for result in results) == DIRECT
    # The queue: every case pulled once in all; a desk that came second was told it had it already.
    assert sum(result["pulled"] for result in results) == QUEUED
    assert EmbeddedQueue(services.sessions).depth() == (0, 0)
    store = OperatorStore(shared_store, identity)
    try:
        ids = [summary.case_id for summary in store.summaries()]
        assert len(ids) == len(set(ids)) == QUEUED + DIRECT
        assert set(ids) == queued | {record["case_id"] for record in direct}
        desk = DeskStore(store)
        whole, summary = desk.verify_audit()
        assert whole, summary
        entries = desk.audit_entries()
        assert [entry.seq for entry in entries] == list(range(1, 2 * AUDIT_LINES + 1))
        assert {entry.actor for entry in entries} == {"desk-a", "desk-b"}
    finally:
        store.close()


def test_the_stores_tables_are_apart_from_the_intake_servers():
    """On PostgreSQL the tests keep the operator store in the test's own database: no table may be shared."""
    import desk.audit
    import desk.dialogue
    import desk.operator_store
    import desk.signin
    import desk.store
    from storage.models import Base

    store_tables = {*desk.operator_store._metadata.tables, *desk.store._metadata.tables, *desk.dialogue._metadata.tables,
                    *desk.audit._metadata.tables, *desk.signin._metadata.tables}
    assert {"operator_cases", "status_changes", "desk_audit", "operator_dialogue", "desk_throttle", "desk_pending_signins"} <= store_tables
    assert "queue_cases" in Base.metadata.tables and store_tables.isdisjoint(Base.metadata.tables)


def test_a_database_store_takes_its_password_apart_from_the_url(tmp_path, monkeypatch):
    settings = settings_from_mapping({"operator": {"store": "postgresql+psycopg://desk@db.example:5432/cases?sslmode=verify-full",
                                                   "store_password": {"env": "TEST_DESK_STORE_PASSWORD"}}}, base_dir=tmp_path)
    monkeypatch.setenv("TEST_DESK_STORE_PASSWORD", "correct horse battery staple")
    location = store_location(settings)
    assert location.is_database and location.password == "correct horse battery staple"
    assert "correct horse" not in repr(location) and "correct horse" not in str(location)
    engine = location.open()
    try:
        assert engine.dialect.name == "postgresql" and engine.url.password is None
    finally:
        engine.dispose()
    on_file = store_location(settings_from_mapping({"operator": {"store": "var/operator/cases.db"}}, base_dir=tmp_path))
    assert on_file.target == tmp_path / "var/operator/cases.db" and not on_file.is_database


@pytest.mark.parametrize(("operator", "line"), [
    ({"store": "postgresql+psycopg://desk:hunter2hunter2@db.example/cases"},
     "config error: operator.store: no password in the URL: give it in operator.store_password"),
    ({"store": "mysql://db.example/cases"}, "config error: operator.store: expected postgresql+psycopg://host"),
    ({"store": "var/operator/cases.db", "store_password": {"env": "X"}},
     "config error: operator: store_password is for a PostgreSQL store"),
])
def test_a_bad_store_setting_is_one_line_naming_the_key(operator, line, tmp_path):
    from bot.config import ConfigError

    with pytest.raises(ConfigError) as refused:
        settings_from_mapping({"operator": operator}, base_dir=tmp_path)
    assert str(refused.value).startswith(line) and "\n" not in str(refused.value)
    assert "hunter2" not in str(refused.value)


@pytest.mark.database_independent
def test_a_desk_opening_the_store_waits_while_another_holds_it_longer_than_sqlites_busy_timeout(tmp_path):
    """CI failure: the second desk's `PRAGMA journal_mode=WAL` met "database is locked" after 5 s and the pull died."""
    import sqlite3
    import threading

    from sqlalchemy import text

    from desk.store_location import open_store_file

    path = tmp_path / "store" / "cases.db"
    path.parent.mkdir()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE held (x)")
    other.execute("BEGIN")
    other.execute("SELECT * FROM held").fetchall()  # a lock held past SQLite's 5 s busy timeout
    release = threading.Timer(6, lambda: other.execute("COMMIT"))
    release.start()
    try:
        with open_store_file(path).connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        release.join()
        other.close()
