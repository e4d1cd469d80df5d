"""Signs that outrank the rest of a report (`nlu/data/outranking.yaml`): passports kept.

The n-gram model weighs a report by what it leads with; a worker who leads with late wages
and then says the manager keeps the passports is in forced labour all the same. When a clause
of the report names such a sign and the model reads that clause as the sign's category, that
category is suggested (see `nlu.statistical.NgramUnderstander.categorize`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from nlu.categories import TAXONOMY
from nlu.data_files import load_data_file
from nlu.stems import FoldedText, Stem

# Where a clause ends: sentence and clause punctuation of the catalog scripts.
_CLAUSE_END = re.compile(r"[.,;:!?\n。，、；！？।॥။၊។៕]+")


def outranking_clauses(text: str) -> Iterator[tuple[str, str]]:
    """(category, clause) for each clause of `text` that names an outranking sign."""
    for clause in _CLAUSE_END.split(text):
        folded = FoldedText.of(clause)
        for category, stems in _signs().items():
            if any(stem.occurs_in(folded) for stem in stems):
                yield category, clause


@functools.cache
def _signs() -> dict[str, tuple[Stem, ...]]:
    raw = load_data_file("outranking.yaml")
    unknown = set(raw) - set(TAXONOMY)
    if unknown:
        raise ValueError(f"outranking.yaml: unknown categories {sorted(unknown)}")
    for category, stems in raw.items():
        if not isinstance(stems, list) or not all(isinstance(stem, str) for stem in stems):
            raise ValueError(f"outranking.yaml {category}: expected a list of quoted stems")
    return {category: tuple(Stem.parse(stem) for stem in stems) for category, stems in raw.items()}
