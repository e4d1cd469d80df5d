"""Time the danger check the engine makes on every message with words until it has asked about
danger once (bot.conversation.message.Message.urgent), against a whole NLU reading of the same message.

    .venv/bin/python bench/danger_check_bench.py [--rounds 200]

The check is the danger lexicon (`nlu.categories.is_urgent`), which is also what every
understander's `urgent` is; a whole reading (`builtin_understander().understand`) adds the
category model and the entities. Mean and p95 per message, in milliseconds, after a warm-up.
"""

from __future__ import annotations

import argparse
import statistics
import time

from nlu import builtin_understander
from nlu.categories import is_urgent
from nlu.stems import FoldedText

MESSAGES = [
    "FIRE in factory doors locked people trapped help",
    "কারখানায় আগুন, দরজা বন্ধ, মানুষ আটকে আছে",
    "Cháy nhà máy, cửa bị khóa, người bị kẹt",
    "Fuego en la fábrica, puertas cerradas, gente atrapada",
    "Rahman Garments Ltd",
    "since September",
    "The manager has not paid our wages for two months and shouts at us every day on line 3",
]


def timed(function, rounds: int) -> list[float]:
    for message in MESSAGES:
        function(message)
    samples = []
    for _ in range(rounds):
        for message in MESSAGES:
            start = time.perf_counter()
            function(message)
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    rounds = parser.parse_args().rounds
    understander = builtin_understander()
    for name, function in (
        ("danger lexicon (the conversation's check)", lambda text: is_urgent(FoldedText.of(text))),
        ("whole reading (understand)", lambda text: understander.understand(text, None)),
    ):
        samples = sorted(timed(function, rounds))
        p95 = samples[int(len(samples) * 0.95)]
        print(f"{name:40s} mean {statistics.mean(samples):.3f} ms  p95 {p95:.3f} ms  ({len(samples)} calls)")


if __name__ == "__main__":
    main()
