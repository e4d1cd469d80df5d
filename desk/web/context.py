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
from operator import attrgetter

from bot.config import Settings
from desk.dialogue import OperatorDialogue
from desk.operator_store import CaseFilter, OperatorStore

from ..reports.facts import group_key
from .answer_marks import AnswerMarks
from .pattern_facts import MemoryFacts, ReportCache

from ..signin import SignInGuard
from ..store import DeskStore

log = logging.getLogger(__name__)


@dataclass
class OpenCase:
    """A case as the desk shows it: the record, where it stands, and its words folded for search."""

    record: dict
    status: str
    status_changed_at: str
    search_text: str
    urgent: bool = False  # the store's urgency: the record's, or made urgent later (an alert joined it, an urgent answer)
    workplace_key: str = ""  # the workplace answer folded, to find the other cases of one workplace
    category: str = ""  # the case workers' category (desk/categories.py): the record's until someone changed it
    case_id: str = field(init=False)  # the record's, as attributes: the lists read them for every case
    received_at: str = field(init=False)

    def __post_init__(self) -> None:
        self.case_id, self.received_at = self.record["case_id"], self.record["received_at"]


def _workplace_key(record: dict) -> str:
    """As the reports group workplaces: "Sunrise Garments Ltd." is "sunrise garments"."""
    workplace = (record.get("answers") or {}).get("workplace")
    return group_key(workplace) if isinstance(workplace, str) else ""


def open_case(stored, urgent: bool) -> OpenCase:
    record = stored.record
    category = stored.category or record["category"]
    return OpenCase(record, stored.status, stored.status_changed_at, _search_text(record, category),
                    bool(record["urgent"]) or urgent, _workplace_key(record), category)


NEWEST = attrgetter("received_at", "case_id")  # the lists' order, reversed


def _newest_first(cases: dict[str, OpenCase]) -> list[OpenCase]:
    return sorted(cases.values(), key=NEWEST, reverse=True)


def _by_status(ordered: list[OpenCase]) -> dict[str, list[OpenCase]]:
    """The cases of each status, newest first: the inbox looks at the open ones only."""
    found: dict[str, list[OpenCase]] = {}
    for case in ordered:
        found.setdefault(case.status, []).append(case)
    return found


def _search_text(record: dict, category: str) -> str:
    answers = " ".join(str(value) for value in (record.get("answers") or {}).values() if isinstance(value, str))
    return " ".join([record.get("description", ""), answers, category, record["case_id"]]).casefold()


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
    ordered: list[OpenCase] = field(default_factory=list)  # the same cases, newest first (the lists page through it)
    by_status: dict[str, list[OpenCase]] = field(default_factory=dict)  # and by status, each newest first
    last_pulled: datetime | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    housekeeping: Callable[[], object] | None = None  # after each background pull: referral deliveries whose time has come
    referral_desk: object | None = None  # a desk.referral_flow.ReferralDesk, made at the first use
    signins: SignInGuard | None = None  # the sign-in throttles and pending sign-ins (made from `store` when not given)
    answers: AnswerMarks = field(default_factory=AnswerMarks)  # when each case last had an answer from its worker
    generation: int = 0  # moved on each time the cases in memory change: what was made from them is made again
    pattern_facts: MemoryFacts = field(default_factory=MemoryFacts)  # the Patterns page's facts of each case
    reports: ReportCache = field(default_factory=ReportCache)  # the Patterns page's reports, until what they rest on changes
    _dialogue: OperatorDialogue | None = None

    def __post_init__(self) -> None:
        if self.signins is None:
            self.signins = SignInGuard(self.store)

    def dialogue(self) -> OperatorDialogue:
        """The dialogue table, on the cases' own engine: a request opens no store of its own."""
        if self._dialogue is None:
            self._dialogue = OperatorDialogue(self.cases_store.engine, self.identity)
        return self._dialogue

    def refresh(self) -> None:
        """Open every case of the store into memory (after start and after each pull)."""
        urgent = {summary.case_id for summary in self.cases_store.summaries(urgent_only=True)}
        opened = {stored.record["case_id"]: open_case(stored, stored.record["case_id"] in urgent)
                  for stored in self.cases_store.iter_cases(CaseFilter())}
        ordered = _newest_first(opened)
        by_status = _by_status(ordered)
        with self.lock:
            self.cases, self.ordered, self.by_status = opened, ordered, by_status
            self.generation += 1

    def refresh_case(self, case_id: str) -> None:
        """Read one case again (after its status changed here): the others stay as they are."""
        found = self.cases_store.stored_case(case_id)
        if found is None:
            return
        stored, urgent = found
        case = open_case(stored, urgent)
        with self.lock:
            ordered = [case if each.case_id == case_id else each for each in self.ordered]
            self.cases, self.ordered, self.by_status = {**self.cases, case_id: case}, ordered, _by_status(ordered)
            self.generation += 1

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
                if self.housekeeping is not None:
                    try:
                        self.housekeeping()
                    except Exception:  # a company's server or the mail server is down: tried again on the next round
                        log.exception("referral deliveries failed")

        thread = threading.Thread(target=loop, name="desk-pull", daemon=True)
        thread.start()
        return thread

    def search(self, words: str, cases: list[OpenCase] | None = None) -> list[OpenCase]:
        """The cases (of `cases`, default: all, newest first) whose words hold every word of `words`."""
        terms = words.casefold().split()
        if cases is None:
            with self.lock:
                cases = self.ordered
        for term in terms:  # a word at a time, each pass over fewer cases
            cases = [case for case in cases if term in case.search_text]
        return list(cases)
