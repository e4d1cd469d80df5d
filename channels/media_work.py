"""A message's media, fetched and cleaned once per message, whatever its provider redelivers.

Every adapter fetches a message's photos and voice notes and has them cleaned
(`channels/media.py`, each file in a process of its own) before it hands the message to
`Intake.receive`, which is where the message's receipt is taken. A provider that timed out
meanwhile (Telegram, Meta) delivers the message again, and Meta redelivers a whole batch when
one message of it failed: without a claim, each delivery would download and decode the same
file again, and a crafted one would cost its limit each time. So `MediaWork.fetch_once` claims
the message first (`storage/media_claims.py`, by the receipt's keyed hash):

- received already: nothing is fetched; the intake then answers it as a duplicate;
- being cleaned by another delivery right now: `CleaningElsewhere`, and the adapter answers
  "try later" (503), so the provider comes back when the receipt exists;
- cleaned and refused, then the message failed: the refusals are told again, nothing decoded;
- else the work is done here and its outcome recorded. A failure of the moment (a download
  the provider should retry, no free cleaning slot) gives the claim up, so a redelivery works.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.messages import MediaItem
from storage import crypto, media_claims
from storage.db import utcnow

from . import voice_disguise
from .media import AUDIO_FORMATS, MediaRejected, clean_media, media_type

if TYPE_CHECKING:
    from bot.intake import Intake

log = logging.getLogger(__name__)

Fetched = tuple[tuple[MediaItem, ...], tuple[str, ...]]  # the media kept, and the reason of each refused


class CleaningElsewhere(Exception):
    """Another delivery of this message is cleaning its media now: answer "try later"."""


class MessageMedia:
    """The cleaning of one message's files; remembers whether a refusal was the moment's fault."""

    def __init__(self, work: MediaWork) -> None:
        self._work = work
        self.momentary = False  # a refusal that a redelivery should not be told again

    def clean(self, content_type: str, data: bytes, max_bytes: int, time_limit: float | None = None) -> MediaItem:
        """`clean_media` within the configured limits (`media` section); a recording disguised too
        (`voice_disguise`): the team never hears a worker's own voice unless the deployment keeps it."""
        try:
            if media_type(content_type) in AUDIO_FORMATS:
                return voice_disguise.disguise_recording(data, content_type, self._work.disguise(), max_bytes=max_bytes,
                                                         limits=self._work.limits, time_limit=time_limit)
            return clean_media(content_type, data, max_bytes, time_limit, self._work.limits)
        except MediaRejected as rejected:
            self.momentary = self.momentary or not rejected.final
            raise


class MediaWork:
    """Fetches and cleans each message's media once (see the module docstring)."""

    def __init__(self, intake: Intake) -> None:
        self.limits = intake.settings.media
        self.sessions = intake.sessions
        self.secrets = intake.secrets
        # Claims are stamped to the minute: one older than the longest cleaning, and a minute or two
        # more, belongs to a process that died while cleaning.
        self.stale_after = timedelta(minutes=math.ceil(self.limits.wall_seconds / 60) + 2)
        self._disguise: voice_disguise.Disguise | None = None

    def disguise(self) -> voice_disguise.Disguise:
        """This deployment's voice disguise (worked out at the first recording)."""
        if self._disguise is None:
            self._disguise = voice_disguise.for_deployment(self.limits, self.secrets)
        return self._disguise

    def fetch_once(self, adapter: str, provider_id: str | None, fetch: Callable[[MessageMedia], Fetched]) -> Fetched:
        """`fetch`'s media and refusals for this message, done at most once (or `CleaningElsewhere`).

        Any exception of `fetch` gives the claim up and goes on to the caller (a retryable
        download failure: the provider's next try does the work).
        """
        work = MessageMedia(self)
        if not provider_id:  # nothing to recognise a redelivery by
            return fetch(work)
        key = crypto.inbound_receipt_key(self.secrets, adapter, provider_id)
        with self.sessions.begin() as session:
            claim = media_claims.claim(session, key, utcnow(), self.stale_after)
        if claim.state == media_claims.RECEIVED:
            log.info("media of a message already received: not fetched again", extra={"channel": adapter})
            return (), ()
        if claim.state == media_claims.ELSEWHERE:
            log.info("media being cleaned by another delivery", extra={"channel": adapter})
            raise CleaningElsewhere()
        if claim.state == media_claims.REPLAY:
            log.info("media refused before: told again, not cleaned again", extra={"channel": adapter})
            return (), claim.refused
        try:
            items, refused = fetch(work)
        except BaseException:
            self._release(key)
            raise
        if work.momentary:
            self._release(key)
        else:
            with self.sessions.begin() as session:
                media_claims.settle(session, key, len(items), refused)
        return items, refused

    def _release(self, key: str) -> None:
        try:
            with self.sessions.begin() as session:
                media_claims.release(session, key)
        except Exception as error:  # the claim goes stale in minutes and is taken over then
            log.warning("media claim not released", extra={"reason": type(error).__name__})
