"""CPU per message of the hot path in one process, and of its pieces: no HTTP server, no other process.

    .venv/bin/python -m bench.hot_path_bench [--db postgresql] [--rounds 3] [--profile]
    .venv/bin/python -m bench.hot_path_bench --pieces

Whole intakes (`bench.loadgen.INTAKE`, 15 messages each) go through the public app with Flask's
test client as signed Twilio forms; the figure is the CPU time (`time.process_time`, which a
loaded machine disturbs far less than wall time) per message, the lowest of `--rounds` rounds.
`--profile` adds a cProfile of one more round (on the CPU clock; a profiler inflates code
that makes many small calls). `--pieces` times the per-message pieces below the engine.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from bench import http_bench, loadgen

OTHER_MESSAGES = ["কারখানায় আগুন, দরজা বন্ধ", "Cháy nhà máy, cửa bị khóa", "xin chào", "ধন্যবাদ ভাই", "estado 1234"]


def signed_requests(conversations: int, first: int) -> list[tuple[str, str]]:
    validator = RequestValidator(loadgen.AUTH_TOKEN)
    requests = []
    for index in range(first, first + conversations):
        for body in loadgen.INTAKE:
            form = loadgen.sms_form(loadgen.worker_number(index), body)
            requests.append((urlencode(form), validator.compute_signature(loadgen.PUBLIC_URL + loadgen.PATH, form)))
    return requests


def whole_intakes(db: str, rounds: int, conversations: int, profile: bool) -> None:
    root = Path(tempfile.mkdtemp(prefix="grievance-hot-path-"))
    deployment = http_bench.make_deployment(root, db)
    os.environ.update(deployment.env)
    from bot.app import create_app
    from bot.config import load_settings
    from bot.services import build_services

    services = build_services(load_settings(deployment.config))
    client = create_app(services).test_client()

    def post(requests: list[tuple[str, str]]) -> None:
        for body, signature in requests:
            response = client.post(loadgen.PATH, data=body, content_type="application/x-www-form-urlencoded",
                                   headers={"X-Twilio-Signature": signature}, base_url=loadgen.PUBLIC_URL)
            if response.status_code != 200:
                raise RuntimeError(f"the hotline answered {response.status_code}")

    try:
        post(signed_requests(5, 0))  # first use of every lazily built table and model
        costs = []
        for round_number in range(rounds):
            requests = signed_requests(conversations, 1000 * (round_number + 1))
            start = time.process_time()
            post(requests)
            costs.append((time.process_time() - start) / len(requests) * 1000)
        print(f"{db}: CPU per message {min(costs):.2f} ms (rounds: {', '.join(f'{cost:.2f}' for cost in costs)}; "
              f"{conversations * len(loadgen.INTAKE)} messages each; load average {os.getloadavg()[0]:.1f})")
        if profile:
            profiler = cProfile.Profile(time.process_time)
            requests = signed_requests(conversations, 100_000)
            profiler.enable()
            post(requests)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    finally:
        services.close()
        http_bench.drop_database(deployment)
        shutil.rmtree(root, ignore_errors=True)


def cpu_per_call(function, texts: list[str], repeat: int = 30) -> float:
    for text in texts:
        function(text)
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(repeat):
            for text in texts:
                function(text)
        best = min(best, (time.process_time() - start) / (repeat * len(texts)))
    return best * 1e6


def pieces() -> None:
    from bot.logs import reset_logging, setup_logging
    from nlu import builtin_understander, fold, is_filler, normalize, parse_command, parse_count
    from nlu.categories import is_urgent
    from nlu.stems import FoldedText

    texts = loadgen.INTAKE + OTHER_MESSAGES
    folded = [FoldedText.of(text) for text in texts]
    understander = builtin_understander()
    rows = [
        ("normalize", lambda text: normalize(text)),
        ("fold", lambda text: fold(text)),
        ("parse_command", lambda text: parse_command(text, ("en",))),
        ("is_filler", lambda text: is_filler(text, "en")),
        ("parse_count", lambda text: parse_count(text, "en")),
        ("understand", lambda text: understander.understand(text, "en")),
    ]
    for name, function in rows:
        print(f"{name:30s} {cpu_per_call(function, texts):7.1f} us")
    by_text = dict(zip(texts, folded, strict=True))
    print(f"{'is_urgent (folded text)':30s} {cpu_per_call(lambda text: is_urgent(by_text[text]), texts):7.1f} us")
    folder = Path(tempfile.mkdtemp(prefix="grievance-log-bench-"))
    stderr, sys.stderr = sys.stderr, open(folder / "stderr", "w")  # noqa: SIM115  closed below
    try:
        setup_logging("INFO", folder / "logs" / "grievance.log")
        log = logging.getLogger("bot.intake")
        line = lambda _text: log.info("message handled", extra={"channel": "sms", "events": "answer"})  # noqa: E731
        cost = cpu_per_call(line, texts, repeat=100)
    finally:
        reset_logging()
        sys.stderr.close()
        sys.stderr = stderr
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{'one INFO log line (2 handlers)':30s} {cost:7.1f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--conversations", type=int, default=40, help="whole intakes per round")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one more round")
    parser.add_argument("--pieces", action="store_true", help="time the pieces below the engine instead")
    args = parser.parse_args()
    if args.pieces:
        pieces()
    else:
        whole_intakes(args.db, args.rounds, args.conversations, args.profile)


if __name__ == "__main__":
    main()
