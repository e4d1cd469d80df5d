"""The voice line's webhooks on the public app: `VoiceAdapter`.

Routes (all POST ones signed by Twilio over the exact public URL, checked before the form is read;
403 and nothing stored otherwise):

- `POST /webhooks/voice`: a call comes in (the number's "A call comes in" webhook);
- `POST /webhooks/voice/step?s=<step>`: the keys pressed at a step (a <Gather>'s action);
- `POST /webhooks/voice/recorded?s=report|answer`: a <Record> ended: the recording is fetched,
  deleted at Twilio and cleaned (`recordings.Recordings`), kept with the report or the answer;
- `POST /webhooks/voice/recording`: a recording's status callback: it is deleted at Twilio (again);
- `POST /webhooks/voice/status`: the number's "Call status changes" callback: a call that ended no
  longer holds a line; what was said stays (a report in progress is kept like an unfinished chat);
- `GET /webhooks/voice/prompts/<language>/<file>`: the deployment's recorded prompts, for <Play>.

A failure of ours answers TwiML that says sorry and hangs up (a 5xx would make Twilio read out its
own English error): what the caller said before is already stored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from flask import Flask, Response, abort, request, send_file
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from bot.config import ConfigError
from bot.intake import Intake
from bot.messages import ReplyAddress

from ..base import RunningBot, SendError, channel_secret
from ..media_work import MediaWork
from ..twilio_inbound import verify_signature
from .calls import open_call
from .flow import MENU_DIGITS, CallFlow, Urls
from .recordings import RecordingMissing, Recordings
from .speech import Speaker

log = logging.getLogger(__name__)

PREFIX = "/webhooks/voice"
_CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
_STEP = re.compile(r"^(language|menu|record_empty|code|answer_offer|q:[a-z][a-z0-9_]{0,39})$")
ENDED = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


def _twiml(response: VoiceResponse) -> Response:
    return Response(str(response), status=200, mimetype="text/xml")


def _plain(status: int, body: str = "") -> Response:
    return Response(body, status=status, mimetype="text/plain")


class VoiceAdapter:
    """Twilio Programmable Voice: the "voice" channel (see the module docstring)."""

    type = "voice"
    rate = None
    keeps_message_refs = False

    def __init__(self, intake: Intake, speaker: Speaker, public_url: str, account_sid: str, auth_token: str) -> None:
        settings = intake.settings
        self.intake = intake
        self.public_url = public_url
        self._auth_token = auth_token
        self.validator = RequestValidator(auth_token)
        self.speaker = speaker
        self.flow = CallFlow(settings, speaker, Urls(public_url.rstrip("/") + PREFIX))
        twilio = settings.channels.twilio
        self.recordings = Recordings(account_sid, auth_token, twilio.api_base_url, settings.channels.voice.recording_max_bytes,
                                     MediaWork(intake))

    @classmethod
    def from_services(cls, services: RunningBot) -> VoiceAdapter:
        settings = services.settings
        twilio = settings.channels.twilio
        auth_token = channel_secret(services, twilio.auth_token, "channels.twilio.auth_token")
        account_sid = channel_secret(services, twilio.account_sid, "channels.twilio.account_sid")
        prompts = settings.channels.voice.prompts_dir
        speaker = Speaker(services.catalogs, settings.deployment.languages, settings.deployment.default_language,
                          settings.path(prompts) if prompts else None, settings.server.public_url or "", PREFIX + "/prompts")
        if not speaker.languages:
            raise ConfigError("config error: channels.voice: no language of deployment.languages can be spoken on the line")
        for line in speaker.report():  # the start-up check: which language gets which speech
            log.log(logging.WARNING if "not offered" in line else logging.INFO, line)
        if len(speaker.languages) > len(MENU_DIGITS):
            log.warning("voice line: the language menu offers the first %d languages only", len(MENU_DIGITS))
        return cls(services.intake, speaker, settings.server.public_url or "", account_sid, auth_token)

    def register(self, app: Flask) -> None:
        app.add_url_rule(PREFIX, "voice_incoming", self.incoming, methods=["POST"])
        app.add_url_rule(PREFIX + "/step", "voice_step", self.step, methods=["POST"])
        app.add_url_rule(PREFIX + "/recorded", "voice_recorded", self.recorded, methods=["POST"])
        app.add_url_rule(PREFIX + "/recording", "voice_recording", self.recording_status, methods=["POST"])
        app.add_url_rule(PREFIX + "/status", "voice_status", self.call_status, methods=["POST"])
        app.add_url_rule(PREFIX + "/prompts/<language>/<name>", "voice_prompt", self.prompt, methods=["GET"])

    # ------------------------------------------------------------ webhooks

    def _signed(self) -> bool:
        if verify_signature(self.validator, self.public_url, request):
            return True
        log.warning("voice webhook refused: bad or missing signature")
        return False

    def _call(self) -> tuple[str, str] | None:
        call_sid = (request.form.get("CallSid") or "").strip()
        if not _CALL_SID.match(call_sid):
            return None
        return (request.form.get("From") or "").strip(), call_sid

    def _run(self, decide) -> Response:
        """Open the call's state, let `decide(call)` answer, store it; sorry-and-goodbye on our failure.
        (The caller has checked the signature.)"""
        caller = self._call()
        if caller is None:
            log.warning("voice webhook refused: malformed")
            return _plain(400, "malformed request")
        try:
            with open_call(self.intake, *caller) as call:
                return _twiml(decide(call))
        except Exception as error:
            log.error("voice webhook failed", extra={"error": type(error).__name__})
            response = VoiceResponse()
            self.speaker.say(response, self.intake.settings.deployment.default_language, "voice.failed")
            response.hangup()
            return _twiml(response)

    def incoming(self) -> Response:
        if not self._signed():
            return _plain(403, "forbidden")
        return self._run(self.flow.incoming)

    def step(self) -> Response:
        if not self._signed():
            return _plain(403, "forbidden")
        step = request.args.get("s", "")
        if not _STEP.match(step):
            return _plain(400, "malformed request")
        digits = re.sub(r"[^0-9*#]", "", request.form.get("Digits") or "")[:20]
        return self._run(lambda call: self.flow.keyed(call, step, digits))

    def recorded(self) -> Response:
        if not self._signed():
            return _plain(403, "forbidden")
        purpose = request.args.get("s", "")
        if purpose not in ("report", "answer") or self._call() is None:
            return _plain(400, "malformed request")
        item = None
        try:  # before the call's transaction: the download and ffmpeg hold no lock
            item = self.recordings.take(request.form.get("RecordingUrl") or "", request.form.get("RecordingSid") or "")
        except RecordingMissing as missing:
            log.warning("voice recording not kept", extra={"reason": str(missing)})
        sid = request.form.get("RecordingSid") or ""
        digits = re.sub(r"[^0-9*#]", "", request.form.get("Digits") or "")[:1]

        def decide(call):
            kept = item is not None and (purpose == "answer" or call.keep_recording(item, sid))
            return self.flow.recorded(call, purpose, item, kept, digits)

        return self._run(decide)

    def recording_status(self) -> Response:
        if not self._signed():
            return _plain(403, "forbidden")
        self.recordings.delete(request.form.get("RecordingSid") or "")
        return Response(status=204)

    def call_status(self) -> Response:
        if not self._signed():
            return _plain(403, "forbidden")
        caller = self._call()
        if caller is None:
            return _plain(400, "malformed request")
        if (request.form.get("CallStatus") or "").strip().lower() not in ENDED:
            return Response(status=204)
        try:
            with open_call(self.intake, *caller) as call:
                call.ended()
                if not call.reporting():
                    call.erase()
        except Exception as error:
            log.error("voice call end not recorded", extra={"error": type(error).__name__})
            return _plain(503, "temporarily unavailable, please retry")
        log.info("voice call ended")
        return Response(status=204)

    def prompt(self, language: str, name: str) -> Response:
        key, _, suffix = name.rpartition(".")
        path = self.speaker.prompt_file(language, key)
        if path is None or path.suffix != "." + suffix:
            abort(404)
        return send_file(path, mimetype="audio/mpeg" if suffix == "mp3" else "audio/wav")

    # ------------------------------------------------------------ the adapter contract

    def send(self, address: ReplyAddress, text: str, choices: Sequence[tuple[str, str]] = ()) -> str | None:
        # A call cannot be sent: the caller hears the team's words when they call back with their code.
        raise SendError("the voice line sends nothing; the caller hears answers by calling back", retryable=False)

    def erase(self, address: ReplyAddress, refs: Sequence[str]) -> None:
        return None

    def secret_values(self) -> tuple[str, ...]:
        return (self._auth_token,)

    def close(self) -> None:
        self.recordings.close()
