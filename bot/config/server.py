"""The intake server itself: its paths, key files, log, address, what it keeps for how long
(retention, and the throttle on STATUS look-ups that find no case), and what cleaning one
attachment may cost it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .base import Frozen, SecretSource


class Paths(Frozen):
    data_dir: str = "var/data"
    database_url: str | None = None  # default: SQLite in data_dir
    # SQLite only. "full": an fsync per commit, a stored message survives a power loss.
    # "normal" (WAL): survives a crash of the process, but a power loss may undo the last commits.
    sqlite_synchronous: Literal["full", "normal"] = "full"
    # SQLite only: after an erasure (a report sent or deleted, a purge), the WAL is cut to zero bytes
    # at most this often, so an erased draft stays in it at most about this long under load (a cut
    # WAL must grow again, which makes the next commits dearer; storage/db.py).
    sqlite_wal_erase_within_seconds: Annotated[float, Field(gt=0, le=600)] = 5.0


class Secrets(Frozen):
    pepper: SecretSource = SecretSource(file="var/keys/pepper")
    data_keys: SecretSource = SecretSource(file="var/keys/data-keys.json")
    # Ed25519 key the server signs each sealed case with before it enters a queue (`grievance init`).
    signing_key: SecretSource = SecretSource(file="var/keys/signing-key")


class Retention(Frozen):
    """How long the intake server keeps what it needs only for a while (purged by `grievance purge`).

    Drafts and reply addresses stay under `session` (`idle_expiry_hours`,
    `reply_address_retention_days`), where existing configs have them.
    """

    # Keyed hashes of provider message ids, so a provider's retry is not handled twice. Telegram
    # re-sends updates for 24 hours and Twilio and Meta within minutes: less than a day would let a
    # late retry through as a new message.
    receipts_days: Annotated[float, Field(ge=1, le=365)] = 7
    # Messages a provider accepted but never confirmed (many SMS carriers never do), encrypted:
    # kept so a late failure report can still trigger a retry.
    sent_outbound_hours: Annotated[float, Field(ge=0, le=24 * 30)] = 48
    # Messages to workers that could not be sent (encrypted), kept for `grievance queue status`.
    dead_outbound_days: Annotated[float, Field(ge=0, le=365)] = 7
    # The marker "case <id> was delivered to the queue" (the sealed case itself is dropped on
    # delivery); 0 erases it at the next purge.
    delivered_outbox_hours: Annotated[float, Field(ge=0, le=24 * 30)] = 0
    # Telegram message ids of a chat (encrypted, under a keyed hash of the chat), kept this long
    # after its last message so DELETE can remove the summary, the case code and the operator's
    # messages (Telegram allows it for 48 hours) and say how many older ones the worker must delete.
    chat_message_refs_days: Annotated[float, Field(ge=2, le=90)] = 7
    # Each case's sender as a keyed pseudonym (never the address), kept this long so the desk can
    # mute a sender who abuses the hotline (storage/mutes.py); 0 keeps none and no one can be muted.
    case_sender_days: Annotated[float, Field(ge=0, le=90)] = 14


class Logging(Frozen):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: str | None = "var/data/logs/grievance.log"


class Server(Frozen):
    # The public HTTPS address providers call (behind the reverse proxy). Twilio signs the full
    # public URL, so signatures can only be checked against it: required with Twilio.
    public_url: Annotated[str, Field(pattern=r"^https?://[^/\s]+(/[^\s]*)?$")] | None = None
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    forward_interval_seconds: Annotated[float, Field(gt=0, le=3600)] = 2.0
    purge_interval_seconds: Annotated[float, Field(gt=0, le=86400)] = 600.0
    threads: Annotated[int, Field(ge=1, le=64)] = 4  # gunicorn threads per worker process (`serve --workers`)


class StatusThrottle(Frozen):
    """Limits on STATUS look-ups that find no case: per sender (keyed pseudonym) and overall."""

    per_sender_failures: Annotated[int, Field(ge=1, le=1000)] = 5
    per_sender_window_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)] = 60
    global_failures: Annotated[int, Field(ge=1, le=1_000_000)] = 30
    global_window_seconds: Annotated[int, Field(ge=1, le=3600)] = 60
    keep_counts_days: Annotated[int, Field(ge=1, le=365)] = 30  # global counters, for `grievance stats`


class VoiceDisguise(Frozen):
    """What the team hears of a worker's voice (channels/voice_disguise.py): always a disguised
    voice (pitch and formants shifted, fixed per deployment from its pepper); the original only
    where `keep_original` is on, sealed beside it for the operator's admins, never exported."""

    keep_original: bool = False


class MediaCleaning(Frozen):
    """What cleaning one photo or voice note may cost (channels/media_sandbox.py): each file is
    decoded in a process of its own, which the kernel stops at these limits, and refused then."""

    # CPU time of one file. An ordinary photo takes well under a second and the hungriest image the
    # pixel budget allows (a 16 MP RGBA WebP) under 2 s; a 10-minute voice note about 4 s
    # (12 s with the voice disguise).
    image_cpu_seconds: Annotated[int, Field(ge=1, le=300)] = 8
    audio_cpu_seconds: Annotated[int, Field(ge=1, le=600)] = 20
    # Wall-clock time of one file, the wait for a free slot included: then the process is killed.
    # A webhook with less time left (Twilio's) gives less.
    wall_seconds: Annotated[float, Field(ge=1, le=600)] = 30
    # Address space of the cleaning process (and of ffmpeg): the hungriest image within the pixel
    # budget needs about 600 MB, ffmpeg about 300 MB. An image that needs more is refused as too large.
    memory_mb: Annotated[int, Field(ge=256, le=65536)] = 768
    # Files one server process cleans at once; the others wait for a slot (within `wall_seconds`).
    parallel: Annotated[int, Field(ge=1, le=64)] = 2
    voice_disguise: VoiceDisguise = VoiceDisguise()
