"""The inbox's sections and the case list's filters, over the cases the desk holds in memory, a page at a time.

A busy mechanism holds tens of thousands of cases: each list is made in one pass over the cases
(kept newest first by desk/web/context.py), with what the store knows about them read once per
request (what this case worker has seen, what is assigned to them, when each worker last answered),
never once per case. Only the page shown is rendered. Within each list urgent cases come first;
then the newest first, except "Overdue", where the longest overdue come first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from math import ceil

from desk.lifecycle import OPEN_STATUSES, received_before

from .context import NEWEST

PAGE_SIZE = 50
BANNER_SIZE = 10  # the urgent cases named in the banner; the rest are one link away
SECTIONS = ("new", "answered", "mine", "overdue")  # the inbox's lists; each pages with its own parameter


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, which page it is, and how many there are in all."""

    rows: list
    number: int
    total: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.size))

    @property
    def first_row(self) -> int:
        return (self.number - 1) * self.size + 1 if self.total else 0

    @property
    def last_row(self) -> int:
        return min(self.total, self.number * self.size)


def page_number(args: Mapping[str, str], name: str) -> int:
    """The page a query parameter asks for: 1 when it is missing or not a number."""
    value = args.get(name, "")
    return int(value) if value.isdigit() and 0 < int(value) < 1_000_000 else 1


def paged(rows: list, number: int, size: int = PAGE_SIZE) -> Page:
    """Page `number` of `rows` (past the last page: the last page)."""
    number = min(number, max(1, ceil(len(rows) / size)))
    return Page(rows[(number - 1) * size:number * size], number, len(rows), size)


def urgent_first(cases: list) -> list:
    """The urgent cases first, each part in the order it had."""
    return [case for case in cases if case.urgent] + [case for case in cases if not case.urgent]


def overdue_test(today: date, levels) -> Callable[[object], bool]:
    """Whether a case is overdue on `today`: not acknowledged, or not concluded, within the service levels.

    The same as desk.lifecycle.overdue, by comparing `received_at` with two bounds made once (string
    order is time order) rather than working out each case's due dates.
    """
    acknowledge = received_before(today - timedelta(days=levels.acknowledge_within_days))
    feedback = received_before(today - timedelta(days=levels.feedback_within_days))

    def late(case) -> bool:
        if case.status == "received" and case.received_at < acknowledge:
            return True
        return case.status in OPEN_STATUSES and case.received_at < feedback

    return late


@dataclass(frozen=True)
class Inbox:
    """What the inbox shows: the urgent banner (newest first) and a page of each section."""

    urgent: list  # every urgent case waiting, the newest alert or urgent answer first
    sections: dict[str, Page]


def inbox(by_status: Mapping[str, list], cases: Mapping[str, object], *, seen: dict[str, str], mine: set[str], answers: dict,
          today: date, levels, pages: Mapping[str, int]) -> Inbox:
    """The inbox of one case worker. `by_status`: the cases of each status, newest first; `cases`: by id;
    `seen`: when they last opened each case; `mine`: the ids assigned to them; `answers`:
    desk.web.answer_marks.CaseAnswers by case id. Only the open cases and the answered ones are looked at."""
    received = by_status.get("received", [])
    acknowledge = received_before(today - timedelta(days=levels.acknowledge_within_days))
    feedback = received_before(today - timedelta(days=levels.feedback_within_days))
    urgent = [(case.received_at[:19], case) for case in received if case.urgent]
    answered = []
    for case_id, marks in answers.items():
        case = cases.get(case_id)
        if case is None:
            continue
        seen_at = seen.get(case_id)
        if marks.new_since(seen_at):
            answered.append(case)
        if case.urgent and case.status != "received" and marks.urgent_since(seen_at):
            urgent.append((max(marks.last_urgent, case.received_at[:19]), case))
    overdue = []
    for status in OPEN_STATUSES:  # as overdue_test, a status at a time
        bound = max(acknowledge, feedback) if status == "received" else feedback
        overdue += [case for case in by_status.get(status, []) if case.received_at < bound]
    lists = {
        "new": [case for case in received if case.case_id not in seen],
        "answered": _newest_first(answered),
        "mine": _newest_first([cases[case_id] for case_id in mine if case_id in cases
                               and cases[case_id].status not in ("resolved", "closed")]),
        "overdue": sorted(overdue, key=NEWEST),  # the longest overdue first
    }
    urgent.sort(key=lambda pair: (pair[0], pair[1].case_id), reverse=True)  # a few: the newest alert or urgent answer first
    return Inbox([case for _when, case in urgent],
                 {name: paged(urgent_first(rows), pages.get(name, 1)) for name, rows in lists.items()})


def _newest_first(cases: list) -> list:
    return sorted(cases, key=NEWEST, reverse=True)


def filtered(cases: list, args: Mapping[str, str], *, today: date, levels, assigned: Callable[[str], set[str]],
             labelled: Callable[[str], set[str]]) -> list:
    """The cases the case list's filters keep, in the order given. `assigned(name)`: the ids assigned to
    `name` ("" for anyone); `labelled(label)`: the ids with that label (both read only when the filter is set)."""
    found = cases
    if args.get("status"):
        found = [c for c in found if c.status == args["status"]]
    if args.get("category"):
        found = [c for c in found if c.category == args["category"]]
    if args.get("urgent"):
        found = [c for c in found if c.urgent]
    if args.get("overdue"):
        late = overdue_test(today, levels)
        found = [c for c in found if late(c)]
    if args.get("assignee"):
        if args["assignee"] == "-":
            anyone = assigned("")
            found = [c for c in found if c.case_id not in anyone]
        else:
            theirs = assigned(args["assignee"])
            found = [c for c in found if c.case_id in theirs]
    if args.get("label"):
        carrying = labelled(args["label"].strip().lower())
        found = [c for c in found if c.case_id in carrying]
    for key in ("language", "channel"):
        if args.get(key):
            found = [c for c in found if c.record[key] == args[key]]
    if args.get("since"):
        found = [c for c in found if c.received_at[:10] >= args["since"]]
    if args.get("until"):
        found = [c for c in found if c.received_at[:10] <= args["until"]]
    return found
