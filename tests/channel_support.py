"""What the channel tests share: signed webhook posts, row counts, the operator's pull, waiting
for the dispatcher, a second web worker, messages made due at once, a photo that carries EXIF,
and the case code as the worker reads it.

Each channel's test module keeps its own payload builders and fixtures (they speak that
provider's format); only what is the same for every channel lives here.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable

from PIL import Image
from datetime import timedelta

from sqlalchemy import func, select, update

from desk.operator_store import OperatorStore, store_location
from desk.pull import pull_cases
from bot.services import build_services
from storage.keys import intake_signing_public_keys, load_operator_identity
from storage.models import OutboundMessage
from storage.outbound import exact_now
from storage.outbox import forward_outbox

CODE_SHOWN = re.compile(r"\b[0-9]{4} [0-9]{3} [0-9]{3} [0-9]{4}\b")


def post_signed(client, path: str, payload, *, header: str, sign: Callable[[bytes], str], signature: str | None = "sign"):
    """POST `payload` (a dict, or raw bytes) as JSON to `path`, as the provider does: `header`
    carries `sign(raw)` over the exact bytes sent ("sign"), the given value, or nothing (None)."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        headers[header] = sign(raw)
    elif signature is not None:
        headers[header] = signature
    return client.post(path, data=raw, headers=headers)


def rows(services, model) -> int:
    """How many rows `model`'s table holds."""
    with services.sessions.begin() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def pulled(services) -> list[dict]:
    """Forward the outbox and open every case with the operator key, as `grievance cases pull` does."""
    settings = services.settings
    forward_outbox(services.sessions, services.sink, max_attempts=3)
    identity = load_operator_identity(settings.path(settings.operator.identity_file))
    store = OperatorStore(store_location(settings), identity)
    try:
        pull_cases(services.sink, store, identity, signing_keys=intake_signing_public_keys(settings))
        return [store.get(summary.case_id) for summary in store.summaries()]
    finally:
        store.close()


def wait_until(predicate, timeout: float = 10.0):
    """The first true value of `predicate()` (the dispatcher sends from a background thread)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


def second_worker(services):
    """Another web worker of the same deployment, on the same database, as a second gunicorn process:
    its own services, connection pool and dispatcher. The caller closes it."""
    return build_services(services.settings)


def settle(*services) -> None:
    """Wait until every background send these workers were asked for has run."""
    for each in services:
        each.dispatcher.wait_idle()


def make_due(services) -> None:
    """Every message waiting for a retry is due now (instead of waiting out its backoff)."""
    with services.sessions.begin() as session:
        session.execute(update(OutboundMessage).where(OutboundMessage.state == "pending")
                        .values(next_attempt_at=exact_now() - timedelta(seconds=1)))


def photo_with_exif() -> bytes:
    """A JPEG naming the phone's maker and model and a GPS position: all of it must be stripped."""
    picture = Image.new("RGB", (40, 30), (200, 10, 10))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "Model-XYZ-12345"
    exif[0x8825] = {1: "N", 2: (23.0, 45.0, 12.0), 3: "E", 4: (90.0, 24.0, 36.0)}
    out = io.BytesIO()
    picture.save(out, format="JPEG", exif=exif)
    return out.getvalue()
