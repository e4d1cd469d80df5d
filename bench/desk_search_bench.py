"""The desk's search over opened cases: fill a store with fake cases, open them into memory, time searches.

    .venv/bin/python -m bench.desk_search_bench --cases 10000

The target (issue 12, BENCHMARKS.md): a search over 10,000 cases answers in under 300 ms. The
cases are opened once when the desk starts (timed too); a search scans their folded words in memory.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from pyrage import x25519

from bot.config import settings_from_mapping
from desk.reports.demo import fill_demo_store
from desk.store import DeskStore
from desk.web.context import DeskContext
from desk.operator_store import OperatorStore

QUERIES = ("sunrise", "wages", "gazipur fire", "no such words at all", "rahman knitwear")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        identity = str(x25519.Identity.generate())
        store = OperatorStore(Path(folder) / "cases.db", identity)
        fill_demo_store(store, args.cases, start=date(2026, 1, 1), end=date(2026, 10, 31))
        settings = settings_from_mapping({"paths": {"data_dir": folder}}, base_dir=Path(folder))
        context = DeskContext(settings, store, DeskStore(store), identity)
        started = time.perf_counter()
        context.refresh()
        opened = time.perf_counter() - started
        timings = []
        for _ in range(args.repeat):
            for query in QUERIES:
                started = time.perf_counter()
                context.search(query)
                timings.append((time.perf_counter() - started) * 1000)
        store.close()
    timings.sort()
    print(f"{args.cases} cases opened into memory in {opened:.1f} s; search: median {statistics.median(timings):.1f} ms, "
          f"p95 {timings[int(0.95 * (len(timings) - 1))]:.1f} ms, max {timings[-1]:.1f} ms over {len(timings)} searches")


if __name__ == "__main__":
    main()
