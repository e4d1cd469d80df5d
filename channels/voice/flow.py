"""The call, as steps: what the caller hears at each step and what each key does there.

Steps (`draft.call["step"]`), each a prompt and a table of keys, like the chat's steps:

    language -> menu -> record -> q:<id>... -> (the case sealed, its code read twice, goodbye)
                     \\-> code -> answer_offer -> answer -> (the answer sealed, goodbye)

Rules that apply at every keypad step, before the step's own keys, in this order:
1. the call is over its length (`max_call_seconds`): goodbye, what was said is kept;
2. 9 is "someone is in danger now" (said from the first prompt on): the emergency contacts are
   read out, the urgent alert goes to the team as in chat (`CaseDesk.alert`, the person on duty
   paged), its code is read, and the call goes back to the step it was at;
3. no key (the caller said nothing): the prompt again, three times, then goodbye (kept).
The keypad questions are the deployment's own questions that suit a keypad: the first with
`marks_urgent` (danger now; YES is the danger rule), with `grants_contact` (may the team call or
text back; only for a caller whose number is known) and with `grants_referral` (may the company
be told). Every URL given to Twilio is absolute (`Urls`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import quote

from twilio.twiml.voice_response import VoiceResponse

from bot import casecode
from bot.config import Settings
from bot.conversation.contract import AlertFailed, StatusThrottled
from bot.messages import MediaItem

from .calls import VOICE_ANSWER, Call
from .speech import Speaker, digits_spoken

log = logging.getLogger(__name__)

DANGER_KEY = "9"
YES, NO = "1", "2"
MAX_TRIES = 3
MENU_DIGITS = "123456780"  # the language menu's keys, in order (9 is danger)
QUESTION_FLAGS = (("marks_urgent", "voice.ask_danger"), ("grants_contact", "voice.ask_contact"),
                  ("grants_referral", "voice.ask_referral"))


@dataclass(frozen=True)
class Urls:
    """The absolute URLs Twilio is told to call back (signed by Twilio over exactly these)."""

    base: str  # the public URL and the voice routes' prefix

    def step(self, step: str) -> str:
        return f"{self.base}/step?s={quote(step, safe='')}"

    def recorded(self, purpose: str) -> str:
        return f"{self.base}/recorded?s={purpose}"

    def recording_status(self) -> str:
        return f"{self.base}/recording"


class CallFlow:
    """Decides the TwiML of each webhook of a call from the call's state (see the module docstring)."""

    def __init__(self, settings: Settings, speaker: Speaker, urls: Urls) -> None:
        self.settings = settings
        self.voice = settings.channels.voice
        self.speaker = speaker
        self.urls = urls
        self.default = settings.deployment.default_language

    # ------------------------------------------------------------ entry points

    def incoming(self, call: Call) -> VoiceResponse:
        """A call comes in: the language menu, or the menu of a caller whose report is in progress."""
        state = call.state
        if not call.admit(self.voice.calls_per_caller, self.voice.max_call_seconds):
            log.info("voice call refused: the number holds its lines already")
            response = VoiceResponse()
            self.speaker.say(response, call.draft.language or self.default, "voice.busy")
            response.hangup()
            return response
        state["tries"] = 0
        if call.draft.language and call.reporting():
            return self._go(call, "menu", welcome="voice.welcome_back")
        return self._go(call, "language", welcome="voice.welcome")

    def keyed(self, call: Call, step: str, digits: str) -> VoiceResponse:
        """The caller pressed keys (or none) at `step`."""
        state = call.state
        lang = call.draft.language or self.default
        if call.seconds_in() > self.voice.max_call_seconds:
            return self._goodbye(lang, "voice.time_up")
        if step != "code" and digits.startswith(DANGER_KEY):
            return self._danger(call, back_to=step)
        if step == "record_empty":  # silence from the start of the recording: on to the questions
            return self._go(call, self._after_record(call), note=None if call.state.get("recorded") else "voice.record_failed")
        if not digits:
            state["tries"] = state.get("tries", 0) + 1
            if state["tries"] >= MAX_TRIES:
                return self._goodbye(lang, "voice.goodbye_kept" if call.reporting() else "voice.goodbye")
            return self._go(call, step, note="voice.no_key")
        state["tries"] = 0
        handler = getattr(self, "_key_" + step.split(":")[0], None)
        if handler is None:  # a step this version does not know (an older call): start at the menu
            return self._go(call, "menu" if call.draft.language else "language")
        return handler(call, step, digits)

    def recorded(self, call: Call, purpose: str, item: MediaItem | None, kept: bool, digits: str) -> VoiceResponse:
        """A recording ended (the caller pressed #, was silent, or hung up: Twilio ignores the answer then)."""
        state = call.state
        lang = call.draft.language or self.default
        if purpose == "answer":
            return self._answer_recorded(call, item, lang)
        response = VoiceResponse()
        if item is not None and kept:
            state["recorded"] = True
            self.speaker.say(response, lang, "voice.recorded")
        elif not state.get("recorded"):
            self.speaker.say(response, lang, "voice.record_failed")
        if digits == DANGER_KEY:
            return self._danger(call, back_to=self._after_record(call), response=response)
        return self._go(call, self._after_record(call), response=response)

    # ------------------------------------------------------------ steps: prompts

    def _go(self, call: Call, step: str, *, response: VoiceResponse | None = None, welcome: str | None = None,
            note: str | None = None) -> VoiceResponse:
        """Move to `step` and say its prompt (after `welcome` or `note`)."""
        if step == "submit":
            return self._submit(call, response or VoiceResponse())
        call.state["step"] = step
        response = response or VoiceResponse()
        lang = call.draft.language or self.default
        if step == "language" and len(self.speaker.languages) <= 1:
            call.draft.language = self.speaker.languages[0] if self.speaker.languages else self.default
            step, lang = "menu", call.draft.language
            call.state["step"] = step
        if welcome:
            self.speaker.say(response, lang, welcome, name=self.settings.deployment.name)
        if note:
            self.speaker.say(response, lang, note)
        if step == "record":
            return self._record(call, response, lang)
        if step == "answer":
            return self._record_answer(call, response, lang)
        code_entry = step == "code"
        gather = response.gather(
            action=self.urls.step(step), method="POST", timeout=self.voice.keypad_seconds, action_on_empty_result=True,
            **({"finish_on_key": "#"} if code_entry else {"num_digits": 1}),
        )
        self._prompt(call, gather, step, lang)
        return response

    def _prompt(self, call: Call, gather, step: str, lang: str) -> None:
        say = self.speaker.say
        if step == "language":
            for digit, language in zip(MENU_DIGITS, self.speaker.languages):
                say(gather, language, "voice.language_option", digit=digit)
        elif step == "menu":
            say(gather, lang, "voice.menu_resume" if call.reporting() else "voice.menu")
        elif step == "code":
            say(gather, lang, "voice.ask_code")
            return
        elif step == "answer_offer":
            say(gather, lang, "voice.answer_offer")
        elif step.startswith("q:"):
            say(gather, lang, dict(self._questions(call))[step[2:]])
        say(gather, lang if step != "language" else self.default, "voice.danger_hint")

    def _record(self, call: Call, response: VoiceResponse, lang: str) -> VoiceResponse:
        self.speaker.say(response, lang, "voice.privacy")
        self.speaker.say(response, lang, "voice.record_now", minutes=max(1, self.voice.max_record_seconds // 60))
        self._record_verb(call, response, "report", self.voice.max_record_seconds)
        return response

    def _record_answer(self, call: Call, response: VoiceResponse, lang: str) -> VoiceResponse:
        self.speaker.say(response, lang, "voice.answer_now")
        self._record_verb(call, response, "answer", self.voice.max_answer_seconds)
        return response

    def _record_verb(self, call: Call, response: VoiceResponse, purpose: str, seconds: int) -> None:
        left = int(self.voice.max_call_seconds - call.seconds_in())
        response.record(
            action=self.urls.recorded(purpose), method="POST", max_length=max(5, min(seconds, left)),
            timeout=self.voice.silence_seconds, finish_on_key="#9" if purpose == "report" else "#", play_beep=True,
            transcribe=False, trim="trim-silence",
            recording_status_callback=self.urls.recording_status(), recording_status_callback_event="completed",
        )
        # Nothing was recorded (silence from the start): Twilio skips the action and goes on here.
        response.redirect(self.urls.step("answer_offer" if purpose == "answer" else "record_empty"), method="POST")

    # ------------------------------------------------------------ steps: keys

    def _key_language(self, call: Call, step: str, digits: str) -> VoiceResponse:
        choices = dict(zip(MENU_DIGITS, self.speaker.languages))
        if digits[:1] not in choices:
            return self._go(call, step, note="voice.bad_key")
        call.draft.language = choices[digits[:1]]
        return self._go(call, "menu")

    def _key_menu(self, call: Call, step: str, digits: str) -> VoiceResponse:
        if digits[:1] == "1":
            return self._go(call, self._after_record(call) if call.state.get("recorded") else "record")
        if digits[:1] == "2":
            return self._go(call, "code")
        return self._go(call, step, note="voice.bad_key")

    def _key_q(self, call: Call, step: str, digits: str) -> VoiceResponse:
        question_id = step[2:]
        if digits[:1] not in (YES, NO):
            return self._go(call, step, note="voice.bad_key")
        yes = digits[:1] == YES
        call.draft.answers[question_id] = yes
        after = self._next_question(call, question_id)
        if yes and self._flag(question_id, "marks_urgent"):
            return self._danger(call, back_to=after)
        return self._go(call, after)

    def _key_code(self, call: Call, step: str, digits: str) -> VoiceResponse:
        lang = call.draft.language or self.default
        code = casecode.parse_code(digits)
        try:
            found = call.desk.status(code) if code else None
        except StatusThrottled:
            return self._goodbye(lang, "voice.throttled")
        if found is None:
            return self._go(call, "code", note="voice.code_unknown")
        call.state["case"] = found.case_ref
        response = VoiceResponse()
        self.speaker.say(response, lang, "voice.status", status=self.speaker.catalogs.text(lang, f"case_status.{found.status}"))
        for message in found.messages:
            self.speaker.say(response, lang, "voice.team_message", message=message)
        return self._go(call, "answer_offer", response=response)

    def _key_answer_offer(self, call: Call, step: str, digits: str) -> VoiceResponse:
        if digits[:1] == "1":
            return self._go(call, "answer")
        return self._goodbye(call.draft.language or self.default, "voice.goodbye")

    # ------------------------------------------------------------ danger, the end

    def _danger(self, call: Call, back_to: str, response: VoiceResponse | None = None) -> VoiceResponse:
        draft = call.draft
        draft.language = draft.language or self.default
        lang = draft.language
        response = response or VoiceResponse()
        contacts = [contact for contact in self.settings.deployment.emergency_contacts if contact.strip()]
        if contacts:
            self.speaker.say(response, lang, "voice.contacts", contacts=". ".join(contacts))
        draft.urgent = True
        for question_id, _ in self._questions(call):
            if self._flag(question_id, "marks_urgent"):
                draft.answers[question_id] = True
        try:
            case_ref, code = call.desk.alert(draft)
        except AlertFailed:
            self.speaker.say(response, lang, "voice.alert_failed")
        else:
            draft.alert_case, draft.alert_code = case_ref, code
            self.speaker.say(response, lang, "voice.alert_sent", digits=digits_spoken(code))
        if back_to in ("language", "code", "answer_offer", "record_empty"):
            back_to = "menu"
        elif back_to.startswith("q:") and self._flag(back_to[2:], "marks_urgent"):
            back_to = self._next_question(call, back_to[2:])
        return self._go(call, back_to, response=response)

    def _submit(self, call: Call, response: VoiceResponse) -> VoiceResponse:
        lang = call.draft.language or self.default
        code = call.desk.submit(call.draft)
        call.erase()
        spoken = digits_spoken(code)
        self.speaker.say(response, lang, "voice.case_code", digits=spoken)
        self.speaker.say(response, lang, "voice.case_code_again", digits=spoken)
        self.speaker.say(response, lang, "voice.call_back")
        response.hangup()
        log.info("voice report sealed")
        return response

    def _answer_recorded(self, call: Call, item: MediaItem | None, lang: str) -> VoiceResponse:
        case_ref = call.state.pop("case", None)
        if item is None or case_ref is None or not call.desk.answer(case_ref, VOICE_ANSWER, media=(item,)):
            return self._goodbye(lang, "voice.record_failed")
        if not call.reporting():
            call.erase()
        return self._goodbye(lang, "voice.answer_kept")

    def _goodbye(self, lang: str, key: str) -> VoiceResponse:
        response = VoiceResponse()
        self.speaker.say(response, lang, key)
        response.hangup()
        return response

    # ------------------------------------------------------------ the keypad questions

    def _questions(self, call: Call) -> list[tuple[str, str]]:
        """(question id, prompt key) of the deployment's questions that suit a keypad, in order."""
        found = []
        for flag, key in QUESTION_FLAGS:
            if flag == "grants_contact" and not call.reachable:
                continue  # a hidden number cannot be called back
            question = next((q for q in self.settings.flow.questions if getattr(q, flag) and q.kind == "yes_no"), None)
            if question is not None:
                found.append((question.id, key))
        return found

    def _flag(self, question_id: str, flag: str) -> bool:
        return any(q.id == question_id and getattr(q, flag) for q in self.settings.flow.questions)

    def _after_record(self, call: Call) -> str:
        """The first keypad question not answered yet, or "submit"."""
        for question_id, _ in self._questions(call):
            if question_id not in call.draft.answers:
                return "q:" + question_id
        return "submit"

    def _next_question(self, call: Call, question_id: str) -> str:
        return self._after_record(call)
