"""A fake of the Messenger Platform's Send API and Meta's media CDN, on 127.0.0.1.

`POST /<version>/me/messages` needs the Page access token as a Bearer token, records the
body and answers `{"recipient_id", "message_id"}`, or a queued error in Graph's format;
`GET /cdn/<name>` serves attachment bytes (no token, like Meta's CDN). The webhook
payloads the tests send are built here too, shaped as Meta documents them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer

from fake_http import QuietJsonHandler

VERSION = "v21.0"


@dataclass
class FakeMessenger:
    page_access_token: str
    url: str = ""
    requests: list[dict] = field(default_factory=list)  # {"path", "auth", "body"}
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    failures: list[tuple[int, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    count: int = 0
    send_delay: Callable[[dict], float] | None = None  # seconds a send takes (given its body): a slow call

    def sent(self, psid: str | None = None) -> list[dict]:
        with self.lock:
            return [r["body"] for r in self.requests if r.get("accepted") and (psid is None or r["body"]["recipient"]["id"] == psid)]

    def texts(self, psid: str) -> list[str]:
        return [body["message"]["text"] for body in self.sent(psid)]

    def add_file(self, name: str, content_type: str, data: bytes) -> str:
        self.files[name] = (content_type, data)
        return f"{self.url}/cdn/{name}"


class FakeMessengerServer:
    def __init__(self, page_access_token: str) -> None:
        self.fake = FakeMessenger(page_access_token)
        fake = self.fake

        class Handler(QuietJsonHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if fake.send_delay is not None:
                    time.sleep(fake.send_delay(body))
                record = {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
                with fake.lock:
                    fake.requests.append(record)
                    if self.headers.get("Authorization") != f"Bearer {fake.page_access_token}":
                        return self._reply(401, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}})
                    if self.path != f"/{VERSION}/me/messages":
                        return self._reply(404, {"error": {"message": "Unknown path", "code": 803}})
                    if fake.failures:
                        status, code = fake.failures.pop(0)
                        return self._reply(status, {"error": {"message": "(#%d) simulated" % code, "type": "OAuthException", "code": code}})
                    fake.count += 1
                    record["accepted"] = True
                    return self._reply(200, {"recipient_id": body["recipient"]["id"], "message_id": f"m_fake{fake.count:08d}"})

            def do_GET(self) -> None:
                name = self.path.removeprefix("/cdn/")
                if not self.path.startswith("/cdn/") or name not in fake.files:
                    return self._reply(404, {"error": "not found"})
                content_type, data = fake.files[name]
                return self._reply(200, data, content_type)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.fake.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeMessenger:
        self.thread.start()
        return self.fake

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def messenger_sign(app_secret: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()


def page_webhook(page_id: str, *events: dict) -> dict:
    return {"object": "page", "entry": [{"id": page_id, "time": 1764400000000, "messaging": list(events)}]}


def text_event(page_id: str, psid: str, mid: str, text: str, quick_reply: str | None = None) -> dict:
    message: dict = {"mid": mid, "text": text}
    if quick_reply is not None:
        message["quick_reply"] = {"payload": quick_reply}
    return {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": 1764400000123, "message": message}


def attachment_event(page_id: str, psid: str, mid: str, kind: str, url: str) -> dict:
    return {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": 1764400000456,
            "message": {"mid": mid, "attachments": [{"type": kind, "payload": {"url": url}}]}}


def echo_event(page_id: str, psid: str, mid: str) -> dict:
    return {"sender": {"id": page_id}, "recipient": {"id": psid}, "timestamp": 1764400000789,
            "message": {"mid": mid, "is_echo": True, "app_id": 1517776481860111, "text": "our own reply"}}


def read_event(page_id: str, psid: str) -> dict:
    return {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": 1764400000999, "read": {"watermark": 1764400000000}}


def reaction_event(page_id: str, psid: str, mid: str) -> dict:
    return {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": 1764400001111,
            "reaction": {"mid": mid, "action": "react", "reaction": "love", "emoji": "\u2764"}}
