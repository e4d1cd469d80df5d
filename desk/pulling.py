"""Pulling on the desk: new sealed cases from the queue, and from the operator API the workers' answers and
what happened to the pages to the person on duty."""

from __future__ import annotations

import logging

from bot.config import Settings
from desk.operator_store import OperatorStore, store_location

log = logging.getLogger(__name__)


def pull_once(settings: Settings, store: OperatorStore, identity: str) -> int:
    """Pull what waits (cases, then answers when an operator API is configured); the number of new cases."""
    from storage.db import make_engine, session_factory
    from storage.keys import intake_signing_public_keys
    from desk.pull import pull_cases
    from desk.quarantine import Quarantine
    from storage.sinks import PULLABLE_KINDS, make_source

    new = 0
    if settings.queue.kind in PULLABLE_KINDS:
        signing_keys = intake_signing_public_keys(settings)  # no trusted intake server, no pull (as `cases pull`)
        quarantine = Quarantine(settings.path(settings.operator.quarantine_dir))
        engine = make_engine(settings.database_url, wal_erase_within=settings.paths.sqlite_wal_erase_within_seconds) if settings.queue.kind == "embedded" else None
        source = None
        try:
            source = make_source(settings, session_factory(engine) if engine is not None else None)
            new = pull_cases(source, store, identity, signing_keys=signing_keys, quarantine=quarantine).pulled
        finally:
            if source is not None:
                source.close()
            if engine is not None:
                engine.dispose()
    if settings.operator_client.url:
        from desk.operator_client import client_for
        from desk.dialogue import OperatorDialogue, pull_answers

        dialogue = OperatorDialogue(store_location(settings), identity)
        try:
            with client_for(settings) as client:
                pull_answers(client, dialogue, identity)
                pull_page_events(client, store)
        finally:
            dialogue.close()
    return new


def pull_page_events(client, store: OperatorStore) -> int:
    """The server's pages to the person on duty: each event kept once and written to the audit log (desk/duty.py)."""
    from datetime import UTC, datetime

    from desk.duty import DutyLog, pull_duty_events
    from desk.store import DeskStore

    return pull_duty_events(client, DutyLog(DeskStore(store)), datetime.now(UTC))
