"""How the voice line speaks each language: recorded prompts, Twilio's text-to-speech, or not at all.

Every prompt is a catalog text (`voice.*` keys, bot/locales). For each language:

- a recorded file, `<channels.voice.prompts_dir>/<language>/<key>.mp3` (or `.wav`), is played
  (`<Play>`) where the deployment provides one: a voice the community knows beats a synthetic one;
- else Twilio's text-to-speech says the text (`<Say>`) where Twilio speaks the language
  (`TWILIO_VOICES`: hi, bn-IN, th, vi, id, fil, ja, cmn, es, en);
- a text with values in it (a case code, the emergency contacts, the team's words) cannot be
  recorded ahead: it is said by text-to-speech, in the language where Twilio speaks it, else in
  the deployment's default language.

A language Twilio cannot speak (ne, my, km) is offered on the line only when every prompt without
values is recorded; otherwise it is left out of the language menu. `Speaker.report` is what the
start-up check prints: which language gets which. Prompts made at install by espeak-ng (ne, my:
`espeak.py`, `grievance voice-prompts --make-speech`) go in `prompts_dir` like recorded ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from bot.i18n import Catalogs, placeholders

# Twilio <Say> language and voice for the languages Twilio speaks (Google voices of Twilio's TTS).
TWILIO_VOICES: dict[str, tuple[str, str]] = {
    "en": ("en-US", "Google.en-US-Standard-C"),
    "es": ("es-US", "Google.es-US-Standard-A"),
    "hi": ("hi-IN", "Google.hi-IN-Standard-A"),
    "bn": ("bn-IN", "Google.bn-IN-Standard-A"),
    "th": ("th-TH", "Google.th-TH-Standard-A"),
    "vi": ("vi-VN", "Google.vi-VN-Standard-A"),
    "id": ("id-ID", "Google.id-ID-Standard-A"),
    "tl": ("fil-PH", "Google.fil-PH-Standard-A"),
    "ja": ("ja-JP", "Google.ja-JP-Standard-A"),
    "zh": ("cmn-CN", "Google.cmn-CN-Standard-A"),
}
PROMPT_SUFFIXES = (".mp3", ".wav")
PROMPT_PREFIX = "voice."
_SAFE_KEY = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*$")  # "voice.menu": no "..", no "/"
_SAFE_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


@dataclass(frozen=True)
class LanguageSpeech:
    """How one language is spoken on the line."""

    language: str
    tts: tuple[str, str] | None  # Twilio's (language, voice), when Twilio speaks it
    recorded: frozenset[str]  # prompt keys with a recorded file
    missing: tuple[str, ...]  # recordable keys without a file

    @property
    def offered(self) -> bool:
        return self.tts is not None or not self.missing

    def describe(self) -> str:
        if self.tts is not None and self.recorded:
            return f"recorded prompts ({len(self.recorded)}), else Twilio text-to-speech {self.tts[1]}"
        if self.tts is not None:
            return f"Twilio text-to-speech {self.tts[1]}"
        if not self.missing:
            return "recorded prompts (texts with values in the default language's voice)"
        return (f"not offered on the voice line: Twilio does not speak it and {len(self.missing)} prompts are not"
                " recorded (`grievance voice-prompts` lists them; `--make-speech` makes ne and my with espeak-ng)")


def recordable_keys(catalogs: Catalogs) -> tuple[str, ...]:
    """The voice prompts without values in them: the ones a deployment may record, in order."""
    english = catalogs.keys("en")
    return tuple(sorted(key for key in english
                        if key.startswith(PROMPT_PREFIX) and not placeholders(catalogs.template("en", key) or "")))


class Speaker:
    """Adds a catalog text to TwiML as <Play> or <Say>, in a caller's language."""

    def __init__(self, catalogs: Catalogs, languages: tuple[str, ...], default_language: str,
                 prompts_dir: Path | None, public_url: str, prompt_path: str) -> None:
        self.catalogs = catalogs
        self.default_language = default_language
        self.prompts_dir = prompts_dir
        self.prompt_url = public_url.rstrip("/") + prompt_path
        keys = recordable_keys(catalogs)
        self.speech = {language: self._survey(language, keys) for language in languages}

    def _survey(self, language: str, keys: tuple[str, ...]) -> LanguageSpeech:
        recorded = frozenset(key for key in keys if self.prompt_file(language, key) is not None)
        missing = tuple(key for key in keys if key not in recorded)
        return LanguageSpeech(language, TWILIO_VOICES.get(language), recorded, missing)

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages offered on the line, in the deployment's order."""
        return tuple(language for language, speech in self.speech.items() if speech.offered)

    def prompt_file(self, language: str, key: str) -> Path | None:
        """The recorded file of a prompt, if the deployment provides it."""
        if self.prompts_dir is None or not _SAFE_KEY.match(key) or not _SAFE_LANGUAGE.match(language):
            return None
        for suffix in PROMPT_SUFFIXES:
            candidate = self.prompts_dir / language / (key + suffix)
            if candidate.is_file():
                return candidate
        return None

    def say(self, node, language: str, key: str, /, **values: object) -> None:
        """Speak catalog text `key` into `node` (a VoiceResponse or a Gather)."""
        speech = self.speech.get(language)
        if speech is not None and key in speech.recorded and not values:
            suffix = self.prompt_file(language, key).suffix  # type: ignore[union-attr]  # recorded implies a file
            node.play(f"{self.prompt_url}/{quote(language)}/{quote(key)}{suffix}")
            return
        self.say_text(node, language, self.catalogs.text(language, key, **values))

    def say_text(self, node, language: str, text: str) -> None:
        """Speak `text` (in `language`) by text-to-speech; in the default language's voice when
        Twilio does not speak `language`, in its own words (the caller still hears the numbers)."""
        voice = TWILIO_VOICES.get(language) or TWILIO_VOICES.get(self.default_language) or TWILIO_VOICES["en"]
        node.say(text, language=voice[0], voice=voice[1])

    def report(self) -> list[str]:
        """One line per language: how the voice line speaks it (printed by the start-up check)."""
        return [f"voice line: {language}: {speech.describe()}" for language, speech in self.speech.items()]


def digits_spoken(code: str) -> str:
    """A code read digit by digit: "4 8 1 5" rather than "four thousand...". Commas make the pause."""
    return ", ".join(ch for ch in code if ch.isdigit())
