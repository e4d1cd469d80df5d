"""Machinery of the crash and outage tests: a real `grievance serve` to kill, load in a thread,
a private PostgreSQL cluster to stop, and reading the deployment's store from the outside.

Each simulated worker answers the workplace question with "Sunrise Garments Ltd unit <n>",
so a sealed case, once opened with the operator's key, names the conversation it came from:
that is how "one case per confirmed conversation" is counted without any link in the clear.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select

from bench import loadgen
from bench.http_bench import Deployment, free_port
from bot.config import load_settings
from storage import crypto
from storage.conversations import ConversationStore
from storage.db import make_engine, session_factory, utcnow
from storage.keys import intake_signing_public_keys, load_operator_identity, load_server_secrets
from storage.models import InboundReceipt, OutboxEntry, QueuedCase
from desk.operator_store import CaseFilter, OperatorStore
from desk.pull import pull_cases

T = TypeVar("T")
WORKPLACE_STEP = 6  # the seventh message of the intake answers the workplace question
CONFIRM_STEP = len(loadgen.INTAKE) - 1


def script_for(index: int) -> list[str]:
    script = list(loadgen.INTAKE)
    script[WORKPLACE_STEP] = workplace_of(index)
    return script


def workplace_of(index: int) -> str:
    return f"Sunrise Garments Ltd unit {index}"


def unit_of(record: dict) -> int:
    return int(record["answers"]["workplace"].rsplit(" ", 1)[1])


def wait_for(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.1, **observed: Callable) -> T:
    """Poll until `condition()` is truthy; its value, or AssertionError naming `what`.

    `observed` callables are read at the time-out and formatted into `what` (e.g. the states seen).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what.format(**{k: f() for k, f in observed.items()})}")
        time.sleep(interval)


def health(port: int) -> tuple[int, dict]:
    """(status, JSON body) of GET /health; (0, {}) when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
    except OSError:
        return 0, {}


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


class Server:
    """`grievance serve` in its own process group: gunicorn master and workers, the forwarder."""

    def __init__(self, deployment: Deployment, port: int | None = None, workers: int = 2) -> None:
        self.deployment = deployment
        self.port = port or free_port()
        self.workers = workers
        self.log = deployment.root / "server.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> Server:
        with self.log.open("ab") as log:
            self.process = self.deployment.serve(self.port, self.workers, stderr=log, start_new_session=True)
        wait_for(lambda: health(self.port)[0] == 200 or self.process.poll() is not None, 60, "the server to start")
        assert self.process.poll() is None, f"the server exited: {self.log.read_text()[-2000:]}"
        return self

    def kill9(self) -> None:
        """SIGKILL to every process of the group at once: no handler, no clean-up runs."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        wait_for(lambda: _group_gone(self.process.pid), 10, "the killed processes to disappear")
        wait_for(lambda: _refused(self.port), 10, "the port to be closed")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        try:
            wait_for(lambda: _group_gone(self.process.pid), 15, "the server's processes to end")
        except AssertionError:
            os.killpg(self.process.pid, signal.SIGKILL)


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL a process started with `start_new_session=True`, and all its children."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


class Load:
    """Simulated workers in a thread, each resending a request until it gets a 2xx (as a provider retries)."""

    def __init__(self, port: int, conversations: list[loadgen.Conversation], concurrency: int, timeout: float = 120) -> None:
        self.port, self.conversations, self.concurrency, self.timeout = port, conversations, concurrency, timeout
        self.halt = threading.Event()
        self._thread: threading.Thread | None = None
        self.until: int | None = None

    def start(self, until: int | None = None) -> Load:
        """Run in the background; with `until`, each conversation stops after that many answers."""
        self.until = until
        self.halt.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        asyncio.run(loadgen.drive_until_answered("127.0.0.1", self.port, self.conversations,
                                                 concurrency=self.concurrency, halt=self.halt, timeout=self.timeout,
                                                 until=self.until))

    def answered(self) -> int:
        return sum(c.acked for c in self.conversations)

    def total(self) -> int:
        return sum(len(c.requests) for c in self.conversations)

    def done(self) -> bool:
        return self.answered() == self.total()

    def stop(self) -> None:
        self.halt.set()
        self.join()

    def join(self, timeout: float | None = None) -> None:
        assert self._thread is not None
        self._thread.join(timeout if timeout is not None else self.timeout + 30)
        assert not self._thread.is_alive(), "the load generator did not stop"


