"""A fake Twilio on 127.0.0.1 for tests: the REST API's Messages.json, a media store and call recordings.

It checks HTTP basic auth like Twilio does, records every request, answers
message creation with the JSON Twilio returns (or with errors queued by the
test, in Twilio's error format), and serves media, optionally slowly, missing,
or through a redirect to another host (as Twilio redirects to its media store).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fake_http import QuietJsonHandler
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    authorization: str | None
    form: dict[str, str] = field(default_factory=dict)

    def basic_auth(self) -> tuple[str, str] | None:
        if not self.authorization or not self.authorization.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(self.authorization[6:]).decode().partition(":")
        return user, password


@dataclass
class Media:
    content_type: str
    data: bytes
    status: int = 200
    delay: float = 0.0
    redirect_host: str | None = None  # answer 307 to the same path on this host (no auth needed there)


class FakeTwilio:
    """Start with `FakeTwilio(account_sid, auth_token)`; `url` is its base; `close()` stops it."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.requests: list[Recorded] = []
        self.media: dict[str, Media] = {}
        self.errors: list[tuple[int, int, str]] = []  # (HTTP status, Twilio code, message) for the next creates
        self.fail_at: dict[int, tuple[int, int, str]] = {}  # create number (1-based) -> error
        self.creates = 0
        self.create_delay: Callable[[dict[str, str]], float] | None = None  # seconds a create takes (given its form)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.handle_error = lambda request, address: None  # a client that timed out is not an error here
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_media(self, content_type: str, data: bytes, **options) -> str:
        """Serve `data`; returns the MediaUrl Twilio would put in the webhook."""
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages/MM{secrets.token_hex(16)}/Media/ME{secrets.token_hex(16)}"
        self.media[path] = Media(content_type, data, **options)
        return self.url + path

    def add_recording(self, data: bytes) -> tuple[str, str]:
        """Serve a call recording as Twilio does (WAV at <RecordingUrl>.wav, DELETE at <RecordingUrl>.json);
        returns the (RecordingUrl, RecordingSid) Twilio would post."""
        sid = "RE" + secrets.token_hex(16)
        path = f"/2010-04-01/Accounts/{self.account_sid}/Recordings/{sid}"
        self.media[path + ".wav"] = Media("audio/x-wav", data)
        return self.url + path, sid

    def recording_deletes(self) -> list[str]:
        """The RecordingSids deleted (authorized DELETEs), in order."""
        return [r.path.rsplit("/", 1)[-1].removesuffix(".json") for r in self.requests
                if r.method == "DELETE" and "/Recordings/" in r.path and self.authorized(r)]

    def fail_next(self, status: int, code: int, message: str) -> None:
        self.errors.append((status, code, message))

    @property
    def messages(self) -> list[dict[str, str]]:
        """The forms of accepted and refused Messages.json POSTs, in order."""
        return [r.form for r in self.requests if r.method == "POST" and r.path.endswith("/Messages.json")]

    def media_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "GET"]

    def close(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    # ------------------------------------------------------------ answers

    def authorized(self, recorded: Recorded) -> bool:
        return recorded.basic_auth() == (self.account_sid, self.auth_token)

    def create_message(self, form: dict[str, str]) -> tuple[int, dict]:
        with self._lock:
            self.creates += 1
            error = self.fail_at.pop(self.creates, None) or (self.errors.pop(0) if self.errors else None)
        if error:
            status, code, message = error
            return status, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
        sid = "SM" + secrets.token_hex(16)
        now = formatdate(usegmt=True)
        return 201, {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": form.get("Body", ""),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
            "to": form.get("To"),
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }


def _handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietJsonHandler):
        def _record(self, form: dict[str, str] | None = None) -> Recorded:
            parts = urlsplit(self.path)
            recorded = Recorded(self.command, parts.path, parts.query, self.headers.get("Authorization"), form or {})
            with fake._lock:
                fake.requests.append(recorded)
            return recorded

        def _answer(self, status: int, body: bytes = b"", content_type: str = "application/json", headers: dict | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            form = {key: values[-1] for key, values in parse_qs(raw, keep_blank_values=True).items()}
            if fake.create_delay is not None and self.path.endswith("/Messages.json"):
                time.sleep(fake.create_delay(form))  # a slow call: Twilio takes the message after it
            recorded = self._record(form)
            if not recorded.path.endswith("/Messages.json"):
                return self._answer(404, b'{"code": 20404, "message": "not found", "status": 404}')
            if not fake.authorized(recorded):
                return self._answer(401, b'{"code": 20003, "message": "Authenticate", "status": 401}')
            status, payload = fake.create_message(form)
            self._answer(status, json.dumps(payload).encode())

        def do_DELETE(self) -> None:
            recorded = self._record()
            if not fake.authorized(recorded):
                return self._answer(401, b'{"code": 20003, "message": "Authenticate", "status": 401}')
            media_path = recorded.path.removesuffix(".json") + ".wav"
            if "/Recordings/" not in recorded.path or fake.media.pop(media_path, None) is None:
                return self._answer(404, b'{"code": 20404, "message": "not found", "status": 404}')
            self._answer(204)

        def do_GET(self) -> None:
            recorded = self._record()
            store = recorded.path.startswith("/store/")
            media = fake.media.get(recorded.path.removeprefix("/store") if store else recorded.path)
            if media is None:
                return self._answer(404, b'{"code": 20404, "message": "not found", "status": 404}')
            if not store and not fake.authorized(recorded):
                return self._answer(401, b'{"code": 20003, "message": "Authenticate", "status": 401}')
            if media.redirect_host and not store:
                location = f"http://{media.redirect_host}:{fake.port}/store{recorded.path}"
                return self._answer(307, b"", headers={"Location": location})
            if media.delay and fake._stop.wait(media.delay):
                return None
            if media.status != 200:
                return self._answer(media.status, b'{"code": 20404, "message": "not found", "status": 404}')
            self._answer(200, media.data, media.content_type)

    return Handler
