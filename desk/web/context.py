"""What the desk's web app works with: the stores, the cases opened in memory, the clock, the operator API.

Cases are opened once with the operator store key and kept in memory while the desk runs,
for the lists and the search over their words: no plaintext index ever touches the disk.
A background thread pulls new cases from the queue (when the deployment names one) and
refreshes the memory; the time of the last pull is shown on every page.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.config import Settings
from desk.operator_store import CaseFilter, OperatorStore

from ..store import DeskStore

log = logging.getLogger(__name__)


@dataclass
class OpenCase:
    """A case as the desk shows it: the record, where it stands, and its words folded for search."""

    record: dict
    status: str
    status_changed_at: str
    search_text: str

    @property
    def case_id(self) -> str:
        return self.record["case_id"]


def _search_text(record: dict) -> str:
    answers = " ".join(str(value) for value in (record.get("answers") or {}).values() if isinstance(value, str))
    return " ".join([record.get("description", ""), answers, record["category"], record["case_id"]]).casefold()


@dataclass
class DeskContext:
    """One running desk."""

    settings: Settings
    cases_store: OperatorStore
    store: DeskStore
    identity: str
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    pull: Callable[[], int] | None = None  # pulls from the queue; the number of new cases
    operator_client: Callable[[], object] | None = None  # a desk.operator_client.OperatorClient, when configured
    cases: dict[str, OpenCase] = field(default_factory=dict)
    last_pulled: datetime | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self) -> None:
        """Open every case of the store into memory (after start and after each pull)."""
        opened = {stored.record["case_id"]: OpenCase(stored.record, stored.status, stored.status_changed_at, _search_text(stored.record))
                  for stored in self.cases_store.iter_cases(CaseFilter())}
        with self.lock:
            self.cases = opened

    def pull_now(self) -> int:
        new = self.pull() if self.pull else 0
        self.last_pulled = self.clock()
        self.refresh()
        return new

    def start_pulling(self, every_seconds: float, stop: threading.Event) -> threading.Thread:
        def loop() -> None:
            while not stop.wait(every_seconds):
                try:
                    self.pull_now()
                except Exception:  # the queue is down: the desk goes on with what it has, and says when it last pulled
                    log.exception("pull failed")

        thread = threading.Thread(target=loop, name="desk-pull", daemon=True)
        thread.start()
        return thread

    def search(self, words: str) -> list[OpenCase]:
        terms = words.casefold().split()
        with self.lock:
            return [case for case in self.cases.values() if all(term in case.search_text for term in terms)]
