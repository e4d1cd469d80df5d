"""A caller's recording: fetched from Twilio with the account credentials, deleted there at once,
and cleaned like every voice note.

Twilio keeps every call recording in the account until someone deletes it: a copy of the
worker's voice, at a third party, for as long as nobody thinks of it. So each recording is
deleted (`DELETE .../Recordings/<sid>.json`) as soon as it was fetched, and even when the fetch
failed; the recording-status callback deletes it again (a 404 then is success), for a call whose
action never came. The audio is cleaned by the same path as a voice note from a chat
(`channels.media_work.MediaWork.fetch_once` then `MessageMedia.clean`, i.e. `channels.media.clean_media`:
ffmpeg in a limited process, metadata dropped, OGG/Opus), once per recording whatever Twilio
redelivers; a voice disguise added there applies to calls too. Nothing here logs a URL or a sid.
"""

from __future__ import annotations

import logging
import re
import time
from urllib.parse import urlsplit

import requests

from bot.messages import MediaItem

from ..media import MediaRejected
from ..media_work import MediaWork

log = logging.getLogger(__name__)

RECORDING_SID = re.compile(r"^RE[0-9a-fA-F]{32}$")
FETCH_TIMEOUT_SECONDS = 5.0
NOT_READY_TRIES = 3  # Twilio may answer 404 for a moment after the action is posted
NOT_READY_PAUSE_SECONDS = 0.5


class RecordingMissing(Exception):
    """No usable recording (its reason is a fixed phrase, safe to log)."""


class Recordings:
    """Fetch, delete and clean caller recordings (one Twilio account)."""

    def __init__(self, account_sid: str, auth_token: str, api_base_url: str, max_bytes: int, media_work: MediaWork) -> None:
        self.account_sid = account_sid
        self.auth = (account_sid, auth_token)
        self.api_base_url = api_base_url.rstrip("/")
        self.origin = _origin(api_base_url)
        self.max_bytes = max_bytes
        self.media_work = media_work
        self.session = requests.Session()
        self.session.max_redirects = 3

    def take(self, recording_url: str, recording_sid: str) -> MediaItem:
        """The cleaned recording; the copy at Twilio is deleted whatever happens."""
        if not RECORDING_SID.match(recording_sid or ""):
            raise RecordingMissing("no recording sid")
        try:
            items, refused = self.media_work.fetch_once(
                "voice", recording_sid, lambda work: ((work.clean("audio/wav", self._download(recording_url), self.max_bytes),), ())
            )
        except MediaRejected as rejected:
            raise RecordingMissing(str(rejected)) from None
        except requests.RequestException as error:
            raise RecordingMissing(type(error).__name__) from None
        finally:
            self.delete(recording_sid)
        if not items:
            raise RecordingMissing("recording kept before" if not refused else "recording refused before")
        return items[0]

    def _download(self, recording_url: str) -> bytes:
        if _origin(recording_url) != self.origin:
            raise MediaRejected("recording url not on the Twilio API host")
        url = recording_url.removesuffix(".json") + ".wav"  # Twilio serves the recording as WAV at <url>.wav
        for attempt in range(NOT_READY_TRIES):
            with self.session.get(url, auth=self.auth, timeout=FETCH_TIMEOUT_SECONDS, stream=True) as response:
                if response.status_code == 404 and attempt + 1 < NOT_READY_TRIES:
                    time.sleep(NOT_READY_PAUSE_SECONDS)  # not yet available: Twilio is still writing it
                    continue
                if response.status_code != 200:
                    raise MediaRejected(f"recording http {response.status_code}")
                data = bytearray()
                for chunk in response.iter_content(64 * 1024):
                    data += chunk
                    if len(data) > self.max_bytes:
                        raise MediaRejected("recording too large", "too_large")
                return bytes(data)
        raise MediaRejected("recording not available")

    def delete(self, recording_sid: str) -> bool:
        """Delete the recording at Twilio; True when it is gone (deleted now, or before)."""
        if not RECORDING_SID.match(recording_sid or ""):
            return False
        url = f"{self.api_base_url}/2010-04-01/Accounts/{self.account_sid}/Recordings/{recording_sid}.json"
        try:
            response = self.session.delete(url, auth=self.auth, timeout=FETCH_TIMEOUT_SECONDS)
        except requests.RequestException as error:
            log.warning("voice recording not deleted at Twilio", extra={"reason": type(error).__name__})
            return False
        if response.status_code in (200, 204, 404):
            return True
        log.warning("voice recording not deleted at Twilio", extra={"reason": f"http {response.status_code}"})
        return False

    def close(self) -> None:
        self.session.close()


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme.lower(), f"{(parts.hostname or '').lower()}:{port}"
