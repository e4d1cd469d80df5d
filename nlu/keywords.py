"""Recognise keyword messages: commands (HELP, STATUS 1234, /cancel) and short answers
(yes/no, done, skip, confirm, change) in the worker's language or English.

A keyword counts only when it is the whole message: "they don't stop hitting us" is a
report, not STOP. The phrases live in `nlu/data/keywords.yaml` (see `nlu.vocabulary`).
"""

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

from nlu.normalize import fold, normalize, strip_edges
from nlu.numbers import parse_menu_choice, parse_number
from nlu.vocabulary import KINDS, languages, phrases, resolve_kind, with_english

__all__ = [
    "KINDS", "SMS_HELP_WORDS", "SMS_OPT_OUT_WORDS", "SMS_RESERVED_WORDS", "Command", "ParsedCommand",
    "display_word", "is_language_word", "is_sms_opt_out_word", "is_sms_reserved_word", "is_unknown_command",
    "match_word", "parse_command", "parse_menu_choice", "parse_number", "parse_yes_no", "phrases",
]  # fmt: skip


class Command(enum.Enum):
    """What a worker can ask the bot to do at any point; values are keyword kinds."""

    HELP = "help"
    BACK = "back"
    CANCEL = "cancel"
    DELETE = "delete"
    LANGUAGE = "language"
    STATUS = "status"


@dataclass(frozen=True)
class ParsedCommand:
    """A recognised command; `argument` is the case code after STATUS, else None."""

    command: Command
    argument: str | None = None


_COMMAND_KINDS = {command.value: command for command in Command}
# Longest command phrase, in words, that can stand before an argument ("tinh trang 123").
_MAX_HEAD_WORDS = 3
# Telegram appends the bot's name in groups: "/help@HotlineBot".
_BOT_MENTION = re.compile(r"^([^\s@]+)@\w+")
# A case code as workers retype it: "1234 5678", "AB-1234", "1234/56".
_CASE_CODE = re.compile(r"[A-Za-z0-9]+(?:[ ./_-]+[A-Za-z0-9]+){0,5}")

# Whole-message words that opt a phone number out of SMS (folded). Twilio acts on STOP,
# STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE and OPTOUT on its long codes; carriers and
# other gateways add STOP ALL, OPT-OUT, REMOVE, ARRET and TD. After one of them every later
# message to the worker fails (Twilio error 21610), operator replies included, so on SMS the
# bot never asks a worker to send one: `display_word(..., sms_safe=True)` names another.
SMS_OPT_OUT_WORDS = frozenset({
    "stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit", "revoke", "optout",
    "opt-out", "opt out", "remove", "arret", "td",
})  # fmt: skip
# Whole-message words an SMS gateway answers itself: Twilio sends its own help text on HELP and
# INFO (a paid segment, in English, that tells the worker to reply STOP). The bot still understands
# them, but on SMS it names another word for help ("MENU"), so it never invites that answer.
SMS_HELP_WORDS = frozenset({"help", "info"})
SMS_RESERVED_WORDS = SMS_OPT_OUT_WORDS | SMS_HELP_WORDS


def parse_command(text: str, languages: Iterable[str]) -> ParsedCommand | None:
    """The command that the whole message is, in one of `languages` or English, else None.

    STATUS may be followed by a case code ("estado 1234", "অবস্থা ১২৩৪"). A leading "/"
    (Telegram) is accepted and makes the first word decide ("/status abc", "/help me");
    "/start" is not a command here: the conversation treats it as a greeting.
    """
    body = normalize(text)
    slash = body.startswith("/")
    if slash:
        body = _BOT_MENTION.sub(r"\1", body[1:].lstrip())
        if fold(body.split(maxsplit=1)[0] if body else "") == "start":
            return None
    search_order = with_english(languages)
    whole = _command_named(body, search_order)
    if whole is not None:
        return ParsedCommand(whole)
    words = body.split()
    for head_size in range(min(len(words) - 1, _MAX_HEAD_WORDS), 0, -1):
        parts = body.split(maxsplit=head_size)
        command = _command_named(" ".join(parts[:head_size]), search_order)
        if command is Command.STATUS:
            return _status_with_argument(parts[head_size], explicit=slash)
        if command is not None:
            return ParsedCommand(command) if slash else None
    return None


