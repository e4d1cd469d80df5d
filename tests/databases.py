"""Which database the test deployments use: SQLite (default) or, with GRIEVANCE_TEST_DB=postgresql, PostgreSQL."""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import socket
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
TEST_DB = os.environ.get("GRIEVANCE_TEST_DB", "sqlite")
if TEST_DB not in ("sqlite", "postgresql"):
    raise pytest.UsageError(f"GRIEVANCE_TEST_DB must be sqlite or postgresql, not {TEST_DB!r}")
ON_POSTGRES = TEST_DB == "postgresql"
PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_ADMIN_URL = f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/test"
# Every database a run makes is named gt_<host>_<pid>_<token>_...: two runs on one machine (two
# engineers, CI) never share or drop each other's, and a run that was killed can be recognised
# by its dead pid and its leftovers dropped by the next run on the same host.
PG_PREFIX = "gt"
PG_HOST_TAG = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]
PG_RUN = f"{PG_PREFIX}_{PG_HOST_TAG}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
PG_TEMPLATE = f"{PG_RUN}_template"

_database_numbers = itertools.count(1)
_RUN_DATABASE = re.compile(rf"^{PG_PREFIX}_(?P<host>[0-9a-f]{{6}})_(?P<pid>[0-9]+)_[0-9a-f]{{6}}_")


def pg_url(database: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database


def pg_admin(*statements: str) -> list[tuple]:
    """Run statements outside a transaction (CREATE/DROP DATABASE cannot run in one); the last one's rows."""
    import psycopg

    rows: list[tuple] = []
    with psycopg.connect(host=PG_HOST, port=PG_PORT, user="postgres", dbname="test", autocommit=True) as connection:
        for statement in statements:
            cursor = connection.execute(statement)
            rows = cursor.fetchall() if cursor.description else []
    return rows


def new_database_name(kind: str) -> str:
    """This run's next database name: gt_<host>_<pid>_<token>_<kind><n>."""
    return f"{PG_RUN}_{kind}{next(_database_numbers)}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def drop_leftovers() -> None:
    """Drop the databases of earlier runs on this host whose pytest process is gone (killed, crashed).

    Only names of this scheme, made on this host, whose pid no longer runs: a
    concurrent run's databases (its pid alive) and other hosts' are never touched.
    """
    names = [row[0] for row in pg_admin(f"SELECT datname FROM pg_database WHERE datname LIKE '{PG_PREFIX}\\_%'")]
    for name in names:
        match = _RUN_DATABASE.match(name)
        if match and match["host"] == PG_HOST_TAG and not _pid_alive(int(match["pid"])):
            pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class DatabaseCopies:
    """Copies of the template for one test each, made ahead and dropped behind, on background threads.

    CREATE DATABASE ... TEMPLATE and DROP DATABASE mostly wait on the disk
    (tens of milliseconds on an idle machine, several hundred under load):
    done while tests run, they add little to the suite's time.
    """

    AHEAD = 2

    def __init__(self, template: str) -> None:
        self.template = template
        self.maker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-copies-make")
        self.dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-copies-drop")
        self.ahead: deque[Future[str]] = deque()
        self.failures: list[str] = []  # drops that failed, by name and error type

    def _create(self) -> str:
        name = new_database_name("t")
        pg_admin(f"CREATE DATABASE {name} TEMPLATE {self.template}")
        return name

    def _drop(self, name: str) -> None:
        try:
            pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        except Exception as error:  # reported when the session ends
            self.failures.append(f"{name}: {type(error).__name__}")

    def take(self) -> str:
        """A fresh copy for the test starting now; the next ones are being made meanwhile."""
        while len(self.ahead) <= self.AHEAD:
            self.ahead.append(self.maker.submit(self._create))
        return self.ahead.popleft().result()

    def give_back(self, name: str) -> None:
        self.dropper.submit(self._drop, name)

    def close(self) -> None:
        """Drop the copies made ahead and wait for every drop."""
        while self.ahead:
            try:
                self.dropper.submit(self._drop, self.ahead.popleft().result())
            except Exception as error:
                self.failures.append(f"copy made ahead: {type(error).__name__}")
        self.maker.shutdown(wait=True)
        self.dropper.shutdown(wait=True)


# For tests that need a real SQLite file (scans of the data folder, WAL checks).
sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="reads the SQLite database file itself; on PostgreSQL there is no such file")


def example_config(database_url: str | None) -> dict:
    """The example config.yaml as a mapping, pointed at the test's database."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    # Real-looking contacts instead of the example's placeholder, which start-up refuses once a
    # real channel is enabled (bot/config.check_deployment; tests/test_config.py tests that).
    config["deployment"]["emergency_contacts"] = ["Emergency services: 999", "Duty officer: 0100 200 300"]
    # The example turns the operator API on for the local demo (127.0.0.1:8081); tests that want one
    # start it on a port of their own.
    config["operator_api"]["enabled"] = False
    config["paths"]["sqlite_wal_erase_within_seconds"] = 0.2  # tests that erase twice need not wait 5 s
    if database_url:
        config.setdefault("paths", {})["database_url"] = database_url
        if database_url.startswith("postgresql"):
            config.setdefault("operator", {})["store"] = database_url  # the operator store on PostgreSQL too
    return config


def database_rows(database_url: str) -> bytes:
    """Every row of every table of a PostgreSQL database, as COPY's text format (what pg_dump writes
    for the data, bytea as `\\\\x` and hex), read over one connection.

    The data part of a pg_dump without its process: a pg_dump costs ~0.1 s to start and read the
    catalog, and the leak scan takes one of each of ~2,000 test databases in a PostgreSQL run.
    """
    import psycopg
    from psycopg import sql

    rows = bytearray()
    with psycopg.connect(database_url.replace("+psycopg", "", 1), autocommit=True) as connection:
        tables = connection.execute(
            "SELECT schemaname, tablename FROM pg_catalog.pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2").fetchall()
        with connection.cursor() as cursor:
            for schema, table in tables:
                with cursor.copy(sql.SQL("COPY {} TO STDOUT").format(sql.Identifier(schema, table))) as copy:
                    for block in copy:
                        rows += block
    return bytes(rows)


def needles_in_database(database_url: str, needles: list[str | bytes]) -> list[tuple[str, str]]:
    """Every (needle, form) found in every row of a PostgreSQL database.

    The PostgreSQL counterpart of scanning the SQLite file: bytea columns are
    copied out as hex, so each needle is looked for as text and as hex.
    """
    dump = database_rows(database_url)
    hits = []
    for needle in needles:
        raw = needle if isinstance(needle, bytes) else needle.encode()
        for form, encoded in (("text", raw), ("hex", raw.hex().encode())):
            if encoded in dump:
                hits.append((repr(needle), form))
    return hits


def needles_at_rest(settings, needles: list[str]) -> list[tuple]:
    """Every needle found at rest: in any file of the data folder, and on PostgreSQL in a full dump.

    The data folder holds the SQLite database and its WAL journal on SQLite (and
    logs on both); on PostgreSQL the rows are in the server, so it is dumped too.
    """
    from leak_scan import needles_in_tree

    hits: list[tuple] = list(needles_in_tree(settings.data_dir, needles)) if settings.data_dir.exists() else []
    if ON_POSTGRES:
        hits += needles_in_database(settings.database_url, needles)
    return hits
