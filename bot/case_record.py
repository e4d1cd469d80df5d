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
from .draft import Draft, alert_text

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
    kind: str = "report",
) -> dict:
    """The case record of a confirmed draft; `contact_address` only if the worker agreed.

    `kind` "alert": the urgent alert a worker asked for when danger words were seen, with
    what they wrote so far (also what was kept before consent) and the answers so far. The
    report of a case that had an alert is urgent too: the operator sees both as one case.
    """
    questions = settings.flow.questions
    category_id = next(q.id for q in questions if q.kind == "category")
    alerting = kind == "alert"
    category = draft.answers.get(category_id) or (draft.suggestion if alerting else None) or "other"
    received = confirmed_at.replace(minute=0, second=0, microsecond=0)
    return {
        "schema_version": SCHEMA_VERSION,
        "case_id": case_id,
        "code": code,
        "received_at": received.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "acknowledge_by": (received + timedelta(days=settings.deployment.acknowledge_within_days)).date().isoformat(),
        "channel": channel,
        "language": draft.language or draft.danger_language or settings.deployment.default_language,
        "kind": kind,
        "category": category,
        "urgent": draft.urgent or alerting or draft.alert_case is not None,
        "description": "\n".join(alert_text(draft)) if alerting else draft.description_text,
        "story_kind": "voice" if draft.voice_story else "text",
        "answers": {q.id: draft.answers.get(q.id) for q in questions if q.kind != "category"},
        "nlu": {
            "backend": draft.suggestion_backend or nlu_backend,  # who read it: the fallback, if one stood in
            "suggested_category": draft.suggestion,
            "confidence": round(min(max(draft.suggestion_confidence, 0.0), 1.0), 3),
            "urgent_signal": draft.urgent_signal,
        },
        "contact": {"channel": channel, "address": contact_address} if contact_address else None,
    }


def grants_contact(settings: Settings, draft: Draft) -> bool:
    """Did the worker agree to be contacted (any question with `grants_contact` answered YES)?"""
    return any(q.grants_contact and draft.answers.get(q.id) is True for q in settings.flow.questions)
