"""The whole pipeline under load: `grievance serve` (gunicorn) driven by simulated workers over loopback.

    .venv/bin/python -m bench.http_bench                       # SQLite, the default deployment
    .venv/bin/python -m bench.http_bench --db postgresql       # PostgreSQL at 127.0.0.1:5432
    .venv/bin/python -m bench.http_bench --growth 1000,1000000 # latency as the store grows

Each simulated worker sends a whole intake conversation (15 signed Twilio SMS
webhooks, ending in a confirmed case) over its own keep-alive connection. The
run reports messages/s at saturation, p50/p99 latency there and at half that
rate, the server's CPU time and peak memory, and the same saturation run
against a bare Flask app on identical gunicorn settings (`bench/bare_app.py`),
with the ratio. Not part of the test pass/fail; results go in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from . import loadgen

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_healthy(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server on port {port} did not become healthy")


# ---------------------------------------------------------------- process accounting from /proc


def _tree(pid: int) -> list[int]:
    pids, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            pids.append(child)
            frontier.append(child)
    return pids


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for each in _tree(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(largest single process, sum over the tree) of each process's peak resident memory."""
    peaks = []
    for each in _tree(pid):
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        except OSError:
            continue
    return (max(peaks, default=0.0), sum(peaks))


# ---------------------------------------------------------------- the deployment under test


@dataclass
class Deployment:
    root: Path
    config: Path
    database_url: str | None
    env: dict[str, str]

    def grievance(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", "from bot.cli import main; main()", "--config", str(self.config), *args],
                              cwd=self.root, env=self.env, check=True, capture_output=True, text=True, **kwargs)

    def serve(self, port: int, workers: int, **popen) -> subprocess.Popen:
        """`grievance serve` (gunicorn and the forwarder beside it); `popen` e.g. `stderr=` a file,
        `start_new_session=True` to kill the whole group at once (the crash tests)."""
        options = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, **popen}
        return subprocess.Popen(
            [sys.executable, "-c", "from bot.cli import main; main()", "--config", str(self.config), "serve",
             "--port", str(port), "--workers", str(workers)],
            cwd=self.root, env=self.env, **options,
        )

    def start(self, *args: str, **popen) -> subprocess.Popen:
        """Any other `grievance` command as a process, e.g. `start("forward", "--loop")`."""
        options = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, **popen}
        return subprocess.Popen([sys.executable, "-c", "from bot.cli import main; main()", "--config", str(self.config), *args],
                                cwd=self.root, env=self.env, **options)


