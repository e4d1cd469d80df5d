"""One sender's maximal messages against everyone else's latency.

    .venv/bin/python -m bench.isolation_bench                   # SQLite, prose descriptions
    .venv/bin/python -m bench.isolation_bench --text capitals   # one long word of capitals (the worst case of the old patterns)

`grievance serve` (gunicorn, the default 2 processes x 4 threads) gets ordinary intake
conversations from simulated workers at a steady rate (`--rate`), first alone, then
while `--big` senders each send, as fast as they are answered, a description made of
messages of `--big-chars` characters (three 4 KB messages reach the 20,000-character
limit of a description with the fourth), over and over with new numbers. It reports the
ordinary workers' p50/p99/max latency in both runs, and the big messages' own latency.
Not part of the tests; results go in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

from . import loadgen
from .http_bench import drop_database, free_port, machine, make_deployment, server_log, stop, wait_healthy

PROSE = ("Rahman Garments Ltd has not paid 40 workers of line 3 for two months and the supervisor "
         "shouts at the women and locks the gate at night near Gazipur. ")
TEXTS = {
    "prose": lambda chars, n: (f"{n} " + PROSE * (chars // len(PROSE) + 1))[:chars],
    "capitals": lambda chars, n: (f"{n} " + "A" * chars)[:chars],
    "joiners": lambda chars, n: (f"a{n}" + "\u200d" * chars)[: chars - 1] + "b",
}


def big_script(kind: str, chars: int, messages: int):
    def script(index: int) -> list[str]:
        return ["hi", "1", "yes", *(TEXTS[kind](chars, index * 10 + i) for i in range(messages))]

    return script


def summary(label: str, conversations: list[loadgen.Conversation]) -> str:
    latencies = [latency for c in conversations for latency in c.latencies]
    statuses = [s for c in conversations for s in c.statuses]
    errors = sum(not 200 <= s < 300 for s in statuses)
    return (f"| {label} | {len(latencies)} | {errors} | {loadgen.percentile(latencies, 0.5) * 1000:.1f} | "
            f"{loadgen.percentile(latencies, 0.99) * 1000:.1f} | {max(latencies, default=0) * 1000:.1f} |")


async def together(port: int, others, big, args) -> None:
    await asyncio.gather(
        loadgen.drive("127.0.0.1", port, others, concurrency=args.concurrency, rate=args.rate, duration=args.seconds),
        loadgen.drive("127.0.0.1", port, big, concurrency=args.big, duration=args.seconds),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--text", choices=sorted(TEXTS), default="prose", help="what the big messages are made of")
    parser.add_argument("--big", type=int, default=1, help="senders of maximal messages, at the same time")
    parser.add_argument("--big-chars", type=int, default=4000, help="characters of each big message")
    parser.add_argument("--big-messages", type=int, default=4, help="big messages per description")
    parser.add_argument("--rate", type=float, default=20.0, help="messages/s of the ordinary workers")
    parser.add_argument("--concurrency", type=int, default=16, help="ordinary workers texting at the same time")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each run")
    args = parser.parse_args()
    print(f"# {machine()}", file=sys.stderr)
    print(f"# {' '.join(sys.argv[1:]) or '(defaults)'}", file=sys.stderr)
    root = Path(tempfile.mkdtemp(prefix="grievance-isolation-"))
    deployment = make_deployment(root, args.db)
    port = free_port()
    with server_log(deployment, "isolation") as log:
        server = deployment.serve(port, 2, stderr=log)
    try:
        wait_healthy(port)
        warm = loadgen.build_conversations("127.0.0.1", port, 16, first=9_000_000)
        asyncio.run(loadgen.drive("127.0.0.1", port, warm, concurrency=16))
        count = int(args.rate * args.seconds / len(loadgen.INTAKE)) + args.concurrency
        alone = loadgen.build_conversations("127.0.0.1", port, count, first=1_000_000)
        asyncio.run(loadgen.drive("127.0.0.1", port, alone, concurrency=args.concurrency, rate=args.rate, duration=args.seconds))
        others = loadgen.build_conversations("127.0.0.1", port, count, first=2_000_000)
        big = loadgen.build_conversations("127.0.0.1", port, 400, first=3_000_000,
                                          script=big_script(args.text, args.big_chars, args.big_messages))
        asyncio.run(together(port, others, big, args))
    finally:
        stop(server)
        drop_database(deployment)
        shutil.rmtree(root, ignore_errors=True)
    print("| run | messages | errors | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|")
    print(summary(f"ordinary workers alone ({args.rate:g}/s)", alone))
    print(summary(f"ordinary workers, {args.big} sender(s) of {args.big_chars}-character {args.text} messages", others))
    big_only = [loadgen.Conversation(c.sender, [], statuses=c.statuses[3:], latencies=c.latencies[3:]) for c in big]
    print(summary("the big messages themselves", big_only))


if __name__ == "__main__":
    main()
