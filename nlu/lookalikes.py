"""Words that look like words of another meaning (`nlu/data/lookalikes.yaml`): "fire" and "fired".

The built-in category model reads these words only whole, never by their character n-grams,
so a look-alike never decides a category alone (see the data file for the why).
"""

from __future__ import annotations

import functools

from nlu.data_files import load_data_file
from nlu.normalize import fold


@functools.cache
def lookalike_words() -> frozenset[str]:
    """Every language's look-alike words, folded."""
    raw = load_data_file("lookalikes.yaml")
    words: set[str] = set()
    for language, listed in raw.items():
        if not isinstance(listed, list) or not all(isinstance(word, str) and fold(word) for word in listed):
            raise ValueError(f"lookalikes.yaml {language}: expected a list of quoted, non-empty words")
        words.update(fold(word) for word in listed)
    return frozenset(words)
