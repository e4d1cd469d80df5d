"""A case worker changes a case's category: the desk follows their choice, the record keeps what was filed.

A harassment case filed as wages must count as harassment in every list and report. The
readable `category` of the store's case row (what lists filter on and reports count) becomes
the case worker's; the sealed record is never touched, so the category the case was filed
under (the worker's choice on the hotline, often the NLU's suggestion they agreed to) and the
NLU's own suggestion stay as they came, and a report can still count them ("as filed").

Each change is kept (`category_changes`, created with the store's tables in
desk/operator_store.py): when (UTC, to the minute), who, from, to and the reason, which may
hold notes about the case and is encrypted like status reasons. The audit line of a change
(desk/web/triage.py) names the two codes, never the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update

from storage import crypto

from .operator_store import OperatorStore, OperatorStoreError, UnknownCaseError, category_changes, format_time, operator_cases, serialize


class CategoryChangeError(OperatorStoreError):
    """A category change was refused; the message says why (safe to show)."""


@dataclass(frozen=True)
class CategoryChange:
    change_id: str
    case_id: str
    at: str  # UTC, to the minute
    by: str
    from_category: str
    to_category: str
    reason: str


class CaseCategories:
    """The categories of the cases in one operator store, as the case workers set them."""

    def __init__(self, store: OperatorStore, taxonomy: Iterable[str]) -> None:
        self.store = store
        self.taxonomy = tuple(taxonomy)

    def current(self, case_id: str) -> str:
        """The category the desk files the case (its full id) under now."""
        with self.store.engine.connect() as connection:
            found = connection.execute(select(operator_cases.c.category).where(operator_cases.c.case_id == case_id)).scalar()
        if found is None:
            raise UnknownCaseError("no such case")
        return found

    def change(self, case_id: str, category: str, reason: str, by: str, at: datetime) -> CategoryChange:
        """File the case (its full id) under `category`, for `reason`; refused when nothing would change.

        The check and the update are one conditional update under the case's lock, so two case
        workers changing one case at once cannot both win, and a report arriving after its alert
        (OperatorStore._merge) cannot undo the change.
        """
        reason = reason.strip()
        if category not in self.taxonomy:
            raise CategoryChangeError("not a category of this deployment")
        if not reason:
            raise CategoryChangeError("a category change needs a reason")
        c = operator_cases.c
        with self.store.engine.begin() as connection:
            serialize(connection, f"case:{case_id}")
            current = connection.execute(select(c.category).where(c.case_id == case_id).with_for_update()).scalar()
            if current is None:
                raise UnknownCaseError("no such case")
            if current == category:
                raise CategoryChangeError("the case is already in that category")
            moved = connection.execute(
                update(operator_cases).where(c.case_id == case_id, c.category == current).values(category=category)
            ).rowcount
            if moved != 1:
                raise CategoryChangeError("the case changed meanwhile; look at it again")
            seq = connection.execute(select(func.count()).where(category_changes.c.case_id == case_id)).scalar_one()
            change = CategoryChange(uuid.uuid4().hex, case_id, format_time(at), by, current, category, reason)
            connection.execute(insert(category_changes).values(
                change_id=change.change_id, case_id=case_id, seq=seq + 1, changed_at=change.at, changed_by=by,
                from_category=current, to_category=category,
                reason=crypto.encrypt_triage_reason(self.store.key, change.change_id, reason),
            ))
        return change

    def history(self, case_id: str) -> list[CategoryChange]:
        """The category changes of a case (its full id), oldest first, reasons opened."""
        c = category_changes.c
        with self.store.engine.connect() as connection:
            rows = connection.execute(
                select(c.change_id, c.changed_at, c.changed_by, c.from_category, c.to_category, c.reason)
                .where(c.case_id == case_id).order_by(c.seq)
            ).all()
        changes = []
        for change_id, at, by, old, new, blob in rows:
            try:
                reason = crypto.decrypt_triage_reason(self.store.key, change_id, blob)
            except crypto.DecryptionError:
                raise OperatorStoreError("this store was written with another operator key") from None
            changes.append(CategoryChange(change_id, case_id, at, by, old, new, reason))
        return changes
