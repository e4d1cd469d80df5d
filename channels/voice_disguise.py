"""The worker's voice, disguised: what the team hears of a recording, and what any export carries.

A voice names a worker as surely as a phone number: a supervisor who hears a recording knows
who spoke. So every recording a worker sends (a voice note on a chat channel, a report left on
the voice line) is re-encoded, in the cleaning sandbox and in the same ffmpeg pass that strips
its metadata, through a fixed chain of filters; the undisguised voice never leaves that process:

- the formants (the resonances of the speaker's throat and mouth, most of what makes a voice
  someone's) are moved by one ratio (`asetrate` + `aresample` + `atempo`: a tape played faster
  or slower, kept to its length);
- the pitch is then moved by another ratio with the formants held (`rubberband`, Debian's
  ffmpeg has it): at least 3.25 semitones, the formants 1.5 to 2.75, up or down. Rubberband
  holds formants only in part: on a test vowel the resonance lands between the two ratios,
  at least a semitone away from the pitch's (tests/test_voice_disguise.py measures it);
- everything above 3.8 kHz is cut, as a telephone does: the fine detail speaker recognition
  leans on is lost for good, and the speech stays clear.

The two ratios are fixed per deployment, from its pepper (`crypto.voice_disguise_seed`): the
same worker sounds the same in every recording of one hotline, no file or config says which
ratios it uses, and another deployment's are other ones. Not reversible from the file: the two
shifts differ (no single resampling undoes both), the pitch shift discards the phase, the cut
band is gone, and the file holds no trace of the parameters. What the disguise does not hide:
the words, the accent, the way someone speaks, sounds around them. Without `rubberband` (an
ffmpeg built without it) pitch and formants move together by the pitch ratio, and the start-up
log says so.

The original is kept only where a deployment sets `media.voice_disguise.keep_original`: it is
then sealed beside the disguised one, for the operator's admins, and never exported.

The one function the channels call (the voice line too):

    disguise_recording(data, content_type, disguise, *, max_bytes, limits, time_limit=None) -> MediaItem

`data` is a recording as the provider gave it (any type of `media.AUDIO_FORMATS`: OGG/Opus,
AMR, M4A/3GP, AAC, MP3, WAV, WebM); the result is the disguised `audio/ogg` (Opus, mono, no
metadata, cut at 10 minutes) with `seconds` and `voice="disguised"`, and the cleaned original in
`original` where the deployment keeps it. It raises only `media.MediaRejected`.
"""

from __future__ import annotations

import logging
import subprocess  # noqa: S404  ffmpeg, by argument list, to list its filters
import time
from dataclasses import dataclass
from functools import cache

from bot.config import MediaCleaning
from bot.messages import MediaItem
from storage import crypto

from .media import AUDIO_FORMATS, CLEAN_AUDIO_TYPE, MAX_AUDIO_SECONDS, MediaRejected, check_type
from .media_child import ffmpeg_path
from .media_sandbox import CleaningFailed, Sandbox

log = logging.getLogger(__name__)

RATE = 16_000  # speech is worked on at 16 kHz: clear, and a third of the CPU of 48 kHz
CUT_ABOVE_HZ = 3_800
OPUS_RATE = 48_000  # Opus counts its granules at 48 kHz, whatever it was given


@dataclass(frozen=True)
class Disguise:
    """One deployment's disguise: semitones of pitch and formant shift, and whether the original is kept."""

    pitch_semitones: float
    formant_semitones: float
    keep_original: bool = False
    rubberband: bool = True  # ffmpeg can move the pitch apart from the formants

    @property
    def pitch_ratio(self) -> float:
        return 2 ** (self.pitch_semitones / 12)

    @property
    def formant_ratio(self) -> float:
        """The formants' ratio as applied (the resampling rate is a whole number of Hz)."""
        if not self.rubberband:
            return round(RATE * self.pitch_ratio) / RATE
        return round(RATE * 2 ** (self.formant_semitones / 12)) / RATE

    def filter_chain(self) -> str:
        """The ffmpeg filters that disguise a voice."""
        shifted_rate = round(RATE * self.formant_ratio)
        chain = [f"aresample={RATE}", f"asetrate={shifted_rate}", f"aresample={RATE}", f"atempo={RATE / shifted_rate:.6f}"]
        if self.rubberband:
            # Frames of one size into rubberband: fed what 8 kHz audio (a phone call's recording) leaves
            # after the resampling, it fails at the end of most recordings ("Cannot process again after
            # final chunk") and the recording would be lost.
            chain.append("asetnsamples=n=1024:p=0")
            chain.append(f"rubberband=pitch={self.pitch_ratio / self.formant_ratio:.6f}:formant=preserved")
        chain.append(f"lowpass=f={CUT_ABOVE_HZ}")
        return ",".join(chain)


