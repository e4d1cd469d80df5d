"""A scripted caller for the voice line: signed webhooks in Twilio's form, the TwiML answers parsed.

`Caller` plays a phone: it calls, presses keys where the last TwiML has a <Gather>, speaks (a WAV
served by the fake Twilio as the recording) where it has a <Record>, stays silent (follows the
<Redirect>), and hangs up (the call-status callback). Every action URL it follows must be absolute
and on the public URL; it posts exactly there, signed by the twilio library's `RequestValidator`.
"""

from __future__ import annotations

import secrets
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "5d0c3b9e7a1f4e2d8c6b0a9f7e5d3c1b"
AUTH_TOKEN = "9e1d3c5b7a9f0e2d4c6b8a0f1e3d5c7b"
PUBLIC_URL = "https://hotline.example.org"
HOTLINE_NUMBER = "+15550100000"


def spoken_wav(seconds: float = 1.0, frequency: int = 220) -> bytes:
    """A short WAV, 8 kHz mono like Twilio's recordings, tagged as a phone's recorder might."""
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
         f"sine=frequency={frequency}:duration={seconds}", "-ar", "8000", "-ac", "1",
         "-metadata", "title=CallerSecretTitle", "-c:a", "pcm_s16le", "-f", "wav", "pipe:1"],
        capture_output=True, timeout=60, check=True)
    return done.stdout


def sign(url: str, form: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, form)


@dataclass
class Heard:
    """One TwiML answer, parsed."""

    root: ET.Element

    @property
    def says(self) -> list[str]:
        return [element.text or "" for element in self.root.iter("Say")]

    @property
    def text(self) -> str:
        return " | ".join(self.says)

    def says_in(self, tts_language: str) -> list[str]:
        return [element.text or "" for element in self.root.iter("Say") if element.get("language") == tts_language]

    @property
    def gather(self) -> ET.Element | None:
        return self.root.find("Gather")

    @property
    def record(self) -> ET.Element | None:
        return self.root.find("Record")

    @property
    def hung_up(self) -> bool:
        return self.root.find("Hangup") is not None


@dataclass
class Caller:
    """One phone calling the hotline's number (`number` None: a hidden number)."""

    client: object
    fake: object  # FakeTwilio
    number: str | None
    call_sid: str = field(default_factory=lambda: "CA" + secrets.token_hex(16))
    last: Heard | None = None
    history: list[Heard] = field(default_factory=list)

    def form(self, **extra: str) -> dict[str, str]:
        form = {
            "AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", "CallSid": self.call_sid, "CallStatus": "in-progress",
            "Called": HOTLINE_NUMBER, "To": HOTLINE_NUMBER, "Direction": "inbound",
            "From": self.number or "+266696687", "Caller": self.number or "+266696687", "FromCountry": "BD",
        }
        form.update(extra)
        return form

    def post(self, url: str, form: dict[str, str], signature: str | None = None):
        assert url.startswith(PUBLIC_URL + "/"), url  # Twilio is only ever given absolute public URLs
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"X-Twilio-Signature": sign(url, form) if signature is None else signature}
        return self.client.post(path, data=form, headers=headers, base_url="http://localhost")

    def _heard(self, response) -> Heard:
        assert response.status_code == 200, response.data
        assert response.mimetype == "text/xml"
        heard = Heard(ET.fromstring(response.data))
        assert heard.root.tag == "Response"
        self.last = heard
        self.history.append(heard)
        return heard

    def call(self) -> Heard:
        self.call_sid = "CA" + secrets.token_hex(16)
        return self._heard(self.post(PUBLIC_URL + "/webhooks/voice", self.form(CallStatus="ringing")))

    def press(self, digits: str) -> Heard:
        gather = self.last.gather
        assert gather is not None, self.last.text
        return self._heard(self.post(gather.get("action"), self.form(Digits=digits)))

    def speak(self, audio: bytes, finish_key: str = "#", hang_up: bool = False) -> Heard:
        """Speak at a <Record>; Twilio posts the action with the recording (also after a hang-up)."""
        record = self.last.record
        assert record is not None, self.last.text
        url, sid = self.fake.add_recording(audio)
        form = self.form(RecordingUrl=url, RecordingSid=sid, RecordingDuration="1", Digits="hangup" if hang_up else finish_key)
        if hang_up:
            form["CallStatus"] = "completed"
        self.recording_sid = sid
        heard = self._heard(self.post(record.get("action"), form))
        status = self.form(RecordingSid=sid, RecordingUrl=url, RecordingStatus="completed", RecordingDuration="1")
        callback = self.post(record.get("recordingStatusCallback"), status)
        assert callback.status_code == 204
        return heard

    def stay_silent(self) -> Heard:
        """Say nothing at a <Record>: Twilio skips the action and follows the <Redirect>."""
        redirect = self.last.root.find("Redirect")
        assert redirect is not None
        return self._heard(self.post(redirect.text, self.form()))

    def hang_up(self) -> None:
        response = self.post(PUBLIC_URL + "/webhooks/voice/status", self.form(CallStatus="completed", CallDuration="42"))
        assert response.status_code == 204
