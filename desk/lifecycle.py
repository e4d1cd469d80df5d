"""The rules of a case's life on the operator's desk: its statuses, the moves between them, its due dates.

Pure functions, no storage: the operator store (desk/operator_store.py) enforces
them, the CLI and exports show them.

    received -> acknowledged -> in_review -> in_dialogue -> resolved -> closed

* Any move forward is allowed, skipping steps too (a case taken straight into review
  counts as acknowledged; a duplicate may be closed at once).
* Two moves back are part of the work: in_dialogue -> in_review (back to the desk after
  talking with the worker) and resolved -> in_review (reopening).
* Nothing else goes back, and closed is final: only a forced change (`--force`, still
  with a reason, recorded as forced) moves a case anywhere else.

Due dates count whole days from the date of `received_at` (UTC), as the intake's
`acknowledge_by` does: acknowledgement within `deployment.acknowledge_within_days`
(the delay promised to the worker), feedback (the case resolved or closed) within
`operator.service_levels.feedback_within_days`. A case is overdue the day after a
due date it has not met.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from storage.cases import CASE_STATUSES

# One list for both sides: the intake server keeps the status the worker reads on STATUS, the
# desk moves it along; a status the other side does not know would break the dialogue.
STATUSES = CASE_STATUSES
# Still waiting for feedback: not yet resolved or closed.
OPEN_STATUSES = STATUSES[:4]
# The moves back that the ordinary work needs; every other move back needs force.
_MOVES_BACK = {("in_dialogue", "in_review"), ("resolved", "in_review")}


class TransitionError(ValueError):
    """A status change the lifecycle does not allow; the message says why, without case content."""


def check_transition(current: str, new: str, *, force: bool = False) -> None:
    """Raise `TransitionError` unless a case in `current` may move to `new`."""
    if new not in STATUSES:
        raise TransitionError(f"unknown status '{new}' (one of: {', '.join(STATUSES)})")
    if new == current:
        raise TransitionError(f"the case is already {current}")
    if force:
        return
    if current == "closed":
        raise TransitionError("the case is closed, which is final (use --force to reopen it, with a reason)")
    if STATUSES.index(new) > STATUSES.index(current) or (current, new) in _MOVES_BACK:
        return
    raise TransitionError(f"a case cannot move back from {current} to {new} (use --force, with a reason)")


def allowed_moves(current: str) -> tuple[str, ...]:
    """Statuses a case in `current` may move to without force."""
    moves = []
    for new in STATUSES:
        try:
            check_transition(current, new)
        except TransitionError:
            continue
        moves.append(new)
    return tuple(moves)


@dataclass(frozen=True)
class ServiceLevels:
    """Days the mechanism gives itself, counted from the day a case was received."""

    acknowledge_within_days: int = 7
    feedback_within_days: int = 90


@dataclass(frozen=True)
class DueDates:
    acknowledge_by: date
    feedback_by: date


def received_date(received_at: str) -> date:
    """The UTC date of a record's `received_at` (`YYYY-MM-DDTHH:00:00Z`)."""
    return datetime.strptime(received_at, "%Y-%m-%dT%H:%M:%SZ").date()


def due_dates(received_at: str, levels: ServiceLevels) -> DueDates:
    start = received_date(received_at)
    return DueDates(start + timedelta(days=levels.acknowledge_within_days), start + timedelta(days=levels.feedback_within_days))


def overdue(status: str, due: DueDates, today: date) -> tuple[str, ...]:
    """What a case has failed to get by `today`: 'acknowledgement', 'feedback', both or neither."""
    late = []
    if status == "received" and today > due.acknowledge_by:
        late.append("acknowledgement")
    if status in OPEN_STATUSES and today > due.feedback_by:
        late.append("feedback")
    return tuple(late)


def received_before(day: date) -> str:
    """The `received_at` bound for 'received before this day' (string order is time order)."""
    return f"{day.isoformat()}T00:00:00Z"