def make_deployment(root: Path, db: str, *, database_url: str | None = None,
                    configure: Callable[[dict], None] | None = None) -> Deployment:
    """A deployment folder with Twilio enabled; `database_url` names a database of one's own
    (instead of a new one on the shared PostgreSQL), `configure` edits the config before `init`."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    if database_url:
        config["paths"]["database_url"] = database_url
    elif db == "postgresql":
        import psycopg

        name = f"grievance_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        database_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        config["paths"]["database_url"] = database_url
    config["server"]["public_url"] = loadgen.PUBLIC_URL
    # The example's placeholder contact is refused at start-up once Twilio is enabled (bot/config.check_deployment).
    config["deployment"]["emergency_contacts"] = ["Emergency services: 999", "Duty officer: 0100 200 300"]
    twilio = config["channels"]["twilio"]
    twilio.update(enabled=True, sms_from=loadgen.HOTLINE_SMS, api_base_url="http://127.0.0.1:9")  # never called: replies are TwiML
    for name in ("whatsapp_cloud", "telegram"):
        config["channels"].get(name, {})["enabled"] = False
    config["operator_api"]["enabled"] = False  # the example's local demo desk: not part of the pipeline measured
    if configure is not None:
        configure(config)
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    env = {**os.environ, "TWILIO_ACCOUNT_SID": loadgen.ACCOUNT_SID, "TWILIO_AUTH_TOKEN": loadgen.AUTH_TOKEN,
           "PYTHONPATH": str(REPO)}
    deployment = Deployment(root, path, database_url, env)
    deployment.grievance("init", "--dev-operator-key")  # the bench pulls as the operator too
    return deployment


def drop_database(deployment: Deployment) -> None:
    if deployment.database_url:
        import psycopg

        name = deployment.database_url.rsplit("/", 1)[1]
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prefill_cases(deployment: Deployment, count: int) -> float:
    """Add `count` confirmed cases to the store (what STATUS and new cases search among); returns seconds."""
    import hashlib

    from sqlalchemy import func, insert, select

    sys.path.insert(0, str(REPO))
    from bot.config import load_settings
    from storage.db import make_engine, migrate
    from storage.models import Case

    settings = load_settings(deployment.config)
    engine = make_engine(settings.database_url)
    migrate(engine)
    started = time.perf_counter()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with engine.begin() as connection:
        have = connection.execute(select(func.count()).select_from(Case)).scalar_one()
    batch = 20_000
    for first in range(have, count, batch):
        rows = [
            {"case_id": str(uuid.uuid4()), "code_lookup": hashlib.sha256(f"bench-{i}".encode()).hexdigest(),
             "status": "received", "urgent": i % 50 == 0, "created_at": now - timedelta(minutes=i % 100_000),
             "reply_address": None, "reply_address_expires_at": None}
            for i in range(first, min(count, first + batch))
        ]
        with engine.begin() as connection:
            connection.execute(insert(Case), rows)
    engine.dispose()
    return time.perf_counter() - started


def count_cases(deployment: Deployment) -> int:
    from sqlalchemy import func, select

    from bot.config import load_settings
    from storage.db import make_engine
    from storage.models import Case

    engine = make_engine(load_settings(deployment.config).database_url)
    with engine.begin() as connection:
        total = connection.execute(select(func.count()).select_from(Case)).scalar_one()
    engine.dispose()
    return total


# ---------------------------------------------------------------- runs


@dataclass
class RunResult:
    label: str
    messages: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_seconds: float
    peak_rss_mb: float
    tree_rss_mb: float
    generator_cpu_seconds: float = 0.0  # the load generator's own CPU: it shares the machine's cores

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    def row(self) -> str:
        return (f"| {self.label} | {self.messages} | {self.errors} | {self.rate:,.0f} | {self.p50_ms:.1f} | {self.p99_ms:.1f} | "
                f"{self.cpu_seconds:.1f} ({self.cpu_seconds / self.seconds * 100:.0f}% of a core) | "
                f"{self.peak_rss_mb:.0f} / {self.tree_rss_mb:.0f} | {self.generator_cpu_seconds / self.seconds * 100:.0f}% |")


def run_load(label: str, server_pid: int, conversations: list[loadgen.Conversation], port: int, *, concurrency: int,
             rate: float | None = None, duration: float | None = None) -> RunResult:
    cpu_before, own_before = cpu_seconds(server_pid), time.process_time()
    seconds = asyncio.run(loadgen.drive("127.0.0.1", port, conversations, concurrency=concurrency, rate=rate, duration=duration))
    cpu = cpu_seconds(server_pid) - cpu_before
    generator_cpu = time.process_time() - own_before
    statuses = [s for c in conversations for s in c.statuses]
    latencies = [latency for c in conversations for latency in c.latencies]
    ok = sum(200 <= s < 300 for s in statuses)
    peak, tree = peak_rss_mb(server_pid)
    return RunResult(label, ok, len(statuses) - ok, seconds, loadgen.percentile(latencies, 0.5) * 1000,
                     loadgen.percentile(latencies, 0.99) * 1000, cpu, peak, tree, generator_cpu)


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def server_log(deployment: Deployment, name: str):
    """The server's stderr goes to a file: a pipe that nobody reads fills up and blocks every logging thread."""
    return open(deployment.root / f"{name}.stderr.log", "ab")


def bench_pipeline(args, deployment: Deployment, results: list[RunResult]) -> float:
    port = free_port()
    with server_log(deployment, "pipeline") as log:
        server = deployment.serve(port, args.server_workers, stderr=log)
    try:
        wait_healthy(port)
        warm = loadgen.build_conversations("127.0.0.1", port, args.concurrency, first=9_000_000)
        asyncio.run(loadgen.drive("127.0.0.1", port, warm, concurrency=args.concurrency))
        conversations = loadgen.build_conversations("127.0.0.1", port, args.conversations)
        saturated = run_load(f"hotline, {args.db}, saturated", server.pid, conversations, port, concurrency=args.concurrency)
        results.append(saturated)
        half = saturated.rate / 2
        paced = loadgen.build_conversations("127.0.0.1", port, args.conversations, first=1_000_000)
        results.append(run_load(f"hotline, {args.db}, at half ({half:,.0f}/s)", server.pid, paced, port,
                                concurrency=args.concurrency, rate=half, duration=args.half_seconds))
        time.sleep(args.server_drain)  # let the forwarder deliver what the last conversations confirmed
    finally:
        stop(server)
    confirmed = sum(c.statuses[-1:] == [200] and len(c.statuses) == len(loadgen.INTAKE) for c in conversations)
    stored = count_cases(deployment)
    print(f"# {confirmed} conversations of the saturated run ended confirmed; {stored} cases stored in all (warm-up and paced runs included)", file=sys.stderr)
    return saturated.rate


def bench_bare(args, deployment: Deployment, results: list[RunResult]) -> None:
    port = free_port()
    with server_log(deployment, "bare") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(args.server_workers),
             "--worker-class", "gthread", "--threads", str(args.threads), "--log-level", "warning", "bench.bare_app:app"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=log,
        )
    try:
        wait_healthy(port)
        warm = loadgen.build_conversations("127.0.0.1", port, args.concurrency, first=9_000_000)
        asyncio.run(loadgen.drive("127.0.0.1", port, warm, concurrency=args.concurrency))
        conversations = loadgen.build_conversations("127.0.0.1", port, args.conversations)
        results.append(run_load("bare Flask + gunicorn (ceiling)", server.pid, conversations, port, concurrency=args.concurrency))
    finally:
        stop(server)


