"""Referring a case to the company concerned (JaCER's model): what the company gets, and when it may.

A referral tells the company what the problem is, never who raised it: the category, the
month, the workplace and place it concerns, whether it goes on and how many people it
touches. Never the worker's contact, case code, attachments or channel; never the worker's
own words unless the case worker chooses to include them (`include_text`), after reading
the preview. It is allowed only when the worker said YES to a question marked
`grants_referral` ("May we tell the company about the problem, without your name or
number?"); it is sealed to the company's age public key, so the desk keeps only what it
sent, unreadable to itself.

The file the company gets (`*.json.age`, opened with `age -d -i company-key.txt FILE`) names the
referral by a random id of its own (never the case id or the worker's code), the day it was
made, and the day the mechanism asks the company to answer by (`referral.response_days` later).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from bot.config import Settings

# Answers about the workplace, not the worker: the company needs them to act.
ABOUT_THE_WORKPLACE = ("workplace", "location", "brand", "when", "ongoing", "people_affected")


def referral_questions(settings: Settings) -> list[str]:
    return [question.id for question in settings.flow.questions if getattr(question, "grants_referral", False)]


def referral_allowed(settings: Settings, record: dict) -> bool:
    """The worker agreed that the company may be told."""
    answers = record.get("answers") or {}
    return any(answers.get(question) is True for question in referral_questions(settings))


def referral_record(record: dict, company: str, include_text: bool = False, *, referral_id: str | None = None,
                    referred_on: date | None = None, respond_by: date | None = None, mechanism: str = "",
                    reply_to: str = "") -> dict:
    """What the company gets: the problem, where and when, never the worker; and what it is asked to do, by when."""
    answers = record.get("answers") or {}
    referral = {
        "referral_version": 2,
        "referral_id": referral_id,
        "from": mechanism or None,
        "company": company,
        "referred_on": referred_on.isoformat() if referred_on else None,
        "respond_by": respond_by.isoformat() if respond_by else None,
        "reply_to": reply_to or None,
        "category": record["category"],
        "received_month": record["received_at"][:7],
        "urgent": bool(record.get("urgent")),
        "about_the_workplace": {key: answers.get(key) for key in ABOUT_THE_WORKPLACE if key in answers},
        "description": record["description"] if include_text else None,
        "withheld": ["worker contact", "case code", "channel", "attachments"] + ([] if include_text else ["the worker's words"]),
    }
    if respond_by:
        referral["asked"] = (f"Please tell the mechanism by {respond_by.isoformat()}, quoting referral {referral_id}, what you "
                             "found and what you will do to remedy it. Do not try to find out who reported it.")
    return referral


def referral_file_name(referral_id: str, company: str, referred_on: str) -> str:
    """The name of the sealed file: the day, the company and the referral's id; nothing of the case."""
    folded = unicodedata.normalize("NFKD", company).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:40].strip("-") or "company"
    return f"referral-{referred_on}-{slug}-{referral_id[:8]}.json.age"