def is_unknown_command(text: str) -> bool:
    """True when the message looks like a Telegram-style command ("/foo") that is
    neither a known command in any language nor /start."""
    body = normalize(text)
    if not body.startswith("/") or len(body) < 2 or not body[1].isalpha():
        return False
    first_word = _BOT_MENTION.sub(r"\1", body[1:]).split(maxsplit=1)[0]
    if fold(first_word) == "start":
        return False
    return parse_command(body, languages()) is None


def match_word(text: str, kind: str, language: str | None) -> bool:
    """True when the whole message is a `kind` phrase of `language` or English
    (English only when `language` is None)."""
    phrases(kind, "en")  # raises ValueError for an unknown kind
    return resolve_kind(text, with_english(language)) == kind


def is_sms_opt_out_word(text: str) -> bool:
    """True when the whole message is a carrier/Twilio SMS opt-out word (case, accents and
    edge punctuation ignored): "STOP", "Cancel.", "stop all"."""
    return fold(text) in SMS_OPT_OUT_WORDS


def is_sms_reserved_word(text: str) -> bool:
    """True when the whole message is a word an SMS gateway acts on by itself: an opt-out word,
    or a help word Twilio answers with its own text ("HELP", "info")."""
    return fold(text) in SMS_RESERVED_WORDS


def display_word(kind: str, language: str, *, sms_safe: bool = False) -> str:
    """The word the bot names for `kind` in `language` ("send HELP"), upper-cased: the first
    phrase of the kind (English when the language has none). With `sms_safe`, the first phrase
    that is no word the SMS gateway acts on itself and has a letter ("EXIT", not "STOP"; "MENU",
    not "HELP", "?" or "INFO"); every shipped kind has one."""
    candidates = phrases(kind, language) or phrases(kind, "en")
    if sms_safe:
        safe = [phrase for phrase in candidates if _sms_safe(phrase)]
        if not safe:  # fall back to English, which always has one (a test checks it)
            safe = [phrase for phrase in phrases(kind, "en") if _sms_safe(phrase)]
        candidates = safe or candidates
    return candidates[0].upper()


def _sms_safe(phrase: str) -> bool:
    return not is_sms_reserved_word(phrase) and any(char.isalpha() for char in phrase)


def is_language_word(text: str, language_codes: Iterable[str] | None = None) -> bool:
    """True when the whole message is the LANGUAGE command in any language (of `language_codes`,
    default all), so a worker who picked a language they cannot read still finds the menu."""
    return any(resolve_kind(text, (code,)) == "language" for code in (language_codes or languages()))


def parse_yes_no(text: str, language: str | None) -> bool | None:
    """True for a yes word, False for a no word, None otherwise; digits are not read
    here because what "1" means depends on the menu the caller showed."""
    kind = resolve_kind(text, with_english(language))
    return {"yes": True, "no": False}.get(kind)


def _command_named(text: str, search_order: tuple[str, ...]) -> Command | None:
    kind = resolve_kind(text, search_order)
    return _COMMAND_KINDS.get(kind) if kind else None


def _status_with_argument(rest: str, explicit: bool) -> ParsedCommand | None:
    # "STATUS: 1234." -> "1234"; dashes and spaces inside the code stay as typed.
    argument = strip_edges(rest)
    if explicit and argument:
        return ParsedCommand(Command.STATUS, argument)
    # Without the slash, "check the 3 fire exits" must stay a report: the argument has
    # to look like a case code, mostly digits.
    digits = sum(char.isdigit() for char in argument)
    letters = sum(char.isalpha() for char in argument)
    if _CASE_CODE.fullmatch(argument) and digits and digits >= letters:
        return ParsedCommand(Command.STATUS, argument)
    return None