def bench_growth(args, deployment: Deployment, sizes: list[int]) -> list[tuple[int, RunResult, float]]:
    out = []
    for size in sizes:
        fill = prefill_cases(deployment, size)
        port = free_port()
        with server_log(deployment, f"growth-{size}") as log:
            server = deployment.serve(port, args.server_workers, stderr=log)
        try:
            wait_healthy(port)
            warm = loadgen.build_conversations("127.0.0.1", port, args.concurrency, first=8_000_000 + size % 1000)
            asyncio.run(loadgen.drive("127.0.0.1", port, warm, concurrency=args.concurrency))
            conversations = loadgen.build_conversations("127.0.0.1", port, args.conversations, first=2_000_000 + size)
            result = run_load(f"{size:,} cases stored, {args.growth_rate:.0f}/s", server.pid, conversations, port,
                              concurrency=args.concurrency, rate=args.growth_rate, duration=args.half_seconds)
        finally:
            stop(server)
        out.append((size, result, fill))
    return out


def machine() -> str:
    cpus = os.cpu_count()
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    load = os.getloadavg()[0]
    return f"{cpus} cores ({model}), Python {platform.python_version()}, load average {load:.1f} at the start"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--server-workers", type=int, default=2, help="gunicorn worker processes (`serve --workers`)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker process (server.threads)")
    parser.add_argument("--sqlite-synchronous", choices=["full", "normal"], default="full", help="paths.sqlite_synchronous")
    parser.add_argument("--concurrency", type=int, default=64, help="simulated workers texting at the same time")
    parser.add_argument("--conversations", type=int, default=400, help="whole intakes in the saturated run (15 messages each)")
    parser.add_argument("--half-seconds", type=float, default=20.0, help="length of the paced runs")
    parser.add_argument("--server-drain", type=float, default=3.0)
    parser.add_argument("--no-bare", action="store_true", help="skip the bare-endpoint ceiling")
    parser.add_argument("--growth", default="", help="comma-separated store sizes, e.g. 1000,1000000 (paced runs)")
    parser.add_argument("--growth-rate", type=float, default=200.0, help="messages/s of the growth runs")
    parser.add_argument("--keep", action="store_true", help="keep the deployment folder")
    parser.add_argument("--nlu-backend", choices=["builtin", "e5"], default="builtin",
                        help="nlu.backend; e5 needs a running worker (`make e5-run`) at --e5-url, its token in $GRIEVANCE_E5_TOKEN")
    parser.add_argument("--e5-url", default="http://127.0.0.1:5006")
    args = parser.parse_args()

    print(f"# {machine()}", file=sys.stderr)
    print(f"# {' '.join(sys.argv[1:]) or '(defaults)'}: {args.server_workers} worker processes x {args.threads} threads, "
          f"{args.concurrency} simulated workers, {args.db}, nlu {args.nlu_backend}" + (f" synchronous={args.sqlite_synchronous}" if args.db == "sqlite" else ""),
          file=sys.stderr)
    root = Path(tempfile.mkdtemp(prefix="grievance-bench-"))
    def configure(config: dict) -> None:
        config["server"]["threads"] = args.threads
        config["paths"]["sqlite_synchronous"] = args.sqlite_synchronous
        config["nlu"]["backend"] = args.nlu_backend
        if args.nlu_backend == "e5":
            config["nlu"].update(e5_url=args.e5_url, e5_token={"env": "GRIEVANCE_E5_TOKEN"})

    deployment = make_deployment(root, args.db, configure=configure)
    results: list[RunResult] = []
    try:
        if args.growth:
            sizes = [int(s) for s in args.growth.split(",")]
            rows = bench_growth(args, deployment, sizes)
            print("| store | messages | errors | p50 ms | p99 ms | filled in |")
            print("|---|---|---|---|---|---|")
            for size, result, fill in rows:
                print(f"| {size:,} cases | {result.messages} | {result.errors} | {result.p50_ms:.1f} | {result.p99_ms:.1f} | {fill:.0f} s |")
            first, last = rows[0][1], rows[-1][1]
            print(f"\np50 growth {(last.p50_ms / first.p50_ms - 1) * 100:+.0f}%, p99 growth {(last.p99_ms / first.p99_ms - 1) * 100:+.0f}%")
            return
        rate = bench_pipeline(args, deployment, results)
        if not args.no_bare:
            bench_bare(args, deployment, results)
        print("| run | 2xx messages | errors | messages/s | p50 ms | p99 ms | server CPU s | peak RSS MB (largest / sum) "
              "| load generator CPU (of a core) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for result in results:
            print(result.row())
        if not args.no_bare:
            print(f"\nhotline / bare = {rate / results[-1].rate * 100:.0f}%")
    finally:
        drop_database(deployment)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
