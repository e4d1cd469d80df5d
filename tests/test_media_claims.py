"""Media claims (storage/media_claims.py): what each delivery of a message may do with its media, step by step."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from storage import media_claims
from storage.db import utcnow
from storage.media_claims import ELSEWHERE, OWNED, RECEIVED, REPLAY, Claim
from storage.models import MediaClaim
from storage.receipts import first_receipt
from storage.retention import purge_expired

STALE = timedelta(minutes=3)
KEY = "a" * 64


def claim(services, key: str = KEY, minutes: int = 0) -> Claim:
    with services.sessions.begin() as session:
        return media_claims.claim(session, key, utcnow() + timedelta(minutes=minutes), STALE)


def in_session(services, step, *args) -> None:
    with services.sessions.begin() as session:
        step(session, *args)


def claims(services) -> int:
    with services.sessions.begin() as session:
        return session.execute(select(func.count()).select_from(MediaClaim)).scalar_one()


def test_each_delivery_of_one_message_is_told_what_it_may_do(services):
    assert claim(services) == Claim(OWNED)  # the first delivery cleans
    assert claim(services) == Claim(ELSEWHERE)  # a redelivery meanwhile: "later"
    assert claim(services, minutes=2) == Claim(ELSEWHERE)
    assert claim(services, minutes=3) == Claim(OWNED)  # the first one's process died: taken over
    in_session(services, media_claims.settle, KEY, 0, ("unreadable", "too_large"))
    assert claim(services) == Claim(REPLAY, ("unreadable", "too_large"))  # refused: told again, not decoded
    assert claim(services) == Claim(REPLAY, ("unreadable", "too_large"))


def test_media_that_were_kept_are_cleaned_again_by_one_redelivery_only(services):
    assert claim(services) == Claim(OWNED)
    in_session(services, media_claims.settle, KEY, 1, ())
    assert claim(services) == Claim(OWNED)  # nothing stored them: this delivery cleans again
    assert claim(services) == Claim(ELSEWHERE)


def test_a_released_claim_is_cleaned_by_the_next_delivery_and_a_received_message_by_none(services):
    assert claim(services) == Claim(OWNED)
    in_session(services, media_claims.release, KEY)
    assert claim(services) == Claim(OWNED)
    in_session(services, first_receipt, KEY, utcnow())
    assert claim(services) == Claim(RECEIVED)


def test_the_purge_erases_the_claims_of_received_messages_and_old_ones(services):
    received, waiting, old = "b" * 64, "c" * 64, "d" * 64
    for key in (received, waiting):
        assert claim(services, key) == Claim(OWNED)
    assert claim(services, old, minutes=-8 * 24 * 60) == Claim(OWNED)
    in_session(services, first_receipt, received, utcnow())
    assert purge_expired(services.sessions).media_claims == 2
    assert claims(services) == 1 and claim(services, waiting) == Claim(ELSEWHERE)
