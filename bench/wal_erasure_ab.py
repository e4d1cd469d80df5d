"""A/B of the WAL truncation after erasures (storage/db.py): in-process intake throughput on SQLite
(synchronous=full), 120 whole conversations on 4 threads, with the truncation and without it, alternating.

    PYTHONPATH=$PWD .venv/bin/python -m bench.wal_erasure_ab [rounds]
"""

from __future__ import annotations

import re
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from bot.config import settings_from_mapping  # noqa: E402
from bot.messages import InboundMessage  # noqa: E402
from bot.services import build_services  # noqa: E402
from conftest import make_config  # noqa: E402
from storage import db  # noqa: E402
from storage.keys import init_keys  # noqa: E402
from worker_scripts import ENGLISH_INTAKE  # noqa: E402

ERASING = db._ERASING
NEVER = re.compile(r"(?!x)x")


def run(truncate: bool, folder: Path, conversations: int = 120, threads: int = 4) -> tuple[float, int]:
    db._ERASING = ERASING if truncate else NEVER
    root = Path(tempfile.mkdtemp(dir=folder))
    settings = settings_from_mapping(make_config(root), base_dir=root)
    init_keys(settings, dev_operator_key=True)
    services = build_services(settings)
    script = [*ENGLISH_INTAKE, "1"]

    def worker(first: int) -> None:
        for number in range(first, conversations, threads):
            for step, text in enumerate(script):
                services.intake.receive(InboundMessage(channel="sms", sender=f"+1555{number:05d}", text=text,
                                                       provider_id=f"{number}-{step}"))

    started = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(first,)) for first in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - started
    wal = settings.data_dir / "grievance.db-wal"
    size = wal.stat().st_size if wal.exists() else 0
    services.close()
    return conversations * len(script) / elapsed, size


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    results: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(rounds):
            for truncate in (False, True):
                rate, size = run(truncate, Path(folder))
                results[truncate].append(rate)
                print(f"truncate={truncate}: {rate:.0f} messages/s, WAL at the end {size / 1024:.0f} KiB", flush=True)
    for truncate, rates in results.items():
        print(f"truncate={truncate}: mean {sum(rates) / len(rates):.0f} messages/s over {len(rates)} runs")


if __name__ == "__main__":
    main()
