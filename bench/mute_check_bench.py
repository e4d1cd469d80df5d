"""CPU per message of the check for a muted sender (storage/mutes.py), in memory and as one more query.

    .venv/bin/python -m bench.mute_check_bench [--db postgresql]

Every inbound message asks whether its sender is muted. Asked of the database inside the
message's transaction it is one more SELECT beside the conversation's own look-up; asked of
`MuteList` (what the intake does) it is a keyed hash and a dict look-up. Both are timed on the
CPU clock (`time.process_time`), the lowest of 3 rounds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench import http_bench


def best_of(function, calls: int) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(calls):
            function()
        best = min(best, (time.process_time() - start) / calls)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="grievance-mute-bench-"))
    deployment = http_bench.make_deployment(root, args.db)
    os.environ.update(deployment.env)
    from sqlalchemy import select

    from bot.config import load_settings
    from bot.services import build_services
    from storage import crypto
    from storage.db import utcnow
    from storage.models import Conversation, MutedSender

    services = build_services(load_settings(deployment.config))
    now, sender = utcnow(), ("sms", "+8801711000000")

    def look_up(session) -> None:  # what every message's transaction does anyway
        session.execute(select(Conversation.lookup).where(Conversation.lookup == "0" * 64)).first()

    def without_check() -> None:
        with services.sessions.begin() as session:
            look_up(session)

    def with_query() -> None:
        with services.sessions.begin() as session:
            look_up(session)
            pseudonym = crypto.sender_pseudonym(services.secrets, *sender)
            session.execute(select(MutedSender.sender).where(MutedSender.sender == pseudonym, MutedSender.expires_at > now)).first()

    try:
        base = best_of(without_check, 2000)
        query = best_of(with_query, 2000) - base
        memory = best_of(lambda: services.intake.mutes.is_muted(*sender, utcnow()), 20000)
        print(f"{args.db}: one more query in the transaction {query:.1f} us; MuteList.is_muted {memory:.1f} us "
              f"(the transaction with the look-up alone {base:.1f} us; load average {os.getloadavg()[0]:.1f})")
    finally:
        services.close()
        http_bench.drop_database(deployment)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
