"""The conversation engine: one worker message in, the next state and the replies out.

The engine is pure: it knows no channel, no database and no key. It gets the
worker's draft (or None on first contact) and the text, and returns a `Turn`.
Storage, sealing and delivery happen around it in `bot.intake`. What it needs
from the outside (submitting a confirmed case, looking a case up by its code)
comes through the small `CaseDesk` interface.

The steps are: language menu, the privacy notice with "What happened?" (the
worker's story there is the consent; NO keeps nothing), free-text description
(several messages allowed), category (the NLU's suggestion first), the
configured questions, a summary to confirm, change one answer, or cancel. Commands
(HELP, BACK, STOP/CANCEL, DELETE, LANGUAGE, STATUS <code>) work at every step.

STATUS <code> with no report in progress also opens the dialogue with the
operator: the case's status and messages are shown in the worker's language,
and the worker's next messages are answers into that case (sealed to the
operator at once), each confirmed, until STOP. It works the same on every
channel and phone: only the code is needed.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from nlu import (
    Command,
    Understander,
    detect_language,
    detect_language_confident,
    fold,
    is_dont_know,
    is_filler,
    is_unknown_command,
    match_word,
    normalize,
    parse_command,
    parse_menu_choice,
    parse_number,
    parse_yes_no,
)
from nlu.categories import is_urgent
from nlu.keywords import display_word, is_language_word
from nlu.stems import FoldedText
from nlu.vocabulary import resolve_kind, with_english

from . import casecode, text_work
from .config import Question, Settings
from .draft import (
    STEP_CHANGE,
    STEP_CHANGE_DESCRIPTION,
    STEP_CONSENT,
    STEP_DANGER,
    STEP_DESCRIPTION,
    STEP_DIALOGUE,
    STEP_LANGUAGE,
    STEP_SUGGEST,
    STEP_SUMMARY,
    Draft,
    alert_text,
    question_id_of,
    question_step,
)
from .i18n import SOURCE_LANGUAGE, Catalogs

ALERT_PREVIEW_CHARS = 60  # what an alert sent, read back to the worker: short, the reply is paid per SMS segment

# Other names a worker may type for a language, beside its own name and its English name
# from the catalogs (compared folded: "Español" and "espanol" are one key).
LANGUAGE_ALIASES: dict[str, tuple[str, ...]] = {
    "bn": ("bangla", "bengali", "bangali"),
    "es": ("castellano", "espanol", "spanish"),
    "vi": ("tieng viet", "tiengviet", "vietnam"),
    "hi": ("hindi",),
    "ne": ("nepali", "nepalese"),
    "my": ("myanmar", "burmese", "myanmar bhasa"),
    "km": ("khmer", "cambodian", "khmae"),
    "th": ("thai", "phasa thai"),
    "id": ("bahasa indonesia", "indonesian"),
    "tl": ("filipino", "pilipino", "tagalog"),
    "ja": ("japanese", "nihongo", "日本語"),
    "zh": ("chinese", "zhongwen", "中文", "汉语", "普通话"),
    "en": ("english", "ingles", "inggris"),
}


@dataclass(frozen=True)
class CaseStatus:
    """What a worker may learn about a case from its code."""

    status: str
    messages: tuple[str, ...] = ()
    case_ref: str | None = None  # what `CaseDesk.answer` needs to find the case again
    language: str | None = None  # the language the case was reported in


class AlertFailed(Exception):
    """The urgent alert could not be sealed and queued; the worker still gets the emergency contacts."""


class StatusThrottled(Exception):
    """Too many STATUS look-ups found no case (from this sender, or overall): none is done now."""


class CaseDesk(Protocol):
    """Where confirmed cases go and where STATUS looks; implemented by `bot.intake`."""

    def submit(self, draft: Draft) -> str:
        """Seal and queue the case; return its code (digits)."""

    def status(self, code: str) -> CaseStatus | None:
        """The case with this code (digits), or None. Raises `StatusThrottled` instead of looking."""

    def answer(self, case_ref: str, text: str) -> bool:
        """Add the worker's answer to the case (sealed to the operator); False when the case is gone."""

    def alert(self, draft: Draft) -> tuple[str, str]:
        """Seal and queue an urgent alert of what the draft holds so far, first in every queue.

        Returns (case id, code digits): a new case, or the draft's `alert_case` again. The full
        report is later submitted under the same case. Raises `AlertFailed` when nothing was queued.
        """


@dataclass
class Turn:
    """The result of one message: replies to send and what to keep."""

    replies: list[str]
    draft: Draft | None  # None: erase the conversation
    case_code: str | None = None
    erase_messages: bool = False  # DELETE: also remove the bot's messages where the channel allows
    urgent_now: bool = False  # the worker just said someone is in danger
    choices: tuple[tuple[str, str], ...] = ()  # (answer to send, label) of the question asked, for buttons
    events: list[str] = field(default_factory=list)  # names only, never content, for logs and metrics


def _has_words(text: str) -> bool:
    return any(char.isalpha() for char in text)


def _small_talk(text: str) -> bool:
    # In any language, not only the worker's: workers mix ("nahi", "ဟုတ်" or "hola" in an English
    # chat), and a whole-message greeting or bare yes/no of any language is never a workplace.
    # Without words (emoji, punctuation) the usual "please write it in words" answers instead.
    return any(char.isalnum() for char in text) and is_filler(text, None)


def _dont_know(text: str) -> bool:
    return is_dont_know(text, None)  # "no sé" in an English chat is still "don't know"


def _says_something(text: str, language: str | None) -> bool:
    """Worth keeping for the report where an answer of another kind was asked (first message,
    language menu, consent): not small talk, and a sentence rather than a stray word ("Klingon")
    or noise. Scripts written without spaces (Chinese, Thai...) count letters only."""
    if is_filler(text, language):
        return False
    # Vowel signs of Bengali, Hindi, Thai... are marks, not letters: they count as letters here.
    letters = sum(char.isalpha() or unicodedata.category(char).startswith("M") for char in text)
    if letters / max(len(text), 1) < 0.6:  # mostly digits, symbols or noise
        return False
    return letters >= 8 if len(text.split()) >= 2 else not text.isascii() and letters >= 4


# Telegram's greeting, maybe with the bot's name or a deep-link payload. Matched on the raw
# text: fold() strips the "/", and "/start" must never be stored as an answer.
_START = re.compile(r"/start(?:@\w+)?(?:\s|$)", re.IGNORECASE)


