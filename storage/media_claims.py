"""Media claims: a message's media are cleaned once, whatever a provider redelivers.

Cleaning a photo or voice note happens before `Intake.receive` (which takes the receipt in
its own transaction), and can take seconds: a provider that times out meanwhile delivers the
message again, and Meta redelivers a whole batch when one of its messages failed. So before the
work an adapter claims the message, in a short transaction of its own, by the keyed hash its
receipt has (`crypto.inbound_receipt_key`):

- the receipt exists: the message was handled, nothing is fetched or cleaned (`RECEIVED`);
- nobody claimed it, or a claim is older than `stale_after` (its process died): it is ours
  (`OWNED`); so is one whose media were kept but whose message then failed (they are
  not stored anywhere, so they are cleaned again, within the same limits);
- another delivery is cleaning it now: the caller answers "later" (`ELSEWHERE`), and the
  provider's next try finds the receipt;
- it was cleaned and refused, and the message then failed: the refusals are told again
  without decoding anything (`REPLAY`).

The claim insert is atomic (insert-or-nothing), like the receipt's. Claims hold no content and
are purged with the receipts (`storage/retention.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .models import InboundReceipt, MediaClaim

OWNED, RECEIVED, ELSEWHERE, REPLAY = "owned", "received", "elsewhere", "replay"
KEPT = "kept"
_TABLE = MediaClaim.__table__


def _statement(insert):
    return (
        insert(_TABLE)
        .values(key=bindparam("key"), claimed_at=bindparam("claimed_at"), outcome=None)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(_TABLE.c.key)
    )


_INSERTS = {"postgresql": _statement(pg_insert), "sqlite": _statement(sqlite_insert)}


@dataclass(frozen=True)
class Claim:
    """What the caller may do: `state` is OWNED, RECEIVED, ELSEWHERE or REPLAY (with `refused`)."""

    state: str
    refused: tuple[str, ...] = ()


def claim(session: Session, key: str, now: datetime, stale_after: timedelta) -> Claim:
    """Claim the cleaning of the message whose receipt key is `key` (see the module docstring)."""
    if session.execute(select(InboundReceipt.key).where(InboundReceipt.key == key)).first() is not None:
        return Claim(RECEIVED)
    connection = session.connection()
    if connection.execute(_INSERTS[connection.dialect.name], {"key": key, "claimed_at": now}).first() is not None:
        return Claim(OWNED)
    row = session.execute(select(MediaClaim.claimed_at, MediaClaim.outcome).where(MediaClaim.key == key)).first()
    if row is None:  # purged between the two statements: the provider's next try claims it
        return Claim(ELSEWHERE)
    claimed_at, outcome = row
    if outcome is None:
        retake = update(MediaClaim).where(MediaClaim.key == key, MediaClaim.outcome.is_(None),
                                          MediaClaim.claimed_at <= now - stale_after)
        taken = session.execute(retake.values(claimed_at=now)).rowcount == 1
        return Claim(OWNED if taken else ELSEWHERE)
    if outcome == KEPT:
        again = update(MediaClaim).where(MediaClaim.key == key, MediaClaim.outcome == KEPT)
        taken = session.execute(again.values(claimed_at=now, outcome=None)).rowcount == 1
        return Claim(OWNED if taken else ELSEWHERE)
    return Claim(REPLAY, tuple(reason for reason in outcome.split(",") if reason))


def settle(session: Session, key: str, kept: int, refused: tuple[str, ...]) -> None:
    """Record how the cleaning ended: something kept, or only these refusals (told again on a replay)."""
    outcome = KEPT if kept else ",".join(refused)[:100]
    session.execute(update(MediaClaim).where(MediaClaim.key == key).values(outcome=outcome))


def release(session: Session, key: str) -> None:
    """Give the claim up (the work failed for a reason of the moment): the next delivery cleans."""
    session.execute(delete(MediaClaim).where(MediaClaim.key == key, MediaClaim.outcome.is_(None)))


def purge(session: Session, before: datetime) -> int:
    """Erase the claims of messages since received, and any claim older than `before`."""
    received = select(InboundReceipt.key)
    return session.execute(delete(MediaClaim).where((MediaClaim.key.in_(received)) | (MediaClaim.claimed_at <= before))).rowcount
