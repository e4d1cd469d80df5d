"""Pattern report over a large store: fill it with fake cases, then time `build_report` and the files.

    .venv/bin/python -m bench.report_bench --cases 100000

Prints the seconds to read the facts (opening every record), to compute the figures and
disclosure control, and to write the files, with the peak RSS. The target (BENCHMARKS.md):
a report over 100,000 cases in under 10 s. The report covers the calendar year 2025 (a
public report covers a calendar period); its public figures are decided for every month,
quarter and the year, as they would be the first time the year is published.
`--small` makes a small mechanism's store instead (--cases over 2025 and the year before,
most counts small), where disclosure control has the most to do.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

from pyrage import x25519

from desk.reports.demo import fill_demo_store
from desk.reports.facts import read_facts
from desk.reports.build import build_report
from desk.reports.render import write_report
from desk.operator_store import OperatorStore

CATEGORIES = ("wages", "hours", "safety", "harassment", "discrimination", "forced_labour", "child_labour",
              "association", "dismissal", "retaliation", "living_conditions", "environment_community", "other")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--profile", choices=["internal", "public"], default="public")
    parser.add_argument("--small", action="store_true", help="a small mechanism: the cases over two years, no more")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        identity = str(x25519.Identity.generate())
        store = OperatorStore(Path(folder) / "cases.db", identity)
        started = time.perf_counter()
        fill_demo_store(store, args.cases, start=date(2024, 1, 1) if args.small else date(2025, 1, 1),
                        end=date(2025, 12, 31) if args.small else date(2026, 10, 31))
        filled = time.perf_counter() - started
        started, cpu = time.perf_counter(), time.process_time()
        facts = list(read_facts(store, date(2025, 12, 31)))
        read = time.perf_counter() - started
        started = time.perf_counter()
        report = build_report(facts, start=date(2025, 1, 1), end=date(2025, 12, 31), profile=args.profile, categories=CATEGORIES)
        figures = time.perf_counter() - started
        started = time.perf_counter()
        write_report(report, Path(folder) / "report", "Benchmark")
        written = time.perf_counter() - started
        cpu = time.process_time() - cpu
        store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = read + figures + written
    hidden = sum(len(release.hidden) for release in report.releases.values())
    counts = sum(len(release.values) for release in report.releases.values())
    decided = f"; {hidden} of {counts} counts of the two years' periods hidden" if report.public else ""
    print(f"{args.cases} cases ({report.by_category_month.total} in 2025), profile {args.profile}{decided}: "
          f"report in {total:.1f} s, {cpu:.1f} s of CPU (read {read:.1f} s, figures {figures:.1f} s, files {written:.1f} s); "
          f"filling the store took {filled:.1f} s; peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
