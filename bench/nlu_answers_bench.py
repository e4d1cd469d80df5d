"""Time the short-answer readers the conversation calls on every answer: small talk,
"don't know", counts, and normalize() with its Zawgyi check.

    .venv/bin/python bench/nlu_answers_bench.py [--rounds 20]

Each function runs over the same messages (short answers in the 13 languages, one 200-
character report, Burmese in Unicode and in Zawgyi), after one warm-up pass that pays for
loading the data files; mean, median and p95 per call are printed in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from nlu import detect_language_confident, is_dont_know, is_filler, normalize, parse_count
from nlu.statistical import SUPPORTED_LANGUAGES

MESSAGES = [
    ("en", "hello"), ("en", "sorry I had to go"), ("en", "line 3, 45 people"), ("en", "I don't know"),
    ("bn", "প্রায় ১০০ জন"), ("bn", "জানি না"), ("hi", "pata nahi bhai"), ("ne", "करिब २० जना"),
    ("my", "လူတစ်ရာလောက်"), ("my", "ဟုတ္ကဲ့"), ("my", "မီးေလာင္ေနတယ္ တံခါးေတြ ပိတ္ထားတယ္"),
    ("km", "មួយរយនាក់"), ("th", "สามสิบคน"), ("vi", "hai mươi lăm người"), ("vi", "xin chào"),
    ("id", "kira2 100 orang"), ("tl", "marami kami"), ("ja", "三十人くらい"), ("zh", "大概三百人"),
    ("es", "unas doscientas personas"),
    ("en", "the supervisor shouts at us every day and we are not paid for overtime since three months, "
           "about 40 of us on line 3, the fire exit is locked at night and nobody listens to us at all"),
]  # fmt: skip


def timed(function: Callable[[], object], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    cases: dict[str, Callable[[str, str], object]] = {
        "is_filler (language known)": lambda text, lang: is_filler(text, lang),
        "is_filler (any language)": lambda text, lang: is_filler(text, None),
        "is_dont_know (language known)": lambda text, lang: is_dont_know(text, lang),
        "parse_count (language known)": lambda text, lang: parse_count(text, lang),
        "parse_count (any language)": lambda text, lang: parse_count(text, None),
        "normalize (with the Zawgyi check)": lambda text, lang: normalize(text),
        "detect_language_confident": lambda text, lang: detect_language_confident(text, SUPPORTED_LANGUAGES),
    }
    print(f"{'function':36} {'calls':>6} {'mean':>8} {'median':>8} {'p95':>8}  (ms)")
    for name, function in cases.items():
        for lang, text in MESSAGES:  # warm-up: data files, models, lingua
            function(text, lang)
        samples = [s for lang, text in MESSAGES for s in timed(lambda t=text, code=lang: function(t, code), rounds)]
        p95 = statistics.quantiles(samples, n=20)[-1]
        print(f"{name:36} {len(samples):>6} {statistics.mean(samples):8.3f} {statistics.median(samples):8.3f} {p95:8.3f}")


if __name__ == "__main__":
    main()
