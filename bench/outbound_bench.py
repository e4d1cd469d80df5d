"""What sending in order per chat costs the dispatcher: messages per second through the outbound queue.

    .venv/bin/python bench/outbound_bench.py [--messages 2000] [--chats 200] [--database sqlite|postgresql]

Queues `--messages` messages over `--chats` chats (interleaved, as replies of many workers
arrive), then has one dispatcher send them all to an adapter that does nothing, and reports,
for queuing and for sending (claims, settles, and the chats' next messages claimed as the
previous one settles), messages per second and this process's CPU milliseconds per message
(steadier than the rate on a shared machine, where fsyncs wait on other work). The queue's
own cost only: no provider call, no rate limit. SQLite with `synchronous` FULL (the default);
PostgreSQL: a fresh database on 127.0.0.1:5432 (user postgres), dropped after.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from bot.messages import ReplyAddress
from channels.dispatcher import Dispatcher
from storage import crypto
from storage.db import make_engine, migrate, session_factory
from storage.outbound import OutboundQueue, enqueue


class NothingAdapter:
    """Sends nowhere: what is measured is the queue."""

    type = "bench"
    keeps_message_refs = False
    rate = None

    def send(self, address, text, choices=()):
        return None


def secrets() -> crypto.ServerSecrets:
    keyring = crypto.DataKeyring({1: crypto.new_data_key()}, 1)
    _identity, recipient = crypto.new_operator_keypair()
    return crypto.ServerSecrets(pepper=crypto.new_pepper(), data_keys=keyring, operator_recipients=(recipient,))


def run(url: str, messages: int, chats: int) -> list[tuple[str, float, float]]:
    """(what, messages per second, CPU ms per message) for queuing and for sending."""
    engine = make_engine(url)
    migrate(engine)
    sessions, keys = session_factory(engine), secrets()
    wall, cpu = time.perf_counter(), time.process_time()
    for n in range(messages):
        with sessions.begin() as session:  # one transaction per message, as a webhook queues its reply
            enqueue(session, keys, ReplyAddress("bench", "bench", f"chat-{n % chats}"), f"message {n}")
    figures = [("queued", messages / (time.perf_counter() - wall), (time.process_time() - cpu) * 1000 / messages)]
    dispatcher = Dispatcher(OutboundQueue(sessions, keys), {"bench": NothingAdapter()})
    wall, cpu, sent = time.perf_counter(), time.process_time(), 0
    while sent < messages:
        result = dispatcher.run_once()
        if result.sent == 0:
            raise RuntimeError("the queue stopped moving")
        sent += result.sent
    figures.append(("sent", messages / (time.perf_counter() - wall), (time.process_time() - cpu) * 1000 / messages))
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    options = parser.parse_args()
    if options.database == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            figures = run(f"sqlite:///{Path(folder) / 'bench.db'}", options.messages, options.chats)
    else:
        name = f"outbound_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        try:
            figures = run(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", options.messages, options.chats)
        finally:
            with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print(f"{options.database}: {options.messages} messages over {options.chats} chats: " + ", ".join(
        f"{what} {rate:.0f}/s ({cpu:.2f} ms CPU each)" for what, rate, cpu in figures))


if __name__ == "__main__":
    main()