def for_deployment(media: MediaCleaning, secrets: crypto.ServerSecrets) -> Disguise:
    """This deployment's disguise, from its pepper and the `media.voice_disguise` settings."""
    seed = crypto.voice_disguise_seed(secrets)
    pitch = (3.25 + 1.75 * seed[0] / 255) * (1 if seed[1] & 1 else -1)
    formant = (1.5 + 1.25 * seed[2] / 255) * (1 if seed[3] & 1 else -1)
    has_rubberband = ffmpeg_has_rubberband()
    return Disguise(round(pitch, 2), round(formant, 2), media.voice_disguise.keep_original, has_rubberband)


@cache
def ffmpeg_has_rubberband() -> bool:
    """Whether this ffmpeg has the `rubberband` filter (Debian's has); asked once per process."""
    binary = ffmpeg_path()
    if binary is None:
        return False
    try:
        listed = subprocess.run([binary, "-hide_banner", "-filters"], capture_output=True, timeout=20, check=False)  # noqa: S603  no input, no shell
    except (OSError, subprocess.TimeoutExpired):
        return False
    found = any(line.split()[1:2] == [b"rubberband"] for line in listed.stdout.splitlines())
    if not found:
        log.warning("ffmpeg has no rubberband filter: voices are disguised by one shift of pitch and formants together")
    return found


def disguise_recording(data: bytes, content_type: str, disguise: Disguise, *, max_bytes: int,
                       limits: MediaCleaning, time_limit: float | None = None) -> MediaItem:
    """The recording cleaned and disguised, ready to seal (see the module docstring)."""
    bare = check_type(content_type)
    if bare not in AUDIO_FORMATS:
        raise MediaRejected("media type not accepted", "type")
    if len(data) > max_bytes:
        raise MediaRejected("media too large", "too_large")
    if ffmpeg_path() is None:  # never keep a recording we could not strip
        log.warning("voice note refused: ffmpeg is not installed")
        raise MediaRejected("audio cannot be cleaned here", final=False)
    started = time.monotonic()
    disguised = _clean(data, AUDIO_FORMATS[bare], max_bytes, limits, time_limit, disguise.filter_chain())
    original = None
    if disguise.keep_original:
        left = None if time_limit is None else time_limit - (time.monotonic() - started)
        original = _clean(data, AUDIO_FORMATS[bare], max_bytes, limits, left, None)
    return MediaItem(CLEAN_AUDIO_TYPE, disguised, seconds=ogg_opus_seconds(disguised), voice="disguised", original=original)


def _clean(data: bytes, file_format: str, max_bytes: int, limits: MediaCleaning, time_limit: float | None,
           audio_filter: str | None) -> bytes:
    try:
        return Sandbox(limits).clean("audio", file_format, data, max_bytes, max_audio_seconds=MAX_AUDIO_SECONDS,
                                     time_limit=time_limit, audio_filter=audio_filter)
    except CleaningFailed as failed:
        log.info("recording not cleaned", extra={"reason": str(failed)})
        raise MediaRejected(str(failed), failed.reason, final=failed.final) from None


def ogg_opus_seconds(data: bytes) -> float | None:
    """How long an OGG/Opus recording plays, from its pages' granule positions (nothing decoded);
    None when the data is not OGG. To a tenth of a second."""
    position, granule, pre_skip = 0, None, 0
    while position + 27 <= len(data) and data[position:position + 4] == b"OggS":
        segments = data[position + 26]
        body = position + 27 + segments
        if position == 0 and data[body:body + 8] == b"OpusHead":
            pre_skip = int.from_bytes(data[body + 10:body + 12], "little")
        page_granule = int.from_bytes(data[position + 6:position + 14], "little", signed=True)
        if page_granule >= 0:
            granule = page_granule
        position = body + sum(data[position + 27:body])
    if granule is None:
        return None
    return round(max(0, granule - pre_skip) / OPUS_RATE, 1)
