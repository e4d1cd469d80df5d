"""What the duty tests share: a roster of fake staff, its file, and a worker's urgent alert."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from sqlalchemy import select

from storage.models import DutyEvent, DutyPage

# The staff of the fake roster: their addresses are needles of the leak scan (tests/leak_guard.py:
# phone literals, and constants named like a chat or an account), so none may appear in the clear
# in a log, a database or a file the tests leave, but the roster file in the keys folder.
STAFF_SMS_PHONE = "+15557770101"
STAFF_WHATSAPP_PHONE = "+15557770102"
STAFF_TELEGRAM_CHAT = -1009876543210
STAFF_EMAIL_ACCOUNT = "ana.duty7701@ngo.example.org"
SECOND_EMAIL_ACCOUNT = "bo.duty7702@ngo.example.org"
FIRE = "FIRE in the dye house, the doors are locked and we are trapped, 4 people hurt"
FIRE_WORDS = ("FIRE", "fire", "dye", "locked", "trapped", "hurt")
WORKER_PHONE = "+8801711000951"


def roster(*people: dict) -> list[dict]:
    return list(people)


def write_roster(folder: Path, people: list[dict], name: str = "duty-roster.yaml") -> Path:
    """The roster as a deployment keeps it: a file of its own, mode 0600, beside the other secrets."""
    path = folder / "keys" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(people, allow_unicode=True))
    os.chmod(path, 0o600)
    return path


def send_alert(send, sender: str = WORKER_PHONE, channel: str = "sms") -> list[str]:
    """A worker in danger: the fire, then YES to the alert (and to whatever the alert asks next)."""
    texts = send(sender, FIRE, channel)
    for _ in range(3):
        answer = send(sender, "1", channel)
        texts += answer
        if any("code" in text.lower() for text in answer):
            break
    return texts


def pages(services) -> list[DutyPage]:
    with services.sessions.begin() as session:
        found = session.execute(select(DutyPage).order_by(DutyPage.created_at)).scalars().all()
        session.expunge_all()
        return list(found)


def events(services, ref: str | None = None) -> list[DutyEvent]:
    with services.sessions.begin() as session:
        query = select(DutyEvent).order_by(DutyEvent.seq)
        if ref:
            query = query.where(DutyEvent.page_ref == ref)
        found = session.execute(query).scalars().all()
        session.expunge_all()
        return list(found)
