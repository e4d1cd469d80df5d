"""Several bot processes on one database: one worker's messages, and the provider's retries of them, arriving at all at once.

Each process is a real separate interpreter (multiprocessing "spawn") with its
own engine and pool, on the test's database (SQLite file or PostgreSQL). The
conversation afterwards must decrypt, hold every message exactly once and go
on to a sealed case.
"""

from __future__ import annotations

import json
import multiprocessing
import queue

from sqlalchemy import func, select

from bot.draft import Draft
from bot.messages import InboundMessage
from bot_process import deliver
from storage import crypto
from storage.keys import load_operator_identity
from storage.models import Conversation, InboundReceipt
from storage.outbox import forward_outbox

SENDER = "+8801711000077"
PROCESSES = 3
PARTS = 4


def _run_processes(settings, batches: list[list[tuple[str, str]]]) -> list[str]:
    """Run one bot process per batch, all released at the same instant; the problems they report."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(batches))
    problems = context.Queue()
    processes = [context.Process(target=deliver, args=(settings, SENDER, batch, start, problems)) for batch in batches]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
    reported = []
    while True:
        try:
            reported.append(problems.get(timeout=0.5))
        except queue.Empty:
            break
    assert [process.exitcode for process in processes] == [0] * len(batches), reported
    return reported


def _send(services, text: str, provider_id: str) -> list[str]:
    return list(services.intake.receive(InboundMessage(channel="sms", sender=SENDER, text=text, provider_id=provider_id)).texts)


def test_one_workers_messages_and_their_retries_at_several_processes_at_once(services, settings):
    # The first message, delivered to every process at the same instant (a provider retry racing the
    # original): one conversation, started once, before any row exists to lock.
    assert _run_processes(settings, [[("m-hi", "hi")]] * PROCESSES) == []
    with services.sessions.begin() as session:
        assert session.execute(select(func.count()).select_from(Conversation)).scalar_one() == 1
        assert session.execute(select(func.count()).select_from(InboundReceipt)).scalar_one() == 1
    _send(services, "1", "m-lang")
    _send(services, "yes", "m-consent")
    _send(services, "The supervisor has not paid our wages", "m-first")

    # Then each process gets its own parts of the description, interleaved with parts every
    # process receives (the same provider message, delivered to all of them).
    batches = [
        [item for part in range(PARTS) for item in ((f"m-{n}-{part}", f"detail {n}-{part} of the case"), (f"m-all-{part}", f"shared {part} of the case"))]
        for n in range(PROCESSES)
    ]
    assert _run_processes(settings, batches) == []

    with services.sessions.begin() as session:
        (row,) = session.execute(select(Conversation)).scalars().all()
        draft = Draft.from_json(crypto.decrypt_draft(services.secrets, row.lookup, row.draft))
        receipts = session.execute(select(func.count()).select_from(InboundReceipt)).scalar_one()
    expected = [f"detail {n}-{part} of the case" for n in range(PROCESSES) for part in range(PARTS)]
    expected += [f"shared {part} of the case" for part in range(PARTS)]
    assert sorted(draft.description[1:]) == sorted(expected)  # each once, none lost, none doubled
    assert draft.description[0] == "The supervisor has not paid our wages" and draft.description_open
    for n in range(PROCESSES):  # each process's own parts stay in the order it received them
        mine = [text for text in draft.description if text.startswith(f"detail {n}-")]
        assert mine == [f"detail {n}-{part} of the case" for part in range(PARTS)]
    assert receipts == 4 + PROCESSES * PARTS + PARTS

    for number, text in enumerate(["1", "Sunrise", "Gazipur", "skip", "May", "3", "no", "no", "no", "1"]):
        _send(services, text, f"m-end-{number}")
    assert forward_outbox(services.sessions, services.sink, max_attempts=3).delivered == 1
    identity = load_operator_identity(services.settings.path(services.settings.operator.identity_file))
    record = json.loads(crypto.open_case([identity], services.sink.peek()[0].sealed))
    for text in expected:
        assert record["description"].count(text) == 1, text