class Store:
    """The deployment's database and keys, read from outside the server (as an auditor would)."""

    def __init__(self, deployment: Deployment) -> None:
        self.settings = load_settings(deployment.config)
        self.secrets = load_server_secrets(self.settings)
        self.engine = make_engine(self.settings.database_url)
        self.sessions = session_factory(self.engine)
        self.identity = load_operator_identity(self.settings.path(self.settings.operator.identity_file))
        self.signing_keys = intake_signing_public_keys(self.settings)

    def close(self) -> None:
        self.engine.dispose()

    def missing_receipts(self, conversations: list[loadgen.Conversation]) -> list[tuple[int, int]]:
        """(worker, message number) of every message answered with a 2xx that has no receipt."""
        wanted = {
            crypto.inbound_receipt_key(self.secrets, "twilio", c.sids[step]): (c.index, step)
            for c in conversations for step in range(c.acked)
        }
        with self.sessions.begin() as session:
            have = set(session.execute(select(InboundReceipt.key)).scalars())
        return sorted(where for key, where in wanted.items() if key not in have)

    def drafts(self, conversations: list[loadgen.Conversation]) -> dict[int, object]:
        """Worker index -> its decrypted draft (None when there is none)."""
        out = {}
        with self.sessions.begin() as session:
            store = ConversationStore(session, self.secrets, _idle(self.settings))
            for c in conversations:
                lookup = crypto.conversation_lookup(self.secrets, "sms", c.sender)
                out[c.index] = store.load(lookup, utcnow()).draft
        return out

    def outbox_states(self) -> Counter[str]:
        with self.sessions.begin() as session:
            return Counter(session.execute(select(OutboxEntry.state)).scalars())

    def sealed_units(self) -> dict[str, int]:
        """case id -> worker index, from every sealed copy still on the server (outbox and embedded queue)."""
        with self.sessions.begin() as session:
            sealed = list(session.execute(select(OutboxEntry.case_id, OutboxEntry.sealed).where(OutboxEntry.sealed != b"")))
            if self.settings.queue.kind == "embedded":
                sealed += list(session.execute(select(QueuedCase.case_id, QueuedCase.sealed)))
        return {case_id: unit_of(json.loads(crypto.open_case([self.identity], blob))) for case_id, blob in sealed}

    def failed_attempts(self) -> int:
        """How many outbox entries have failed at least one delivery."""
        with self.sessions.begin() as session:
            return len(session.execute(select(OutboxEntry.case_id).where(OutboxEntry.attempts > 0,
                                                                         OutboxEntry.state == "pending")).all())

    def outbox_case_ids(self) -> set[str]:
        with self.sessions.begin() as session:
            return set(session.execute(select(OutboxEntry.case_id)).scalars())

    def queue_case_count(self) -> int:
        with self.sessions.begin() as session:
            return len(session.execute(select(QueuedCase.case_id)).all())


def _idle(settings) -> timedelta:
    return timedelta(hours=settings.session.idle_expiry_hours)


def pull_into_store(source, identity: str, path: Path, signing_keys: tuple[str, ...]) -> tuple[Counter[int], int]:
    """Pull every case from `source` into a fresh operator store; (cases per worker, pulled)."""
    store = OperatorStore(path, identity)
    try:
        result = pull_cases(source, store, identity, signing_keys=signing_keys)
        units = Counter(unit_of(stored.record) for stored in store.iter_cases(CaseFilter()))
    finally:
        store.close()
    return units, result.pulled


# ---------------------------------------------------------------- a private PostgreSQL cluster


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb in a temporary folder, owned by `postgres`),
    on a free port, so it can be stopped without touching the shared server others use."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        assert bins, "PostgreSQL server binaries not found under /usr/lib/postgresql"
        self.bin = bins[-1].parent
        # Not under pytest's tmp_path: that is root's, mode 0700, and the server runs as `postgres`.
        root = Path(tempfile.mkdtemp(prefix="grievance-outage-pg-"))
        self.root = root
        self.data = root / "data"
        self.socket_dir = root / "sock"
        self.port = free_port()
        root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(self.socket_dir, "postgres", "postgres")
        self._as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                          "--no-sync", "-E", "UTF8")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str) -> None:
        command = list(args) if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--", *args]
        done = subprocess.run(command, capture_output=True, text=True, cwd="/tmp")
        assert done.returncode == 0, f"{Path(args[0]).name} failed: {done.stderr[-1000:]}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                          "-l", str(self.root / "postgres.log"), "-w", "-t", "60", "start")

    def stop(self) -> None:
        """`immediate`: the server dies at once, as on a crash; open connections just break."""
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def remove(self) -> None:
        if self.running():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
