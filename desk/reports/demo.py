"""Plausible fake cases for demonstrations, screenshots and benchmarks, clearly marked as fake.

`grievance demo-data` fills an operator store with cases that look like a mechanism's
year: categories with seasons, a few workplaces and brands that recur, several languages
and channels, status histories with realistic delays. Every description starts with
"[FAKE DEMO CASE]" and every case code is 00000000000000, so no demo case can be taken for
a real one. The same seed gives the same store.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import insert

from storage import crypto
from desk.operator_store import OperatorStore, operator_cases, status_changes

FAKE_MARK = "[FAKE DEMO CASE]"
FAKE_CODE = "00000000000000"
_CATEGORIES = (("wages", 30), ("hours", 18), ("safety", 12), ("harassment", 10), ("dismissal", 8), ("forced_labour", 5),
               ("living_conditions", 5), ("discrimination", 4), ("retaliation", 3), ("association", 2), ("child_labour", 1),
               ("environment_community", 1), ("other", 1))
_LANGUAGES = (("bn", 30), ("vi", 20), ("en", 15), ("my", 10), ("id", 8), ("ne", 7), ("es", 5), ("km", 5))
_CHANNELS = (("whatsapp", 45), ("sms", 30), ("telegram", 25))
_PLACES = (("Gazipur", 30), ("Ashulia", 20), ("Dhaka", 10), ("Binh Duong", 15), ("Dong Nai", 8), ("Yangon", 6),
           ("Phnom Penh", 5), ("Sukabumi", 3), ("Tangerang", 2), (None, 1))
_WORKPLACES = (("Sunrise Garments Ltd", 12), ("Rahman Knitwear", 9), ("Golden Thread Co", 7), ("Mekong Apparel", 6),
               ("Lotus Footwear", 4), ("Pearl Electronics", 3), ("Delta Fishing", 2))
_BRANDS = (("FastFashion", 20), ("Northwind Outdoor", 10), ("BlueLine", 6), (None, 30))


def _pick(rng: random.Random, weighted):
    values, weights = zip(*weighted)
    return rng.choices(values, weights=weights, k=1)[0]


def _record(rng: random.Random, received: datetime, acknowledge_days: int) -> dict:
    category = _pick(rng, _CATEGORIES)
    workplace = _pick(rng, _WORKPLACES) if rng.random() < 0.85 else f"Small workshop {rng.randint(1, 400)}"
    urgent = category in ("safety", "forced_labour", "harassment") and rng.random() < 0.3
    return {
        "schema_version": 1,
        "case_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "code": FAKE_CODE,
        "received_at": received.strftime("%Y-%m-%dT%H:00:00Z"),
        "acknowledge_by": (received.date() + timedelta(days=acknowledge_days)).isoformat(),
        "channel": _pick(rng, _CHANNELS),
        "language": _pick(rng, _LANGUAGES),
        "category": category,
        "urgent": urgent,
        "description": f"{FAKE_MARK} A made-up report about {category.replace('_', ' ')}, for demonstrations only.",
        "answers": {
            "workplace": workplace,
            "location": _pick(rng, _PLACES),
            "brand": _pick(rng, _BRANDS),
            "when": None,
            "ongoing": rng.random() < 0.7,
            "people_affected": rng.choice([None, 1, 3, 10, 40, 120]),
            "urgent": urgent,
            "contact_consent": rng.random() < 0.4,
        },
        "nlu": {"backend": "demo", "suggested_category": category, "confidence": 0.5, "urgent_signal": urgent},
        "contact": None,
    }


def _history(rng: random.Random, received: datetime, until: datetime) -> list[tuple[datetime, str, str]]:
    """Status changes a busy mechanism would make: acknowledged in days, resolved in weeks, some still open."""
    changes, at, status = [], received, "received"
    for target, (low, high), chance in (("acknowledged", (0, 12), 0.95), ("in_review", (1, 20), 0.85),
                                        ("resolved", (5, 120), 0.6), ("closed", (1, 30), 0.7)):
        if rng.random() > chance:
            break
        at = at + timedelta(days=rng.randint(low, high), minutes=rng.randint(0, 600))
        if at > until:
            break
        changes.append((at, status, target))
        status = target
    return changes


def fill_demo_store(store: OperatorStore, cases: int, *, start: date, end: date, seed: int = 7,
                    acknowledge_days: int = 7, batch: int = 1000) -> int:
    """Add `cases` fake cases received between `start` and `end` (more in later months); the number added."""
    rng = random.Random(seed)  # noqa: S311  reproducible fake data, not a secret
    span = max(1, (end - start).days)
    until = datetime.combine(end, datetime.min.time(), tzinfo=timezone.utc) + timedelta(days=30)
    added = 0
    while added < cases:
        case_rows, change_rows = [], []
        for _ in range(min(batch, cases - added)):
            day = int(span * rng.random() ** 0.8)  # a mechanism that becomes known gets more cases
            received = datetime.combine(start + timedelta(days=day), datetime.min.time(), tzinfo=timezone.utc)
            received += timedelta(hours=rng.randint(0, 23))
            record = _record(rng, received, acknowledge_days)
            history = _history(rng, received, until)
            case_rows.append({
                "case_id": record["case_id"], "received_at": record["received_at"], "category": record["category"],
                "urgent": record["urgent"], "status": history[-1][2] if history else "received",
                "record": crypto.encrypt_store_record(store.key, record["case_id"], json.dumps(record).encode()),
            })
            for seq, (at, old, new) in enumerate(history, 1):
                change_id = uuid.UUID(int=rng.getrandbits(128), version=4).hex
                change_rows.append({
                    "change_id": change_id, "case_id": record["case_id"], "seq": seq,
                    "changed_at": at.strftime("%Y-%m-%dT%H:%M:00Z"), "from_status": old, "to_status": new, "forced": False,
                    "reason": crypto.encrypt_status_reason(store.key, change_id, f"{FAKE_MARK} moved on"),
                })
        with store.engine.begin() as connection:
            connection.execute(insert(operator_cases), case_rows)
            if change_rows:
                connection.execute(insert(status_changes), change_rows)
        added += len(case_rows)
    return added
