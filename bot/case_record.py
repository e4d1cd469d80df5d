"""The case record: a confirmed draft turned into the published, versioned JSON document.

The record follows `bot/schemas/case.v1.json`. It is built on the intake
server only to be sealed at once to the operator; the server never keeps it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

import jsonschema

from .config import Settings
from .draft import Draft

SCHEMA_VERSION = 1


@cache
def case_schema() -> dict:
    """The published JSON Schema of a case record."""
    return json.loads((resources.files("bot") / "schemas" / "case.v1.json").read_text(encoding="utf-8"))


def validate_case_record(record: dict) -> None:
    """Raise `jsonschema.ValidationError` if the record breaks the schema."""
    jsonschema.validate(record, case_schema(), format_checker=jsonschema.FormatChecker())


def build_case_record(
    settings: Settings,
    draft: Draft,
    *,
    case_id: str,
    code: str,
    channel: str,
    confirmed_at: datetime,
    contact_address: str | None,
    nlu_backend: str,
) -> dict:
    """The case record of a confirmed draft; `contact_address` only if the worker agreed."""
    questions = settings.flow.questions
    category_id = next(q.id for q in questions if q.kind == "category")
    received = confirmed_at.replace(minute=0, second=0, microsecond=0)
    return {
        "schema_version": SCHEMA_VERSION,
        "case_id": case_id,
        "code": code,
        "received_at": received.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "acknowledge_by": (received + timedelta(days=settings.deployment.acknowledge_within_days)).date().isoformat(),
        "channel": channel,
        "language": draft.language or settings.deployment.default_language,
        "category": draft.answers.get(category_id) or "other",
        "urgent": draft.urgent,
        "description": draft.description_text,
        "answers": {q.id: draft.answers.get(q.id) for q in questions if q.kind != "category"},
        "nlu": {
            "backend": nlu_backend,
            "suggested_category": draft.suggestion,
            "confidence": round(min(max(draft.suggestion_confidence, 0.0), 1.0), 3),
            "urgent_signal": draft.urgent_signal,
        },
        "contact": {"channel": channel, "address": contact_address} if contact_address else None,
    }


def grants_contact(settings: Settings, draft: Draft) -> bool:
    """Did the worker agree to be contacted (any question with `grants_contact` answered YES)?"""
    return any(q.grants_contact and draft.answers.get(q.id) is True for q in settings.flow.questions)
