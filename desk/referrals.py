"""Referring a case to the company concerned (JaCER's model): what the company gets, and when it may.

A referral tells the company what the problem is, never who raised it: the category, the
month, the workplace and place it concerns, whether it goes on and how many people it
touches. Never the worker's contact, case code, attachments or channel; never the worker's
own words unless the case worker chooses to include them (`include_text`), after reading
the preview. It is allowed only when the worker said YES to a question marked
`grants_referral` ("May we tell the company about the problem, without your name or
number?"); it is sealed to the company's age public key, so the desk keeps only what it
sent, unreadable to itself.
"""

from __future__ import annotations

from bot.config import Settings

# Answers about the workplace, not the worker: the company needs them to act.
ABOUT_THE_WORKPLACE = ("workplace", "location", "brand", "when", "ongoing", "people_affected")


def referral_questions(settings: Settings) -> list[str]:
    return [question.id for question in settings.flow.questions if getattr(question, "grants_referral", False)]


def referral_allowed(settings: Settings, record: dict) -> bool:
    """The worker agreed that the company may be told."""
    answers = record.get("answers") or {}
    return any(answers.get(question) is True for question in referral_questions(settings))


def referral_record(record: dict, company: str, include_text: bool = False) -> dict:
    """What the company gets: the problem, where and when, never the worker."""
    answers = record.get("answers") or {}
    referral = {
        "referral_version": 1,
        "company": company,
        "category": record["category"],
        "received_month": record["received_at"][:7],
        "urgent": bool(record.get("urgent")),
        "about_the_workplace": {key: answers.get(key) for key in ABOUT_THE_WORKPLACE if key in answers},
        "description": record["description"] if include_text else None,
        "withheld": ["worker contact", "case code", "channel", "attachments"] + ([] if include_text else ["the worker's words"]),
    }
    return referral
