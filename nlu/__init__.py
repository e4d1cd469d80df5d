"""Understanding what workers text the hotline, in their language and the way they type it.

- `normalize` / `fold`: clean any message (local digits, invisible characters, repeated
  punctuation) and make matching keys (case and Latin accents ignored).
- `keywords`: whole-message commands (HELP, STOP, STATUS 1234, /help) and short answers
  (yes/no, done, skip, confirm, change, numbers, menu choices), from `data/keywords.yaml`.
- `understanding`: the category of a report in the case taxonomy and whether it signals
  danger now, behind the `Understander` interface; the built-in keyword parser uses
  `data/categories.yaml` until a trained model replaces it.

Only PyYAML and the standard library are used; data files are read once per process.
"""

from nlu.categories import TAXONOMY
from nlu.keywords import (
    Command,
    ParsedCommand,
    is_unknown_command,
    match_word,
    parse_command,
    parse_menu_choice,
    parse_number,
    parse_yes_no,
    phrases,
)
from nlu.normalize import fold, normalize
from nlu.understanding import KeywordUnderstander, Understander, Understanding, builtin_understander
from nlu.vocabulary import KINDS

__all__ = [
    "KINDS",
    "TAXONOMY",
    "Command",
    "KeywordUnderstander",
    "ParsedCommand",
    "Understander",
    "Understanding",
    "builtin_understander",
    "fold",
    "is_unknown_command",
    "match_word",
    "normalize",
    "parse_command",
    "parse_menu_choice",
    "parse_number",
    "parse_yes_no",
    "phrases",
]
