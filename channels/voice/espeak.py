"""Prompts made at install by espeak-ng, for languages Twilio cannot speak.

espeak-ng (Debian package `espeak-ng`) speaks Nepali (ne) and Burmese (my); it has no Khmer. Its
voice is robotic but in the caller's language, which beats a voice they cannot understand. The
files go where recorded prompts go (`<prompts_dir>/<language>/<key>.wav`), so `Speaker` plays them
the same way; a file already there (recorded by a person) is never overwritten. Run by
`grievance voice-prompts --make-speech` at install, and again when the catalogs change.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bot.i18n import Catalogs

from .speech import PROMPT_SUFFIXES, TWILIO_VOICES, recordable_keys

# espeak-ng's voice for each language of the first release that Twilio does not speak.
ESPEAK_VOICES = {"ne": "ne", "my": "my"}
ESPEAK_SECONDS = 30  # one prompt


class SpeechNotMade(Exception):
    """espeak-ng is missing, or failed on a prompt (the message is safe to print)."""


def languages_for_espeak(languages: tuple[str, ...]) -> tuple[str, ...]:
    """The deployment's languages that Twilio does not speak and espeak-ng does."""
    return tuple(language for language in languages if language not in TWILIO_VOICES and language in ESPEAK_VOICES)


def make_prompts(catalogs: Catalogs, language: str, prompts_dir: Path, program: str = "espeak-ng") -> list[Path]:
    """Write each missing recordable prompt of `language` as a WAV made by espeak-ng; the files made."""
    executable = shutil.which(program)
    if executable is None:
        raise SpeechNotMade(f"{program} is not installed (Debian: apt-get install espeak-ng)")
    folder = prompts_dir / language
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for key in recordable_keys(catalogs):
        if any((folder / (key + suffix)).is_file() for suffix in PROMPT_SUFFIXES):
            continue  # a person's recording, or one made before
        target = folder / (key + ".wav")
        text = catalogs.text(language, key)
        try:
            subprocess.run([executable, "-v", ESPEAK_VOICES[language], "-w", str(target), text],  # noqa: S603  argument list, no shell
                           check=True, capture_output=True, timeout=ESPEAK_SECONDS)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            target.unlink(missing_ok=True)
            raise SpeechNotMade(f"{program} failed on {language} {key}") from None
        made.append(target)
    return made
