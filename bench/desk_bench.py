"""The desk's pages at a busy mechanism's size: server time per route, and the memory of the unlocked desk.

    .venv/bin/python -m bench.desk_bench --cases 3000 10000 50000

For each size: a fresh SQLite operator store filled by `grievance demo-data` (desk/reports/demo.py),
a worker's answer on one case in twenty (one in ten of those urgent), a caseworker and an analyst
signed in through the real forms of the Flask test client, then each route asked `--repeat` times
(the median and the worst are printed, in ms of server time: the test client has no network).
The RSS is the process's after the desk opened every case into memory (`DeskContext.refresh`),
as `grievance desk serve` does at start, and again after the pages (with the Patterns page's facts
and report kept). The RSS grows with each size (the process does not give memory back): read the
largest size from a run of that size alone. The target (issue 22, BENCHMARKS.md): every route
under 300 ms at 50,000 cases.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pyrage import x25519

from bot.config import settings_from_mapping
from desk.dialogue import OperatorDialogue
from desk.operator_store import OperatorStore, store_location
from desk.reports.demo import fill_demo_store
from desk.store import DeskStore
from desk.web import create_desk_app
from desk.web.context import DeskContext
from desk.worker_answers import WorkerAnswer

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
PASSWORD = "bench-passphrase-0001"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _answers(store: OperatorStore, identity: str, settings, every: int = 20) -> int:
    """A worker's answer on one case in `every` (the newest cases), kept the way a pull keeps them."""
    dialogue = OperatorDialogue(store_location(settings), identity)
    try:
        ids = [summary.case_id for summary in store.summaries()][::every]
        for number, case_id in enumerate(ids):
            answer = WorkerAnswer(f"bench-{number}", case_id, "[FAKE DEMO ANSWER] still happening", "2026-11-19T08:00:00Z",
                                  urgent=number % 10 == 0)
            dialogue.keep_answer(answer, NOW)
    finally:
        dialogue.close()
    return len(ids)


def fill_demo_desk(settings, identity: str, cases: int) -> tuple[OperatorStore, float, int]:
    """The operator store of `settings` filled with `cases` demo cases and a worker's answer on one in twenty:
    (the store, seconds the filling took, answers kept)."""
    store = OperatorStore(store_location(settings), identity)
    started = time.perf_counter()
    fill_demo_store(store, cases, start=datetime(2026, 1, 1).date(), end=datetime(2026, 10, 31).date())
    filled = time.perf_counter() - started
    return store, filled, _answers(store, identity, settings)


def demo_config(folder: str) -> dict:
    """The config of a desk whose data and SQLite operator store are in `folder` (as read from a config file)."""
    return {"paths": {"data_dir": folder}, "operator": {"store": str(Path(folder) / "cases.db")}}


def _client(app, username: str):
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    page = client.get("/login")
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": CSRF.search(page.text).group(1)})
    if response.status_code != 302:
        raise SystemExit(f"sign-in as {username} failed: {response.status_code}")
    return client


def _time(client, url: str, repeat: int) -> tuple[float, float, float, int]:
    """The median and worst wall time, and the median CPU time (fairer on a shared machine), in ms; the page's size."""
    timings, cpu, size = [], [], 0
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        size = len(response.data)
    return statistics.median(timings), max(timings), statistics.median(cpu), size


def _changed(context, client, repeat: int) -> tuple[float, float, float, int]:
    """/patterns when one case moved on since the last view: the report is made again (its facts, all but one, kept),
    at once on a small desk, behind the page on a large one (desk/web/pattern_facts.py ReportCache)."""
    timings, behind = [], []
    waiting = [case.case_id for case in context.ordered if case.status == "received"]
    for number in range(repeat):
        context.cases_store.set_status(waiting[number], "acknowledged", "[FAKE] seen", NOW)
        context.refresh_case(waiting[number])
        timings.append(_time(client, "/patterns", 1))
        started, started_cpu = time.perf_counter(), time.process_time()
        context.reports.settle()  # a large desk makes the new report behind the page: how long that takes
        behind.append((time.perf_counter() - started, time.process_time() - started_cpu))
    if any(seconds > 0.001 for seconds, _cpu in behind):
        print(f"{len(context.cases)} cases: after a status change the report was made again behind the page in "
              f"{statistics.median(s for s, _c in behind):.1f} s (median; {statistics.median(c for _s, c in behind):.1f} s of CPU)")
    return (statistics.median(t[0] for t in timings), max(t[1] for t in timings), statistics.median(t[2] for t in timings),
            timings[-1][3])


def measure(cases: int, repeat: int) -> list[tuple[str, float, float, float, int]]:
    with tempfile.TemporaryDirectory() as folder:
        identity = str(x25519.Identity.generate())
        settings = settings_from_mapping(demo_config(folder), base_dir=Path(folder))
        store, filled, answered = fill_demo_desk(settings, identity, cases)
        desk_store = DeskStore(store)
        desk_store.add_user("cai", PASSWORD, "caseworker")
        desk_store.add_user("ana", PASSWORD, "analyst")
        context = DeskContext(settings, store, desk_store, identity, clock=lambda: NOW)
        started = time.perf_counter()
        context.refresh()
        opened = time.perf_counter() - started
        rss = _rss_mb()
        app = create_desk_app(context)
        worker, analyst = _client(app, "cai"), _client(app, "ana")
        some_case = sorted(context.cases)[len(context.cases) // 2]
        routes = [("inbox", worker, "/inbox"), ("case list", worker, "/cases"),
                  ("case list, page 20", worker, "/cases?page=20"),
                  ("search 'sunrise'", worker, "/cases?q=sunrise"),
                  ("search + filters", worker, "/cases?q=wages&status=received&channel=sms"),
                  ("case page", worker, f"/cases/{some_case}"),
                  ("patterns (year to date)", analyst, "/patterns")]
        results = [(name, *_time(client, url, repeat)) for name, client, url in routes]
        results.append(("patterns, the first view after a status change", *_changed(context, analyst, repeat)))
        rss_after = _rss_mb()
        desk_store.close()
    print(f"{cases} cases: demo-data filled the store in {filled:.1f} s, {answered} answers; opened into memory in "
          f"{opened:.1f} s; RSS {rss:.0f} MB once opened, {rss_after:.0f} MB after the pages (report facts and caches)")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, nargs="+", default=[3000, 10_000, 50_000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    table = {size: measure(size, args.repeat) for size in args.cases}
    print("| route | " + " | ".join(f"{size:,} cases: median (max) wall, median CPU, ms" for size in args.cases) + " | page |")
    print("|---|" + "---|" * len(args.cases) + "---|")
    for index, (name, *_rest) in enumerate(table[args.cases[0]]):
        cells = [f"{row[1]:.0f} ({row[2]:.0f}), {row[3]:.0f}" for row in (table[size][index] for size in args.cases)]
        print(f"| {name} | " + " | ".join(cells) + f" | {table[args.cases[-1]][index][4] // 1024} KB |")

if __name__ == "__main__":
    main()
