"""Shared fixtures: a temporary deployment with real keys, a real database, and a network guard.

Every test gets its own folder with a config, freshly generated keys and its
own database, so tests never share state and never touch ./var. The database
is SQLite in the test's folder, or with GRIEVANCE_TEST_DB=postgresql a fresh
PostgreSQL database per test, copied from a template migrated once per session
(tests/databases.py: copies are made ahead and dropped behind on background
threads). The names carry this run's host and pid, so concurrent runs on one
machine never collide, and leftovers of killed runs are dropped.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.config import Settings, settings_from_mapping
from bot.messages import InboundMessage
from bot.services import Services, build_services
from storage.keys import init_keys

from databases import ON_POSTGRES, PG_HOST, PG_PORT, PG_TEMPLATE, DatabaseCopies, drop_leftovers, new_database_name, pg_admin, pg_url

pytest_plugins = ["leak_guard"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test` runs the suite on SQLite, then on PostgreSQL. In the second run (deselected, not
    skipped: nothing is hidden, and each runs in full in the first):

    * a test marked `database_independent` (no database in it that the two runs differ in) is left out;
    * a table-driven test marked `database_sampled(every=N)` keeps one row in N of each of its test
      functions, the first row included, always the same ones: its rows vary the words and the step
      of a conversation, not what is stored, and that storing is the same code for every row.
    """
    if not ON_POSTGRES:
        return
    left_out = [item for item in items if item.get_closest_marker("database_independent") is not None]
    rows_seen: dict[tuple[str, str], int] = {}
    for item in items:
        sampled = item.get_closest_marker("database_sampled")
        if sampled is None or item.get_closest_marker("database_independent") is not None:
            continue
        function = (item.nodeid.split("::", 1)[0], getattr(item, "originalname", item.name))
        row = rows_seen.get(function, 0)
        rows_seen[function] = row + 1
        if row % sampled.kwargs["every"]:
            left_out.append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        out = set(map(id, left_out))
        items[:] = [item for item in items if id(item) not in out]


_real_connect = socket.socket.connect


def _is_local(address) -> bool:
    if isinstance(address, str):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _logging_as_found() -> Iterator[None]:
    """Undo what a test's `setup_logging` (e.g. a CLI command run in-process) did to the root logger,
    so its handlers and their privacy filter do not rewrite the records of later tests."""
    root = logging.getLogger()
    level = root.level
    yield
    from bot.logs import reset_logging

    reset_logging()
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that tries to reach beyond this machine."""

    def guarded(self, address):
        if not _is_local(address):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return _real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def _postgres_listening() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def postgres_server() -> None:
    """PostgreSQL on 127.0.0.1:5432, started with the cluster's own tool when it is not running."""
    if _postgres_listening():
        return
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=True)
    for _ in range(100):
        if _postgres_listening():
            return
        time.sleep(0.1)
    raise RuntimeError("PostgreSQL did not start on 127.0.0.1:5432")


@pytest.fixture(scope="session")
def postgres_template(postgres_server) -> Iterator[str]:
    """A database migrated once per session, copied for each test."""
    from storage.db import make_engine, migrate

    drop_leftovers()
    pg_admin(f"CREATE DATABASE {PG_TEMPLATE}")
    engine = make_engine(pg_url(PG_TEMPLATE))
    migrate(engine)
    engine.dispose()
    yield PG_TEMPLATE
    pg_admin(f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)")


@pytest.fixture(scope="session")
def postgres_copies(postgres_template) -> Iterator[DatabaseCopies]:
    copies = DatabaseCopies(postgres_template)
    yield copies
    copies.close()  # before the template is dropped
    assert copies.failures == [], copies.failures


@pytest.fixture
def fresh_postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A new, migrated PostgreSQL database for this test only, dropped afterwards (FORCE: a server
    process the test started may still hold a connection)."""
    copies = request.getfixturevalue("postgres_copies")
    name = copies.take()
    yield pg_url(name)
    copies.give_back(name)


@pytest.fixture
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database with no tables, for migration tests: a SQLite file, or a new PostgreSQL database."""
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / 'empty.sqlite'}"
        return
    request.getfixturevalue("postgres_server")
    name = new_database_name("e")
    pg_admin(f"CREATE DATABASE {name}")
    yield pg_url(name)
    pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def operator_store(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a test's operator store lives: a SQLite file, or with GRIEVANCE_TEST_DB=postgresql a fresh database."""
    if not ON_POSTGRES:
        return tmp_path / "operator-store" / "cases.db"
    return request.getfixturevalue("fresh_postgres_url")


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str | None:
    """The test deployment's database URL: None means SQLite in its data folder (the default)."""
    if not ON_POSTGRES:
        return None
    return request.getfixturevalue("fresh_postgres_url")


def make_config(root: Path, database_url: str | None = None, **overrides) -> dict:
    """A config mapping for a deployment living in `root`."""
    config = {
        "deployment": {
            "name": "Test hotline",
            "languages": ["en", "bn", "vi", "es"],
            "emergency_contacts": ["Emergency services: 999", "Duty officer: 0100 200 300"],
        },
        # Erasures are cut out of SQLite's WAL within 0.2 s, not 5: tests that erase twice need not wait.
        "paths": {"data_dir": "data", "sqlite_wal_erase_within_seconds": 0.2},
        "secrets": {"pepper": {"file": "keys/pepper"}, "data_keys": {"file": "keys/data-keys.json"},
                    "signing_key": {"file": "keys/signing-key"}},
        "operator": {
            "recipients_file": "keys/operator-recipients.txt",
            "intake_signing_keys_file": "keys/intake-signing-public.txt",
            "quarantine_dir": "operator/quarantine",
            "identity_file": "operator/operator-identity.txt",
            "store": "operator/cases.db",
        },
        "logging": {"level": "INFO", "file": "data/logs/grievance.log"},
    }
    if database_url:
        config["paths"]["database_url"] = database_url
        if database_url.startswith("postgresql"):
            # On PostgreSQL the operator store is a database too, as for a team: the test's fresh one
            # (its tables are apart from the intake's: tests/test_operator_store_concurrency.py checks).
            config["operator"]["store"] = database_url
    for section, values in overrides.items():
        config[section] = {**config.get(section, {}), **values}
    return config


@pytest.fixture
def deployment_dir(tmp_path: Path) -> Path:
    return tmp_path / "deployment"


@pytest.fixture
def settings(deployment_dir: Path, database_url: str | None) -> Settings:
    deployment_dir.mkdir(parents=True, exist_ok=True)
    settings = settings_from_mapping(make_config(deployment_dir, database_url), base_dir=deployment_dir)
    init_keys(settings, dev_operator_key=True)  # the tests play the operator too
    return settings


@pytest.fixture
def settings_with(deployment_dir: Path, database_url: str | None) -> Callable[..., Settings]:
    """settings_with(section={...}, ...) -> Settings of the test deployment with those overrides."""

    def build(**overrides) -> Settings:
        deployment_dir.mkdir(parents=True, exist_ok=True)
        return settings_from_mapping(make_config(deployment_dir, database_url, **overrides), base_dir=deployment_dir)

    return build


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = build_services(settings)
    yield built
    built.close()


@pytest.fixture
def send(services: Services) -> Callable[..., list[str]]:
    """send(sender, text, channel="sms") -> the bot's reply texts."""

    def _send(sender: str, text: str, channel: str = "sms") -> list[str]:
        return list(services.intake.receive(InboundMessage(channel=channel, sender=sender, text=text)).texts)

    return _send


@pytest.fixture
def captured_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog
