"""How the text work of one message grows with its size: linear now, quadratic before.

    .venv/bin/python -m bench.text_bench            # the table for BENCHMARKS.md
    .venv/bin/python -m bench.text_bench --old      # also the old patterns (slow: seconds)

For each hostile input (a run of zero-width joiners; a description of one long word of
capitals, of Bengali letters, of capitals glued to small letters) it times `normalize`,
`extract_entities` and the whole built-in `understand` at growing sizes, and prints the
ratio of each time to the one at the previous size: about 2 when the size doubles means
linear, about 4 quadratic. With --old the old patterns of tests/nlu/test_nlu_linear_patterns.py
are timed too. Not part of the tests; results go in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from nlu.entities import extract_entities
from nlu.normalize import ZWJ, normalize
from nlu.statistical import NgramUnderstander, category_model

INPUTS = {
    "joiners": lambda n: "a" + ZWJ * n + "b",
    "capitals": lambda n: "A" * n,
    "bengali": lambda n: "ক" * n,
    "camel": lambda n: "Aa" * (n // 2),
}


def best_of(function, argument, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function(argument)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2500,5000,10000,20000")
    parser.add_argument("--old", action="store_true", help="time the old (quadratic) patterns as well")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    understander = NgramUnderstander(category_model())
    work = {
        "normalize": normalize,
        "extract_entities": extract_entities,
        "understand": lambda text: understander.understand(text, "en"),
    }
    if args.old:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "nlu"))
        import test_nlu_linear_patterns as reference

        work["old joiners"] = lambda text: reference.OLD_STRAY_JOINERS.sub("", text)
        work["old workplaces"] = reference.old_matches
    print(f"{'input':10} {'work':18} " + " ".join(f"{size:>14}" for size in sizes))
    for name, make in INPUTS.items():
        for label, function in work.items():
            if label == "old joiners" and name != "joiners":
                continue
            cells, previous = [], None
            for size in sizes:
                seconds = best_of(function, make(size), 1 if label.startswith("old") else 3)
                ratio = f"x{seconds / previous:.1f}" if previous else ""
                cells.append(f"{seconds * 1000:8.1f}ms{ratio:>5}")
                previous = seconds
            print(f"{name:10} {label:18} " + " ".join(f"{cell:>14}" for cell in cells), flush=True)


if __name__ == "__main__":
    main()
