"""PostgreSQL connections are pinged before use only after being idle: a busy pool costs no round
trip per transaction, and a connection the server dropped while idle is replaced before use."""

from __future__ import annotations

import pytest
from sqlalchemy import exc, text

import storage.db
from databases import PG_ADMIN_URL, pg_admin
from storage.db import make_engine


@pytest.fixture
def engine():
    engine = make_engine(PG_ADMIN_URL)
    yield engine
    engine.dispose()


@pytest.fixture
def pings(engine, monkeypatch):
    counted = []
    do_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda connection: counted.append(1) or do_ping(connection))
    return counted


def backend_pid(engine) -> int:
    with engine.begin() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_a_busy_connection_is_not_pinged(engine, pings):
    pids = {backend_pid(engine) for _ in range(50)}
    assert len(pids) == 1 and pings == []


def test_a_connection_dropped_while_idle_is_replaced_before_use(engine, pings, monkeypatch):
    first = backend_pid(engine)
    pg_admin(f"SELECT pg_terminate_backend({first})")  # a restarted server, a firewall's idle timeout
    monkeypatch.setattr(storage.db, "PING_AFTER_IDLE_SECONDS", 0.0)
    second = backend_pid(engine)  # no error: the ping found the connection dead, the pool connected anew
    assert second != first and pings == [1]
    assert backend_pid(engine) == second


def test_a_connection_dropped_moments_after_use_fails_once_then_the_pool_recovers(engine, pings):
    first = backend_pid(engine)
    pg_admin(f"SELECT pg_terminate_backend({first})")
    with pytest.raises(exc.DBAPIError) as raised:  # the intake answers 503 and the provider retries
        backend_pid(engine)
    assert raised.value.connection_invalidated
    assert backend_pid(engine) != first and pings == []
