"""SQLite's write gate and durability option: writers queue instead of sleep-polling, and a dead holder frees the gate."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.config import ConfigError, settings_from_mapping
from storage.db import make_engine

REPO = Path(__file__).resolve().parents[1]

# A second process that opens a write transaction on the database, says so, and waits to be told to commit (or killed).
HOLDER = """
import sys
from sqlalchemy import text
from storage.db import make_engine
engine = make_engine(sys.argv[1])
with engine.begin() as connection:
    connection.execute(text("INSERT INTO t VALUES ('holder')"))
    print("holding", flush=True)
    sys.stdin.readline()
print("committed", flush=True)
"""


@pytest.fixture
def db_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'data' / 'gate.db'}"
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (v TEXT)"))
    engine.dispose()
    return url


def start_holder(db_url: str) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, db_url], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert holder.stdout.readline().strip() == "holding"
    return holder


def close(holder: subprocess.Popen) -> None:
    holder.stdin.close()
    holder.stdout.close()


def write_in_thread(engine, value: str, done: list[float]) -> threading.Thread:
    def write() -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (:v)"), {"v": value})
        done.append(time.monotonic())

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def count(engine) -> int:
    with engine.begin() as connection:
        return connection.execute(text("SELECT count(*) FROM t")).scalar_one()


def test_threads_writing_at_once_all_succeed(db_url):
    engine = make_engine(db_url)
    errors: list[Exception] = []

    def writer(n: int) -> None:
        try:
            for i in range(100):
                with engine.begin() as connection:
                    connection.execute(text("INSERT INTO t VALUES (:v)"), {"v": f"{n}-{i}"})
        except Exception as error:  # collected: a failure in a thread must fail the test
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert count(engine) == 600
    engine.dispose()


def test_a_writer_in_another_process_is_woken_as_soon_as_the_holder_commits(db_url):
    engine = make_engine(db_url)
    holder = start_holder(db_url)
    done: list[float] = []
    thread = write_in_thread(engine, "waiter", done)
    time.sleep(0.5)
    assert done == []  # still waiting for the holder
    released = time.monotonic()
    holder.stdin.write("\n")
    holder.stdin.flush()
    thread.join(timeout=10)
    assert holder.wait(timeout=10) == 0
    close(holder)
    assert done and done[0] - released < 0.2  # no sleep-polling in growing steps
    assert count(engine) == 2
    engine.dispose()


def test_kill_9_of_the_holder_frees_the_gate_and_its_write_is_undone(db_url):
    engine = make_engine(db_url)
    holder = start_holder(db_url)
    done: list[float] = []
    thread = write_in_thread(engine, "waiter", done)
    time.sleep(0.3)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    close(holder)
    thread.join(timeout=10)
    assert done, "the waiting writer never got the gate"
    with engine.begin() as connection:
        assert connection.execute(text("SELECT v FROM t")).scalars().all() == ["waiter"]
    engine.dispose()


def test_a_failed_transaction_leaves_the_gate(db_url):
    engine = make_engine(db_url)
    with pytest.raises(Exception):
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO missing_table VALUES (1)"))
    with engine.begin() as connection:  # would wait for the busy timeout if the gate had leaked
        connection.execute(text("INSERT INTO t VALUES ('after')"))
    assert count(engine) == 1
    engine.dispose()


@pytest.mark.parametrize(("option", "pragma"), [("full", 2), ("normal", 1)])
def test_synchronous_option_reaches_every_connection(db_url, option, pragma):
    engine = make_engine(db_url, sqlite_synchronous=option)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA synchronous")).scalar_one() == pragma
    engine.dispose()


def test_synchronous_is_full_unless_configured_and_a_bad_value_names_the_key(tmp_path):
    assert settings_from_mapping({}, base_dir=tmp_path).paths.sqlite_synchronous == "full"
    with pytest.raises(ConfigError, match=r"^config error: paths.sqlite_synchronous: "):
        settings_from_mapping({"paths": {"sqlite_synchronous": "off"}}, base_dir=tmp_path)


def test_the_wal_is_checkpointed_outside_the_gate_so_it_stays_bounded(db_url, tmp_path):
    from storage.db import CHECKPOINT_EVERY_COMMITS

    engine = make_engine(db_url)
    commits = 800
    assert CHECKPOINT_EVERY_COMMITS <= commits // 4
    for i in range(commits):
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (:v)"), {"v": "x" * 8000})
    wal = tmp_path / "data" / "gate.db-wal"
    # Each commit appends at least two 4 KiB pages; without checkpoints the WAL would hold them all.
    assert wal.stat().st_size < commits * 2 * 4096
    assert count(engine) == commits
    engine.dispose()


def test_disposing_the_engine_ends_its_checkpoint_thread(db_url):
    from storage.db import CHECKPOINT_EVERY_COMMITS

    before = set(threading.enumerate())  # in a long run, other tests' engines may still have theirs
    engine = make_engine(db_url)
    for _ in range(CHECKPOINT_EVERY_COMMITS):
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES ('x')"))
    threads = [t for t in threading.enumerate() if t.name == "sqlite-checkpoint" and t not in before]
    assert threads
    engine.dispose()
    for thread in threads:
        thread.join(timeout=5)
        assert not thread.is_alive()
