"""Understanding what workers text the hotline, in their language and the way they type it.

- `normalize` / `fold`: clean any message (local digits, invisible characters, repeated
  punctuation) and make matching keys (case and Latin accents ignored).
- `keywords`: whole-message commands (HELP, STOP, STATUS 1234, /help) and short answers
  (yes/no, done, skip, confirm, change, numbers, menu choices), from `data/keywords.yaml`.
- `smalltalk`: whether a message is only small talk (`is_filler`: "hello", "sorry I had
  to go", "salamat po") or says "I don't know" (`is_dont_know`), from `data/smalltalk.yaml`.
- `counts`: how many people a worker means (`parse_count` -> `Count`: "kira2 100 orang",
  "大概三百人", "marami kami"), from `data/counts.yaml` and text2num.
- `language`: which language a message is in (`detect_language`), by script, lingua and
  a small model of the shipped messages; `detect_language_confident` only when sure
  (to greet a worker in their language: "xin chào" yes, "hello" no).
- `understanding` / `statistical`: the category of a report in the case taxonomy, whether
  it signals danger now, and its entities (`entities`), behind the `Understander`
  interface (`reading`, with the `Understanding` it returns). The built-in understander is a character n-gram model trained at first use
  from `data/training/`; `rasa_backend` asks a Rasa server; `backends.make_understander`
  picks one from the configuration.

Data files are read once per process; `data/eval/` is only read to measure the models.
"""

from nlu.categories import TAXONOMY
from nlu.counts import Count, parse_count
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
from nlu.language import detect_language, detect_language_confident, first_message_languages
from nlu.normalize import fold, normalize
from nlu.smalltalk import is_dont_know, is_filler
from nlu.understanding import KeywordUnderstander, Understander, Understanding, builtin_understander
from nlu.vocabulary import KINDS

__all__ = [
    "KINDS",
    "TAXONOMY",
    "Command",
    "Count",
    "KeywordUnderstander",
    "ParsedCommand",
    "Understander",
    "Understanding",
    "builtin_understander",
    "detect_language",
    "detect_language_confident",
    "first_message_languages",
    "fold",
    "is_dont_know",
    "is_filler",
    "is_unknown_command",
    "match_word",
    "normalize",
    "parse_command",
    "parse_count",
    "parse_menu_choice",
    "parse_number",
    "parse_yes_no",
    "phrases",
]