class Engine:
    """The intake conversation, configured by `Settings` and worded by `Catalogs`."""

    def __init__(
        self, settings: Settings, catalogs: Catalogs, understander: Understander, *, reserves_opt_out_words: bool = False
    ) -> None:
        self.settings = settings
        self.catalogs = catalogs
        self.understander = understander
        self.questions: tuple[Question, ...] = settings.flow.questions
        self._by_id = {q.id: q for q in self.questions}
        self.category_question = next(q for q in self.questions if q.kind == "category")
        # The channel treats some whole-message words as opt-outs (SMS: STOP, CANCEL, END...):
        # the bot then names other words for its commands. A capability, not a provider.
        self.reserves_opt_out_words = reserves_opt_out_words
        self._variants: dict[bool, Engine] = {reserves_opt_out_words: self}
        self._resume_after = timedelta(minutes=settings.session.resume_after_minutes)
        self._dialogue_idle = timedelta(minutes=settings.session.status_dialogue_idle_minutes)

    def for_channel(self, *, reserves_opt_out_words: bool) -> Engine:
        """This engine, wording its hints for a channel that does (SMS) or does not reserve
        opt-out words. The variants share everything else and are made once."""
        variant = self._variants.get(reserves_opt_out_words)
        if variant is None:
            variant = copy.copy(self)
            variant.reserves_opt_out_words = reserves_opt_out_words
            self._variants[reserves_opt_out_words] = variant
        return variant

    # ------------------------------------------------------------ entry point

    def handle(self, draft: Draft | None, raw_text: str, desk: CaseDesk, *, now: datetime | None = None) -> Turn:
        """Answer one message from a worker. `now` (UTC) lets the engine notice a pause since
        the worker's last message; without it no pause is ever seen."""
        idle = self._idle(draft, now)
        if draft is not None and draft.step == STEP_DIALOGUE and idle is not None and idle >= self._dialogue_idle:
            # The answer-back after STATUS has gone quiet: a message days later is a new matter,
            # never an answer filed into the old case.
            draft = None
        alerted = draft.alert_code if draft is not None and not draft.dialogue_case else None
        paused = draft is not None and idle is not None and idle >= self._resume_after and self._report_started(draft)
        turn = self._after_pause(draft, raw_text, desk) if paused else self._handle(draft, raw_text, desk)
        if alerted and turn.draft is None and turn.case_code is None:  # ended (NO, STOP, DELETE) after an alert
            turn.replies.append(self.t(draft.language or draft.danger_language, "alert.already_sent", code=casecode.format_code(alerted)))
        if turn.draft is not None:
            turn.choices = self.choices(turn.draft)
            if now is not None:
                turn.draft.seen_at = now.replace(second=0, microsecond=0).isoformat()
        return turn

    @staticmethod
    def _idle(draft: Draft | None, now: datetime | None) -> timedelta | None:
        if draft is None or now is None or not draft.seen_at:
            return None
        try:
            return now - datetime.fromisoformat(draft.seen_at)
        except (TypeError, ValueError):  # a draft from before this field, or a naive time
            return None

    @staticmethod
    def _report_started(draft: Draft) -> bool:
        return draft.step not in (STEP_LANGUAGE, STEP_DIALOGUE)

    def _after_pause(self, draft: Draft, raw_text: str, desk: CaseDesk) -> Turn:
        """The first message after a pause: "welcome back" and where the worker is. An answer
        is still taken (the worker picks up where they left off); small talk ("hello", "sorry
        I had to go") is not stored anywhere, the question is just asked again."""
        lang = draft.language
        welcome = self.t(lang, "welcome_back")
        text = normalize(raw_text)
        if text and self._is_small_talk(draft, text) and parse_command(text, self._command_languages(draft)) is None:
            return Turn([welcome, self.prompt(draft)], draft, events=["resumed"])
        turn = self._handle(draft, raw_text, desk)
        turn.replies.insert(0, welcome)
        turn.events.append("resumed")
        return turn

    def _handle(self, draft: Draft | None, raw_text: str, desk: CaseDesk) -> Turn:
        if len(raw_text) > self.settings.limits.max_message_chars:
            lang = draft.language if draft else self.settings.deployment.default_language
            replies = [self.t(lang, "error.too_long", max=self.settings.limits.max_message_chars)]
            return Turn(replies + ([self.prompt(draft)] if draft else []), draft, events=["too_long"])
        text = normalize(raw_text)
        if draft is None:
            return self._first_contact(text, desk)
        if not text:
            return Turn([self.t(draft.language, "error.empty"), self.prompt(draft)], draft, events=["empty"])
        command = parse_command(text, self._command_languages(draft))
        if command is not None:
            return self._command(draft, command.command, command.argument, desk)
        switched = self._language_request(draft, text, desk)
        if switched is not None:
            return switched
        if is_unknown_command(text) or _START.match(text):
            event = "unknown_command" if is_unknown_command(text) else "start"
            key = "error.unknown_command" if event == "unknown_command" else "hello_again"
            return Turn([self.t(draft.language, key, **self._words(draft.language)), self.prompt(draft)], draft, events=[event])
        first = self._danger_first(draft, text, desk)
        if first is not None:
            return first
        return self._answer(draft, text, desk)

    def _command_languages(self, draft: Draft | None) -> tuple[str, ...]:
        # Before a language is chosen every offered language counts; after, only the worker's
        # own and English, so a word in one language never fires a command of another.
        if draft is None or draft.language is None:
            return self.settings.deployment.languages
        return (draft.language,)

    # ------------------------------------------------------------ first contact and commands

    def _first_contact(self, text: str, desk: CaseDesk, *, new_report_in: str | None = None) -> Turn:
        """`new_report_in`: the worker left the answer-back with the NEW word, in this language:
        a welcome in it, and the word itself is no story to keep."""
        if new_report_in is not None:
            draft = Draft(menu_first=new_report_in)
            welcome = self.t(new_report_in, "welcome", name=self.settings.deployment.name)
            return Turn([welcome + "\n" + self.language_menu(draft)], draft, events=["new"])
        lang = self.settings.deployment.default_language
        command = parse_command(text, self._command_languages(None)) if text else None
        if command and command.command is Command.STATUS:
            return self._status_dialogue(None, command.argument, desk)
        if command and command.command in (Command.CANCEL, Command.DELETE):
            return Turn([self.t(lang, "deleted")], None, erase_messages=True, events=["delete"])
        # The welcome comes in the language of the first message when detection is sure of it
        # (a greeting of one language only, or enough words); the menu's order is `_detect`'s.
        sure = detect_language_confident(text, self.settings.deployment.languages) if text else None
        draft = Draft(menu_first=self._detect(text))
        lang = sure or lang
        # A first message that says something is kept (encrypted in the draft) for the report.
        welcome = self.t(lang, "welcome", name=self.settings.deployment.name)
        danger = self._urgent(text, draft.menu_first)  # "FIRE!" alone is enough
        says_something = danger or _says_something(text, draft.menu_first)
        if says_something:
            draft.kept.append(text)
            welcome += "\n" + self.t(lang, "kept.note")
        if danger:
            return self._ask_danger(draft, STEP_LANGUAGE, sure or self._danger_language(text, draft), [welcome])
        # One message, one SMS segment for a few languages: the name, then the menu (UCS-2 as it
        # names the languages in their own scripts, so 70 characters; README, "The conversation").
        first = welcome + "\n" + self.language_menu(draft)
        return Turn([first], draft, events=["new", *(["kept"] if says_something else [])])

    def _detect(self, text: str) -> str | None:
        # A greeting of a few Latin letters ("hello", "hola") says too little to guess from.
        if not text or (text.isascii() and len(text) < 12):
            return None
        return detect_language(text, self.settings.deployment.languages)

    def _command(self, draft: Draft, command: Command, argument: str | None, desk: CaseDesk) -> Turn:
        lang = draft.language
        if command in (Command.CANCEL, Command.DELETE) and draft.step != STEP_DIALOGUE:
            asked = self._ask_before_erasing(draft, command)
            if asked is not None:
                return asked
        draft.confirm_erase = None
        if command is Command.HELP:
            return Turn([self.t(lang, "help", **self._words(lang)), self.prompt(draft)], draft, events=["help"])
        if command is Command.CANCEL:
            if draft.step == STEP_DIALOGUE:
                return Turn([self.t(lang, "dialogue.ended", status=self._word("status", lang))], None, events=["dialogue_end"])
            return Turn([self.t(lang, "cancelled")], None, events=["cancel"])
        if command is Command.DELETE:
            return Turn([self.t(lang, "deleted")], None, erase_messages=True, events=["delete"])
        if command is Command.LANGUAGE:
            if draft.step != STEP_LANGUAGE:
                draft.return_to = draft.step
                draft.step = STEP_LANGUAGE
            return Turn([self.language_menu(draft)], draft, events=["language"])
        if command is Command.STATUS:
            if self._no_report_yet(draft):
                turn = self._status_dialogue(lang, argument, desk)
                if turn.draft is None and draft.step == STEP_DIALOGUE:  # a mistyped code keeps the dialogue open
                    return Turn([*turn.replies, self.prompt(draft)], draft, events=turn.events)
                return turn
            return Turn([self._status_reply(lang, argument, desk), self.prompt(draft)], draft, events=["status"])
        # BACK
        if draft.editing:
            draft.editing, draft.step = False, STEP_SUMMARY
        elif draft.history:
            draft.step = draft.history.pop()
            if draft.step == STEP_DESCRIPTION:
                draft.description_open = False
        else:
            return Turn([self.t(lang, "back.at_start"), self.prompt(draft)], draft, events=["back"])
        return Turn([self.prompt(draft)], draft, events=["back"])

    def _has_report(self, draft: Draft) -> bool:
        """Something of a report would be lost by erasing this conversation."""
        return bool(draft.description or draft.answers)

    def _ask_before_erasing(self, draft: Draft, command: Command) -> Turn | None:
        """CANCEL or DELETE while a report is half-written: ask first ("Erase your unfinished
        report? 1 yes 2 no"); the same command again, or yes, erases. None: erase at once."""
        if draft.confirm_erase or not self._has_report(draft):
            return None
        draft.confirm_erase = command.value
        return Turn([self._erase_question(draft)], draft, events=["confirm_erase"])

    def _erase_question(self, draft: Draft) -> str:
        return self.t(draft.language, "erase.confirm") + "\n" + self.t(draft.language, "hint.yes_no")

    def _answer_erase(self, draft: Draft, text: str) -> Turn | None:
        """The answer to "Erase your unfinished report?"; None when the message is no yes/no
        (then it is handled as usual and the report is kept)."""
        kind, draft.confirm_erase = draft.confirm_erase, None
        agreed = self._yes_no(draft, text)
        if agreed is None:
            return None
        if not agreed:
            return Turn([self.t(draft.language, "erase.kept"), self.prompt(draft)], draft, events=["erase_declined"])
        if kind == Command.DELETE.value:
            return Turn([self.t(draft.language, "deleted")], None, erase_messages=True, events=["delete"])
        return Turn([self.t(draft.language, "cancelled")], None, events=["cancel"])

    def _language_request(self, draft: Draft, text: str, desk: CaseDesk) -> Turn | None:
        """A way back from a language the worker cannot read: the LANGUAGE word of any
        catalog opens the menu, and a language's own name switches to it at once. Only the
        whole message counts, so "Bangla" inside a sentence stays part of the report."""
        if draft.step == STEP_LANGUAGE:
            return None  # the menu itself reads numbers and names
        own = resolve_kind(text, with_english(draft.language))
        if own is None and is_language_word(text, self.settings.deployment.languages):
            return self._command(draft, Command.LANGUAGE, None, desk)
        chosen = self._language_by_name(text)
        if chosen is None or chosen == draft.language or own is not None:
            return None
        draft.language, draft.confirm_erase = chosen, None
        return Turn([self.prompt(draft)], draft, events=["language_set"])

    def _status_reply(self, lang: str | None, argument: str | None, desk: CaseDesk) -> str:
        return self._look_up(lang, argument, desk)[0]

    def _look_up(self, lang: str | None, argument: str | None, desk: CaseDesk) -> tuple[str, CaseStatus | None]:
        """The STATUS answer and the case found, if any. In `lang`, the worker's chosen language;
        with none chosen yet (None), in the case's own language once it is found."""
        if not argument:
            return self.t(lang, "status.need_code", status=self._word("status", lang)), None
        code = casecode.parse_code(argument)
        if code is None:
            return self.t(lang, "status.bad_code"), None
        try:
            found = desk.status(code)
        except StatusThrottled:
            return self.t(lang, "status.throttled"), None
        if found is None:
            return self.t(lang, "status.not_found"), None
        if lang is None and found.language in self.settings.deployment.languages:
            lang = found.language
        lines = [self.t(lang, "status.line", code=casecode.format_code(code), status=self.t(lang, f"case_status.{found.status}"))]
        lines += [self.t(lang, "status.message", message=m) for m in found.messages]
        return "\n".join(lines), found

    def _no_report_yet(self, draft: Draft) -> bool:
        """Nothing of a report would be lost by turning this conversation into a dialogue about a case."""
        if draft.step == STEP_DIALOGUE:
            return True
        return draft.step == STEP_LANGUAGE and not draft.return_to and not draft.description and not draft.answers and not draft.kept

    def _status_dialogue(self, lang: str | None, argument: str | None, desk: CaseDesk) -> Turn:
        """STATUS with no report in progress: the case's news, then the worker may answer into it."""
        reply, found = self._look_up(lang, argument, desk)
        if found is None or found.case_ref is None:
            return Turn([reply], None, events=["status"])
        language = lang or (found.language if found.language in self.settings.deployment.languages else None)
        draft = Draft(step=STEP_DIALOGUE, language=language, dialogue_case=found.case_ref)
        # An urgent alert in answer mode goes under this same case and code (the draft is encrypted).
        draft.alert_case, draft.alert_code = found.case_ref, casecode.parse_code(argument or "")
        return Turn([reply, self.prompt(draft)], draft, events=["status", "dialogue"])

    def _answer_dialogue(self, draft: Draft, text: str, desk: CaseDesk) -> Turn:
        lang = draft.language
        if match_word(text, "new_report", lang):  # the worker wants to report something new
            return self._first_contact(text, desk, new_report_in=lang or self.settings.deployment.default_language)
        if not any(char.isalnum() for char in text):
            return Turn([self.t(lang, "error.need_words"), self.prompt(draft)], draft, events=["need_words"])
        if draft.dialogue_case is None or not desk.answer(draft.dialogue_case, text):
            return Turn([self.t(lang, "status.not_found")], None, events=["dialogue_gone"])
        return Turn([self.t(lang, "dialogue.added", cancel=self._word("cancel", lang))], draft, events=["answer_back"])

    # ------------------------------------------------------------ answers, step by step

    def _answer(self, draft: Draft, text: str, desk: CaseDesk) -> Turn:
        if draft.confirm_erase:
            answered = self._answer_erase(draft, text)
            if answered is not None:
                return answered
        step = draft.step
        if step == STEP_DESCRIPTION and _small_talk(text) and not match_word(text, "done", draft.language):
            # "hello", "sorry", "ok" is no account of what happened: ask again, keep nothing.
            return Turn([self.prompt(draft)], draft, events=["filler"])
        if step == STEP_DIALOGUE:
            return self._answer_dialogue(draft, text, desk)
        if step == STEP_LANGUAGE:
            return self._answer_language(draft, text)
        if step == STEP_CONSENT:
            return self._answer_consent(draft, text)
        if step == STEP_DESCRIPTION:
            return self._answer_description(draft, text)
        if step == STEP_SUGGEST:
            return self._answer_suggestion(draft, text)
        if step == STEP_SUMMARY:
            return self._answer_summary(draft, text, desk)
        if step == STEP_CHANGE:
            return self._answer_change(draft, text)
        question = self._by_id.get(question_id_of(step) or "")
        if question is None:  # a step removed from config since the draft was saved
            draft.step = STEP_SUMMARY if draft.answers else STEP_DESCRIPTION
            return Turn([self.prompt(draft)], draft, events=["step_reset"])
        return self._answer_question(draft, question, text)

    def _answer_language(self, draft: Draft, text: str) -> Turn:
        languages = self.settings.deployment.languages
        choice = parse_menu_choice(text, len(languages))
        chosen = languages[choice - 1] if choice else self._language_by_name(text, codes=True)
        if chosen is None:
            return Turn([self.t(draft.language, "error.choose_number", max=len(languages)), self.language_menu(draft)], draft)
        draft.language = chosen
        if draft.return_to:
            draft.step, draft.return_to = draft.return_to, None
            return Turn([self.prompt(draft)], draft, events=["language_set"])
        draft.step = STEP_CONSENT
        return Turn([self.prompt(draft)], draft, events=["language_set"])

    def _language_by_name(self, text: str, *, codes: bool = False) -> str | None:
        """The offered language `text` names: its own name, its English name or a common
        spelling ("Español", "espanol", "বাংলা", "tieng viet"); its ISO code only at the menu
        (`codes`), because "my" or "id" are words too."""
        key = fold(text)
        for lang in self.settings.deployment.languages:
            names = {fold(self.t(lang, "language.name")), fold(self.t(lang, "language.name_en"))}
            names.update(fold(alias) for alias in LANGUAGE_ALIASES.get(lang, ()))
            if key in names or (codes and key == lang):
                return lang
        return None

    def _is_small_talk(self, draft: Draft, text: str) -> bool:
        """Small talk that answers nothing at this step ("hello"; "yes" only where no yes/no is asked)."""
        if not _small_talk(text):
            return False
        return self._yes_no(draft, text) is None or not self._asks_yes_no(draft)

    def _asks_yes_no(self, draft: Draft) -> bool:
        if draft.confirm_erase or draft.step in (STEP_CONSENT, STEP_SUGGEST, STEP_DANGER):
            return True  # at the alert question, YES after a pause sends the alert: it is no small talk
        question = self._by_id.get(question_id_of(draft.step) or "")
        return question is not None and (question.kind == "yes_no" or (question.id in draft.offers and not draft.editing))

    def _yes_no(self, draft: Draft, text: str) -> bool | None:
        choice = parse_menu_choice(text, 2)
        if choice:
            return choice == 1
        return parse_yes_no(text, draft.language)

    def _answer_consent(self, draft: Draft, text: str) -> Turn:
        """The privacy notice with "What happened?": the worker's story is the consent to report,
        and the start of the description. NO (a word: no numbered choice is shown here, and a
        repeated menu number must never end the report) keeps nothing; YES asks what happened;
        small talk or no words asks again."""
        lang = draft.language
        agreed = parse_yes_no(text, lang)
        if agreed is False:  # the draft, and with it whatever was kept, is erased
            return Turn([self.t(lang, "consent.declined")], None, events=["consent_declined"])
        done = match_word(text, "done", lang)
        if agreed is None and not done and _small_talk(text):  # "hello", "ok thanks": no story, no answer
            return Turn([self.prompt(draft)], draft, events=["filler"])
        if agreed is None and not done and not _has_words(text):  # a number, emoji, punctuation
            return Turn([self.t(lang, "error.need_words"), self.prompt(draft)], draft, events=["need_words"])
        if (agreed or done) and not draft.kept:
            self._give_consent(draft)
            return Turn([self.prompt(draft)], draft, events=["consent"])
        self._give_consent(draft)
        if agreed or done:  # YES or DONE after a kept message: that message is the description
            turn = self._after_description(draft)
        else:
            turn = self._answer_description(draft, text)
        turn.events[:0] = ["consent"]
        return turn

    def _give_consent(self, draft: Draft) -> None:
        """Consent given: on to the description, which starts with whatever was kept before."""
        self._advance(draft, STEP_DESCRIPTION)
        kept, draft.kept = draft.kept, []
        for part in kept:
            self._add_description(draft, part)

    def _answer_description(self, draft: Draft, text: str) -> Turn:
        lang = draft.language
        if match_word(text, "done", lang) and draft.description:
            if draft.editing:
                # Fix: DONE while changing the description from the summary went on to the
                # category (suggestion) with `editing` still set, instead of back to the summary.
                draft.editing, draft.step = False, STEP_SUMMARY
                return Turn([self.prompt(draft)], draft)
            return self._after_description(draft)
        if not _has_words(text) or match_word(text, "done", lang):  # DONE before writing anything
            return Turn([self.t(lang, "error.need_words"), self.prompt(draft)], draft, events=["need_words"])
        if draft.editing and draft.replace_description:  # CHANGE, then "replace": the new text replaces it
            draft.description = []
        refused = self._add_description(draft, text)
        if refused:
            return refused
        if draft.editing:
            draft.editing, draft.step, draft.replace_description = False, STEP_SUMMARY, False
            return Turn([self.prompt(draft)], draft)
        return self._after_description(draft, thanks=True)

    def _add_description(self, draft: Draft, text: str) -> Turn | None:
        limit = self.settings.limits.max_description_chars
        if len(draft.description_text) + len(text) > limit:
            return Turn([self.t(draft.language, "error.description_full", max=limit), self.prompt(draft)], draft, events=["description_full"])
        if not draft.description:  # a new description, or one replaced from the summary: nothing found yet
            draft.offers = {}
        draft.description.append(text)
        # Category and urgency read the whole description (linear time, and usually read already,
        # before the write gate: bot/text_work.py); entities come from the new message only and
        # are added to those found in the earlier ones.
        understanding = text_work.understanding(self.understander, draft.description_text, draft.language)
        enough = understanding.confidence >= self.settings.nlu.suggestion_min_confidence
        draft.suggestion = understanding.category if enough and understanding.category in self.settings.flow.categories else None
        draft.suggestion_confidence = understanding.confidence
        draft.urgent_signal = understanding.urgent
        draft.offers = self._offers(text_work.entities(text), draft.offers)
        return None

    def _offers(self, entities, known: dict[str, object] | None = None) -> dict[str, object]:
        """What the description says for the configured questions, to be confirmed: `known` (from
        its earlier messages) with what `entities` (of a new message) add."""
        offers: dict[str, object] = dict(known or {})
        for question in self.questions:
            found = [entity.value for entity in entities if entity.type == question.entity]
            if not found:
                continue
            # A count is the first number named; a name, the fullest one ("Sunrise Garments Ltd"),
            # the earlier on a tie.
            if question.entity == "people":
                offers.setdefault(question.id, found[0])
            else:
                earlier = [offers[question.id]] if question.id in offers else []
                offers[question.id] = max([*earlier, *found], key=lambda v: len(str(v)))
        return offers

    def _after_description(self, draft: Draft, thanks: bool = False) -> Turn:
        # The next question is asked at once; until it is answered, more text is added to the
        # description ("several messages allowed, until the worker answers the next question").
        draft.description_open = True
        self._advance(draft, STEP_SUGGEST if draft.suggestion else question_step(self.category_question.id))
        replies = [self.t(draft.language, "description.thanks")] if thanks else []
        return Turn(replies + [self.prompt(draft)], draft, events=["description"])

    def _maybe_more_description(self, draft: Draft, text: str) -> Turn | None:
        """While the description is open, text that is no answer is more description."""
        if not draft.description_open or not _has_words(text) or match_word(text, "done", draft.language):
            return None
        if _small_talk(text):  # "ok thanks" is no part of the report
            return None
        refused = self._add_description(draft, text)
        if refused:
            return refused
        if draft.step == STEP_SUGGEST and not draft.suggestion:
            draft.step = question_step(self.category_question.id)
        return Turn([self.t(draft.language, "description.added"), self.prompt(draft)], draft, events=["description"])

    def _answer_suggestion(self, draft: Draft, text: str) -> Turn:
        agreed = self._yes_no(draft, text)
        if agreed is None:
            more = self._maybe_more_description(draft, text)
            return more or Turn([self.t(draft.language, "error.yes_no"), self.prompt(draft)], draft)
        draft.description_open = False
        if agreed and draft.suggestion:
            draft.answers[self.category_question.id] = draft.suggestion
            self._advance(draft, self._next_step_after(draft, self.category_question.id))
        else:
            self._advance(draft, question_step(self.category_question.id))
        return Turn([self.prompt(draft)], draft)

    def _answer_question(self, draft: Draft, question: Question, text: str) -> Turn:
        lang = draft.language
        offer = None if draft.editing else draft.offers.get(question.id)
        if offer is not None:
            agreed = self._yes_no(draft, text)
            if agreed is False:  # not right: ask the plain question
                del draft.offers[question.id]
                return Turn([self.prompt(draft)], draft)
            if agreed is True:
                return self._store_answer(draft, question, offer)
            # Anything else is the worker typing the answer themselves.
        skipped = match_word(text, "skip", lang) or (question.kind == "text" and _dont_know(text))
        if question.kind == "text" and not skipped and _small_talk(text):
            # A greeting, an apology or a bare yes/no is never a workplace, a place or a name.
            return Turn([self.prompt(draft)], draft, events=["filler"])
        if skipped and not question.optional:
            return Turn([self.t(lang, "error.required"), self.prompt(draft)], draft)
        value, error = self._parse_value(draft, question, text) if not skipped else (None, None)
        if error:
            if question.kind == "category":
                more = self._maybe_more_description(draft, text)
                if more:
                    return more
            if question.kind == "category":  # the menu was just shown: a short hint, not 7 segments again
                return Turn([self.t(lang, "hint.category_again", max=len(self.settings.flow.categories), help=self._word("help", lang))], draft)
            return Turn([self.t(lang, error, max=len(self.settings.flow.categories)), self.prompt(draft)], draft)
        return self._store_answer(draft, question, value)

    def _store_answer(self, draft: Draft, question: Question, value: object) -> Turn:
        lang = draft.language
        draft.offers.pop(question.id, None)
        draft.description_open = False
        draft.answers[question.id] = value
        replies, urgent_now = [], False
        if question.marks_urgent:
            draft.urgent = bool(value)
            if value:
                urgent_now = True
                replies.append(self.urgent_contacts_text(lang))
        if draft.editing:
            draft.editing, draft.step = False, STEP_SUMMARY
        else:
            self._advance(draft, self._next_step_after(draft, question.id))
        return Turn(replies + [self.prompt(draft)], draft, urgent_now=urgent_now, events=["answer"])

    def _parse_value(self, draft: Draft, question: Question, text: str) -> tuple[object, str | None]:
        if question.kind == "yes_no":
            answer = self._yes_no(draft, text)
            return answer, None if answer is not None else "error.yes_no"
        if question.kind == "number":
            # Imported here: this method's body is the only part of the engine the nlu work changes.
            from nlu import is_dont_know, parse_count

            if text.strip().isdecimal():  # the usual answer ("45", "৪৫"): digits alone, no words to read
                number = parse_number(text)
                return number, None if number is not None else "error.need_number"
            # "I don't know" is an answer: unknown (None), never an invented number.
            if is_dont_know(text, draft.language):
                return None, None
            count = parse_count(text, draft.language)  # "about 100", "kira2 100 orang"; "many" -> None
            return (count.value, None) if count is not None else (None, "error.need_number")
        if question.kind == "category":
            categories = self.settings.flow.categories
            choice = parse_menu_choice(text, len(categories))
            if choice:
                return categories[choice - 1], None
            key = fold(text)
            for code in categories:
                if key in {code, fold(self.t(draft.language, f"category.{code}"))}:
                    return code, None
            return None, "error.choose_number"
        if not any(char.isalnum() for char in text):
            return None, "error.need_words"
        return text, None

    def _answer_summary(self, draft: Draft, text: str, desk: CaseDesk) -> Turn:
        lang = draft.language
        choice = parse_menu_choice(text, 3)
        if choice is None:
            choice = 1 if match_word(text, "confirm", lang) else 2 if match_word(text, "change", lang) else None
        if choice == 1:
            code = desk.submit(draft)
            reply = self.t(
                lang, "confirmed", code=casecode.format_code(code), days=self.settings.deployment.acknowledge_within_days,
                status=self._word("status", lang),
            )
            return Turn([reply], None, case_code=code, events=["confirmed"])
        if choice == 2:
            self._advance(draft, STEP_CHANGE)
            return Turn([self.prompt(draft)], draft)
        if choice == 3:
            return self._ask_before_erasing(draft, Command.CANCEL) or Turn([self.t(lang, "cancelled")], None, events=["cancel"])
        return Turn([self.t(lang, "error.choose_number", max=3), self.prompt(draft)], draft)

    def _changeable(self) -> list[str]:
        return ["description", *(q.id for q in self.questions)]

    def _answer_change(self, draft: Draft, text: str) -> Turn:
        fields = self._changeable()
        choice = parse_menu_choice(text, len(fields))
        if choice is None:
            return Turn([self.t(draft.language, "error.choose_number", max=len(fields)), self.prompt(draft)], draft)
        draft.editing = True
        draft.step = STEP_CHANGE_DESCRIPTION if choice == 1 else question_step(fields[choice - 1])
        if choice == 1:  # new text may speak of danger again: then the alert question is asked again
            draft.danger_asked, draft.replace_description = False, False
        # Fix: the edit returns to the summary by itself, so the summary entry that CHANGE pushed
        # on the history made the next BACK from the summary land on the summary again.
        if draft.history and draft.history[-1] == STEP_SUMMARY:
            draft.history.pop()
        return Turn([self.prompt(draft)], draft)

    # ------------------------------------------------------------ danger first, and nothing lost

    def _urgent(self, text: str, language: str | None) -> bool:
        # Every backend's `urgent` is the danger lexicon (nlu.categories.is_urgent), so it is asked
        # directly: 0.2 ms a message instead of a whole reading (1.4 ms, or a Rasa round trip).
        return _has_words(text) and is_urgent(FoldedText.of(text))

    def _danger_language(self, text: str, draft: Draft) -> str:
        """The language to ask about danger in: the worker's, else the danger message's, else the default."""
        return (
            draft.language
            or draft.menu_first
            or detect_language(text, self.settings.deployment.languages)
            or self.settings.deployment.default_language
        )

    def _contacts(self) -> str:
        return "\n".join(self.settings.deployment.emergency_contacts) or "-"

    def _before_consent(self, draft: Draft, step: str | None) -> bool:
        """Text the worker writes now is kept aside (`draft.kept`), not (yet) the description: before
        consent (consenting puts STEP_CONSENT on the history; BACK to it takes it off), or in answer mode."""
        return step == STEP_DIALOGUE or STEP_CONSENT not in draft.history

    def _danger_first(self, draft: Draft, text: str, desk: CaseDesk) -> Turn | None:
        """Before the step's own answer: the alert question, the add-or-replace choice, danger words
        (asked about at once, at any step, once per conversation), text kept at the language menu."""
        if draft.step == STEP_DANGER:
            if draft.confirm_erase:  # DELETE/CANCEL at the alert question: this yes/no is about erasing
                answered = self._answer_erase(draft, text)
                if answered is not None:
                    return answered
            return self._answer_danger(draft, text, desk)
        if draft.step == STEP_CHANGE_DESCRIPTION:
            chosen = self._answer_change_description(draft, text)
            if chosen is not None:
                return chosen
        if not draft.danger_asked and self._urgent(text, draft.language):
            # Danger words are no answer to "Erase your report?": the question is dropped, so a
            # later YES answers the step the worker is back at, never erases what they wrote.
            draft.confirm_erase = None
            return self._danger_found(draft, text, desk)
        if draft.step == STEP_LANGUAGE:
            return self._keep_at_language(draft, text)
        return None

    def _danger_found(self, draft: Draft, text: str, desk: CaseDesk) -> Turn:
        """Danger words: the message is kept (or answered as usual), then the contacts and the alert question."""
        step, before = draft.step, []
        lang = self._danger_language(text, draft)
        if step == STEP_DIALOGUE:
            turn = self._answer_dialogue(draft, text, desk)  # the operator gets it as an answer, as always
            if turn.draft is None:  # the case is gone: no alert to attach to, but never without the contacts
                contacts = self.t(lang, "danger.contacts", contacts=self._contacts())
                return Turn([*turn.replies, contacts], None, urgent_now=True, events=[*turn.events, "danger"])
            draft.kept.append(text)
            before = turn.replies
        elif step == STEP_CONSENT:  # the story at the privacy notice is the consent, danger or not
            self._give_consent(draft)
            turn = self._answer_description(draft, text)
            before = turn.replies[:-1]
        elif self._before_consent(draft, step):
            refused = self._keep(draft, text)
            before = refused.replies[:-1] if refused else []
        elif step == STEP_DESCRIPTION:
            turn = self._answer_description(draft, text)
            before = turn.replies[:-1]  # its next question is asked after the alert question
        else:  # an answer step: danger words are no answer to it, they belong to the description
            refused = self._add_description(draft, text)
            before = refused.replies[:-1] if refused else []
            if draft.step == STEP_SUGGEST and not draft.suggestion:
                draft.step = question_step(self.category_question.id)
        return self._ask_danger(draft, draft.step, lang, before)

    def _ask_danger(self, draft: Draft, return_to: str, lang: str, before: list[str]) -> Turn:
        draft.danger_asked, draft.danger_return, draft.step = True, return_to, STEP_DANGER
        draft.danger_language = lang
        return Turn([*before, self.prompt(draft)], draft, urgent_now=True, events=["danger"])

    def _danger_prompt(self, draft: Draft) -> str:
        lang = draft.language or draft.danger_language
        contacts = self.t(lang, "danger.contacts", contacts=self._contacts())
        return contacts + "\n\n" + self.t(lang, "ask.alert") + "\n" + self.t(lang, "hint.yes_no")

    def _answer_danger(self, draft: Draft, text: str, desk: CaseDesk) -> Turn:
        lang = draft.language or draft.danger_language
        choice = parse_menu_choice(text, 2)
        agreed = choice == 1 if choice else parse_yes_no(text, lang)
        if agreed is None:
            if is_filler(text, lang):
                return Turn([self.t(lang, "error.yes_no"), self.prompt(draft)], draft)
            if draft.danger_return == STEP_DIALOGUE and draft.dialogue_case:
                desk.answer(draft.dialogue_case, text)
            refused = self._keep(draft, text, draft.danger_return)
            return refused or Turn([self.t(lang, "kept.note"), self.prompt(draft)], draft, events=["kept"])
        code = None
        if agreed:
            reply, code = self._send_alert(draft, desk, lang)
        else:
            reply = self.t(lang, "alert.not_sent")
        draft.step, draft.danger_return, draft.danger_language = draft.danger_return or STEP_LANGUAGE, None, None
        return Turn([reply, self.prompt(draft)], draft, case_code=code, events=["alert" if code else "alert_not_sent"])

    def _send_alert(self, draft: Draft, desk: CaseDesk, lang: str | None) -> tuple[str, str | None]:
        """(what to tell the worker, the case code when the alert went out)."""
        try:
            case_ref, code = desk.alert(draft)
        except AlertFailed:
            return self.t(lang, "alert.failed", contacts=self._contacts()), None
        draft.alert_case, draft.alert_code = case_ref, code
        return self.t(lang, "alert.sent", what=self._alert_preview(draft), code=casecode.format_code(code)), code

    def _alert_preview(self, draft: Draft) -> str:
        text = " / ".join(part.replace("\n", " ") for part in alert_text(draft))
        return text if len(text) <= ALERT_PREVIEW_CHARS else text[:ALERT_PREVIEW_CHARS].rstrip() + "…"

    def _keep(self, draft: Draft, text: str, step: str | None = "") -> Turn | None:
        """Keep what the worker wrote: aside before consent, else in the description. A refusal, if too long."""
        step = draft.step if step == "" else step
        if not self._before_consent(draft, step):
            return self._add_description(draft, text)
        limit = self.settings.limits.max_description_chars
        if sum(len(part) + 1 for part in draft.kept) + len(text) > limit:
            lang = draft.language or draft.danger_language or draft.menu_first
            return Turn([self.t(lang, "error.description_full", max=limit), self.prompt(draft)], draft, events=["description_full"])
        draft.kept.append(text)
        return None

    def _keep_and_ask_again(self, draft: Draft, text: str) -> Turn:
        refused = self._keep(draft, text)
        lang = draft.language or draft.menu_first
        return refused or Turn([self.t(lang, "kept.note"), self.prompt(draft)], draft, events=["kept"])

    def _keep_at_language(self, draft: Draft, text: str) -> Turn | None:
        """Free text at the first language menu (no number, no language name) is kept, and the menu shown again."""
        if draft.return_to or not self._before_consent(draft, STEP_LANGUAGE):  # LANGUAGE asked mid-report
            return None
        if parse_menu_choice(text, len(self.settings.deployment.languages)) or self._language_by_name(text):
            return None
        if not _says_something(text, draft.language or draft.menu_first):
            return None
        return self._keep_and_ask_again(draft, text)

    def _answer_change_description(self, draft: Draft, text: str) -> Turn | None:
        """CHANGE of the description: 1 add to it (the default), 2 replace it. Text typed here is added."""
        choice = parse_menu_choice(text, 2)
        if choice:
            draft.replace_description, draft.step = choice == 2, STEP_DESCRIPTION
            return Turn([self.prompt(draft)], draft)
        if not _has_words(text):
            return Turn([self.t(draft.language, "error.choose_number", max=2), self.prompt(draft)], draft)
        draft.replace_description, draft.step = False, STEP_DESCRIPTION
        return None  # the text itself is the addition, answered at the description step

    def _change_description_prompt(self, draft: Draft) -> str:
        lang = draft.language
        options = f"1 {self.t(lang, 'value.add')}\n2 {self.t(lang, 'value.replace')}"
        return self.t(lang, "ask.change_description") + "\n" + options

    # ------------------------------------------------------------ moving between steps

    def _advance(self, draft: Draft, step: str) -> None:
        draft.history.append(draft.step)
        draft.step = step

    def _question_order(self, draft: Draft) -> list[str]:
        """The configured order; when the description spoke of danger, the urgency question
        comes right after the category, so emergency contacts reach the worker sooner."""
        ids = [q.id for q in self.questions]
        if draft.urgent_signal:
            urgent_ids = [q.id for q in self.questions if q.marks_urgent]
            rest = [i for i in ids if i not in urgent_ids]
            at = rest.index(self.category_question.id) + 1
            ids = rest[:at] + urgent_ids + rest[at:]
        return ids

    def _next_step_after(self, draft: Draft, question_id: str) -> str:
        ids = self._question_order(draft)
        following = ids[ids.index(question_id) + 1 :]
        return question_step(following[0]) if following else STEP_SUMMARY

    # ------------------------------------------------------------ what the worker reads

    def t(self, language: str | None, key: str, /, **values: object) -> str:
        # Fix: `help` has a {language} placeholder (the LANGUAGE word), and _words() passes
        # "language" as a keyword to `help`, `error.unknown_command` and `hello_again`: it
        # collided with the parameter of the same name, so HELP, /foo and /start raised TypeError
        # at every step. Hence `/` here. Catalogs.text names its first parameter `language` too;
        # while it does, such a message is filled in here, with the same English fallback.
        # (A `/` in Catalogs.text's signature makes the except branch unnecessary.)
        lang = language or self.settings.deployment.default_language
        try:
            return self.catalogs.text(lang, key, **values)
        except TypeError:
            if "language" not in values:
                raise
        messages = self.catalogs._messages
        template = messages.get(lang, {}).get(key) or messages[SOURCE_LANGUAGE][key]
        return template.format_map(values)

    def urgent_contacts_text(self, language: str | None) -> str:
        """The emergency contacts for a worker in danger; without any configured, what to do instead
        (never an empty list: bot/config.check_deployment refuses that on real channels)."""
        contacts = [c for c in self.settings.deployment.emergency_contacts if c.strip()]
        if not contacts:
            return self.t(language, "urgent.no_contacts")
        return self.t(language, "urgent.contacts", contacts="\n".join(contacts))

    def _word(self, kind: str, language: str | None) -> str:
        return display_word(kind, language or "en", sms_safe=self.reserves_opt_out_words)

    def word(self, kind: str, language: str | None) -> str:
        """How the bot names a keyword to the worker ("send STATUS"), for texts sent from elsewhere."""
        return self._word(kind, language)

    def _words(self, language: str | None) -> dict[str, str]:
        kinds = ("help", "back", "cancel", "delete", "language", "status", "skip", "done")
        return {kind: self._word(kind, language) for kind in kinds}

    def _language_options(self, draft: Draft | None) -> list[tuple[str, str]]:
        """(number, endonym) in menu order. Numbers never change; the language detected in the
        first message is listed first, so the worker sees their own script at the top."""
        options = [(str(i), lang) for i, lang in enumerate(self.settings.deployment.languages, 1)]
        if draft is not None and draft.menu_first:
            options.sort(key=lambda option: option[1] != draft.menu_first)
        return [(number, self.catalogs.text(lang, "language.name")) for number, lang in options]

    def language_menu(self, draft: Draft | None = None) -> str:
        lines = [f"{number} {name}" for number, name in self._language_options(draft)]
        return self.t(self.settings.deployment.default_language, "language.menu") + "\n" + "\n".join(lines)

    def prompt(self, draft: Draft) -> str:
        """The question the worker is asked at their current step."""
        lang, step = draft.language, draft.step
        if step in (STEP_DANGER, STEP_CHANGE_DESCRIPTION):
            return self._danger_prompt(draft) if step == STEP_DANGER else self._change_description_prompt(draft)
        if step == STEP_LANGUAGE:
            return self.language_menu(draft)
        if step == STEP_DIALOGUE:
            return self.t(lang, "dialogue.prompt", cancel=self._word("cancel", lang))
        if step == STEP_CONSENT:  # the privacy notice, then "What happened?" (or: add to what was kept)
            notice = self.t(lang, "privacy", no=self._word("no", lang))
            ask = self.t(lang, "kept.start", done=self._word("done", lang)) if draft.kept else self.t(lang, "ask.description")
            return notice + "\n\n" + ask
        if step == STEP_DESCRIPTION:
            return self.t(lang, "ask.description")
        if step == STEP_SUGGEST:
            text = self.t(lang, "ask.suggestion", category=self.t(lang, f"category.{draft.suggestion}"))
            return text + "\n" + self.t(lang, "hint.yes_no") + self._more_hint(draft)
        if step == STEP_SUMMARY:
            options = ", ".join(f"{number} {label}" for number, label in self._summary_options(lang))
            return self.t(lang, "summary.check", summary=self._summary(draft)) + "\n" + options
        if step == STEP_CHANGE:
            labels = [self.t(lang, f"label.{field_id}") for field_id in self._changeable()]
            return self.t(lang, "ask.change") + "\n" + "\n".join(f"{i} {label}" for i, label in enumerate(labels, 1))
        question = self._by_id.get(question_id_of(step) or "")
        if question is None:
            return self.t(lang, "ask.description")
        text = self.t(lang, f"ask.{question.id}")
        if question.id in draft.offers and not draft.editing:
            return text + "\n" + self.t(lang, "ask.confirm_entity", value=draft.offers[question.id]) + "\n" + self.t(lang, "hint.yes_no")
        if question.kind == "category":
            menu = [f"{i} {self.t(lang, f'category.{c}')}" for i, c in enumerate(self.settings.flow.categories, 1)]
            text += "\n" + "\n".join(menu) + self._more_hint(draft)
        elif question.kind == "yes_no":
            text += "\n" + self.t(lang, "hint.yes_no")
        if question.optional:
            text += "\n" + self.t(lang, "hint.skip", skip=self._word("skip", lang))
        return text

    def choices(self, draft: Draft) -> tuple[tuple[str, str], ...]:
        """The answers offered at the current step, as (what to send, label), for channels with buttons."""
        lang, step = draft.language, draft.step
        yes_no = (("1", self.t(lang, "value.yes")), ("2", self.t(lang, "value.no")))
        if step == STEP_DANGER:
            lang = lang or draft.danger_language
            return (("1", self.t(lang, "value.yes")), ("2", self.t(lang, "value.no")))
        if step == STEP_CHANGE_DESCRIPTION:
            return (("1", self.t(lang, "value.add")), ("2", self.t(lang, "value.replace")))
        if step == STEP_LANGUAGE:
            return tuple(self._language_options(draft))
        if step == STEP_SUGGEST:
            return yes_no
        if draft.confirm_erase:
            return yes_no
        if step == STEP_SUMMARY:
            return self._summary_options(lang)
        if step == STEP_CHANGE:
            return tuple((str(i), self.t(lang, f"label.{field_id}")) for i, field_id in enumerate(self._changeable(), 1))
        question = self._by_id.get(question_id_of(step) or "")
        if question is None:
            return ()
        if question.id in draft.offers and not draft.editing:
            return yes_no
        if question.kind == "category":
            return tuple((str(i), self.t(lang, f"category.{c}")) for i, c in enumerate(self.settings.flow.categories, 1))
        if question.kind == "yes_no":
            return yes_no
        return ()

    def _summary_options(self, lang: str | None) -> tuple[tuple[str, str], ...]:
        """1 send, 2 change, 3 cancel: the same words in the text and on the buttons."""
        return tuple((str(i), self._word(kind, lang)) for i, kind in enumerate(("confirm", "change", "cancel"), 1))

    def _more_hint(self, draft: Draft) -> str:
        return "\n" + self.t(draft.language, "hint.write_more") if draft.description_open else ""

    def _summary(self, draft: Draft) -> str:
        """The answers read back, in as few SMS segments as it takes (one in English): one line
        per answer. The worker's own words (the type, a workplace, a place, a time) stand alone,
        the worker knows them; a number and a yes/no carry their short label. An optional question
        left unanswered is left out. The description is not quoted: the worker wrote it minutes
        ago, a few words of it checked nothing and cost a segment; CHANGE 1 adds to it or replaces it."""
        lang = draft.language
        lines = []
        for question in self.questions:
            value = draft.answers.get(question.id)
            if value is None and question.optional:
                continue
            shown = self._show_value(lang, question, value)
            if question.kind in ("text", "category") and value is not None:
                lines.append(shown)
            else:
                lines.append(f"{self.t(lang, f'label.{question.id}')}: {shown}")
        return "\n".join(lines)

    def _show_value(self, lang: str | None, question: Question, value: object) -> str:
        if value is None:
            return "-"
        if question.kind == "yes_no":
            return self.t(lang, "value.yes" if value else "value.no")
        if question.kind == "category":
            return self.t(lang, f"category.{value}")
        return str(value)
