"""A fake of the LINE Messaging API (api.line.me and api-data.line.me) on 127.0.0.1.

It answers the calls the LINE adapter makes: reply (`/v2/bot/message/reply`, a reply
token is good once), push (`/v2/bot/message/push`, with `X-Line-Retry-Key`: a repeated
key is answered 409 as LINE does), the month's quota and its consumption, and message
content downloads. Every call needs the channel access token; replies and pushes can be
made slow (`send_delay`) or fail (`failures`). Webhook bodies and their
`X-Line-Signature` are made here as LINE makes them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer

from fake_http import QuietJsonHandler


@dataclass
class FakeLine:
    access_token: str
    url: str = ""
    quota: int | None = 200  # None: LINE's "none" (no limit)
    used: int = 0
    replies: list[dict] = field(default_factory=list)
    pushes: list[dict] = field(default_factory=list)
    valid_tokens: set[str] = field(default_factory=set)
    retry_keys: set[str] = field(default_factory=set)
    contents: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    send_delay: Callable[[dict], float] | None = None  # seconds a reply or push takes (given its body): a slow call
    failures: list[int] = field(default_factory=list)  # HTTP statuses for the next replies or pushes

    def texts_to(self, user_id: str) -> list[str]:
        """What reached the worker, replies and pushes in order."""
        with self.lock:
            out = []
            for kind, body in sorted([*(("r", b) for b in self.replies), *(("p", b) for b in self.pushes)], key=lambda x: x[1]["_seq"]):
                if kind == "p" and body["to"] != user_id:
                    continue
                if kind == "r" and body.get("_user") != user_id:
                    continue
                out += [message["text"] for message in body["messages"]]
            return out


class FakeLineServer:
    def __init__(self, access_token: str) -> None:
        self.fake = FakeLine(access_token)
        self._seq = 0
        fake, outer = self.fake, self

        class Handler(QuietJsonHandler):
            def _authorized(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {fake.access_token}":
                    self._reply(401, {"message": "Authentication failed. Confirm that the access token in the authorization header is valid."})
                    return False
                return True

            def do_GET(self) -> None:
                fake.calls.append("GET " + self.path.split("?")[0])
                if not self._authorized():
                    return None
                if self.path == "/v2/bot/message/quota":
                    return self._reply(200, {"type": "none"} if fake.quota is None else {"type": "limited", "value": fake.quota})
                if self.path == "/v2/bot/message/quota/consumption":
                    return self._reply(200, {"totalUsage": fake.used})
                if self.path.startswith("/v2/bot/message/") and self.path.endswith("/content"):
                    message_id = self.path.split("/")[4]
                    if message_id in fake.contents:
                        content_type, data = fake.contents[message_id]
                        return self._reply(200, data, content_type)
                return self._reply(404, {"message": "Not found"})

            def do_POST(self) -> None:
                fake.calls.append("POST " + self.path)
                if not self._authorized():
                    return None
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if fake.send_delay is not None:
                    time.sleep(fake.send_delay(body))
                with fake.lock:
                    if fake.failures and self.path in ("/v2/bot/message/reply", "/v2/bot/message/push"):
                        return self._reply(fake.failures.pop(0), {"message": "simulated error"})
                    outer._seq += 1
                    body["_seq"] = outer._seq
                    if self.path == "/v2/bot/message/reply":
                        token = body.get("replyToken")
                        if token not in fake.valid_tokens:
                            return self._reply(400, {"message": "Invalid reply token"})
                        fake.valid_tokens.discard(token)
                        body["_user"] = token.split(":")[0]
                        fake.replies.append(body)
                        return self._reply(200, {"sentMessages": [{"id": str(900 + outer._seq), "quoteToken": "q"}]})
                    if self.path == "/v2/bot/message/push":
                        key = self.headers.get("X-Line-Retry-Key")
                        if key in fake.retry_keys:
                            return self._reply(409, {"message": "The retry key is already accepted"})
                        if fake.quota is not None and fake.used >= fake.quota:
                            return self._reply(429, {"message": "You have reached your monthly limit."})
                        fake.retry_keys.add(key)
                        fake.used += 1
                        fake.pushes.append(body)
                        return self._reply(200, {"sentMessages": [{"id": str(900 + outer._seq), "quoteToken": "q"}]})
                return self._reply(404, {"message": "Not found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.fake.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeLine:
        self.thread.start()
        return self.fake

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def line_sign(channel_secret: str, raw: bytes) -> str:
    return base64.b64encode(hmac.new(channel_secret.encode(), raw, hashlib.sha256).digest()).decode()


def line_webhook(*events: dict, destination: str = "U" + "0" * 32) -> dict:
    return {"destination": destination, "events": list(events)}


def _base(kind: str, user_id: str, event_id: str, *, source: dict | None = None, redelivery: bool = False) -> dict:
    return {"type": kind, "mode": "active", "timestamp": 1764400000000, "source": source or {"type": "user", "userId": user_id},
            "webhookEventId": event_id, "deliveryContext": {"isRedelivery": redelivery}}


def text_event(user_id: str, event_id: str, message_id: str, text: str, reply_token: str, **options) -> dict:
    return {**_base("message", user_id, event_id, **options), "replyToken": reply_token,
            "message": {"id": message_id, "type": "text", "quoteToken": "q" + message_id, "text": text}}


def image_event(user_id: str, event_id: str, message_id: str, reply_token: str) -> dict:
    return {**_base("message", user_id, event_id), "replyToken": reply_token,
            "message": {"id": message_id, "type": "image", "quoteToken": "q" + message_id,
                        "contentProvider": {"type": "line"}}}


def sticker_event(user_id: str, event_id: str, message_id: str, reply_token: str) -> dict:
    return {**_base("message", user_id, event_id), "replyToken": reply_token,
            "message": {"id": message_id, "type": "sticker", "quoteToken": "q", "packageId": "446", "stickerId": "1988",
                        "stickerResourceType": "STATIC"}}


def follow_event(user_id: str, event_id: str, reply_token: str) -> dict:
    return {**_base("follow", user_id, event_id), "replyToken": reply_token, "follow": {"isUnblocked": False}}


def unfollow_event(user_id: str, event_id: str) -> dict:
    return _base("unfollow", user_id, event_id)


def group_text_event(user_id: str, event_id: str, text: str, reply_token: str) -> dict:
    source = {"type": "group", "groupId": "C" + "1" * 32, "userId": user_id}
    return text_event(user_id, event_id, "1", text, reply_token, source=source)
