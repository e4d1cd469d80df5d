"""A fake of Meta's Graph API on 127.0.0.1, for the WhatsApp Cloud adapter's outbound calls.

It answers what the adapter calls: `POST /<version>/<phone-number-id>/messages`
(with a fresh wamid, or a configured error in Graph's error format),
`GET /<version>/<media-id>` (the media's URL and type) and the download of
that URL. Every call needs the right Bearer token, as Graph does. Requests are
recorded (method, path, headers, JSON body) for tests to check; a send can be made slow
(`send_delay`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fake_http import QuietJsonHandler

VERSION = "v21.0"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: dict | None
    accepted: bool = False  # a message the fake "sent"


@dataclass
class FakeGraph:
    """State of the fake: what it was asked, what it holds and how it should fail next."""

    access_token: str
    phone_number_id: str
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    media: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # media id -> (mime type, bytes)
    failures: list[tuple[int, int | None]] = field(default_factory=list)  # (HTTP status, Graph code) for the next sends
    media_failures: list[tuple[int, int | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Seconds a message send takes before Graph takes it (given its body): a slow call.
    send_delay: Callable[[dict], float] | None = None
    _count: int = 0

    def sent(self) -> list[dict]:
        """Bodies of the messages the fake accepted, in order."""
        with self.lock:
            return [r.body for r in self.requests if r.accepted and r.body is not None]

    def next_wamid(self) -> str:
        self._count += 1
        return f"wamid.HBgLMTIzNDU2Nzg5MBUCABIYFjNFQjA{self._count:06d}"


def graph_error(status: int, code: int | None) -> tuple[int, dict]:
    error = {"message": "(#%s) simulated error" % code, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}
    return status, {"error": error}


def _handler(fake: FakeGraph) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietJsonHandler):

        def _record(self, body: dict | None) -> Recorded:
            entry = Recorded(self.command, self.path, dict(self.headers.items()), body)
            with fake.lock:
                fake.requests.append(entry)
            return entry

        def _authorized(self) -> bool:
            if self.headers.get("Authorization") == f"Bearer {fake.access_token}":
                return True
            self._reply(*graph_error(401, 190))
            return False

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if fake.send_delay is not None:
                time.sleep(fake.send_delay(body))
            entry = self._record(body)
            if not self._authorized():
                return
            if self.path != f"/{VERSION}/{fake.phone_number_id}/messages":
                self._reply(*graph_error(400, 100))
                return
            with fake.lock:
                failure = fake.failures.pop(0) if fake.failures else None
                wamid = None if failure else fake.next_wamid()
            if failure:
                self._reply(*graph_error(*failure))
                return
            entry.accepted = True
            self._reply(200, {"messaging_product": "whatsapp", "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                              "messages": [{"id": wamid}]})

        def do_GET(self) -> None:
            self._record(None)
            if not self._authorized():
                return
            parts = self.path.strip("/").split("/")
            with fake.lock:
                failure = fake.media_failures.pop(0) if fake.media_failures else None
            if failure:
                self._reply(*graph_error(*failure))
            elif len(parts) == 2 and parts[0] == VERSION and parts[1] in fake.media:
                mime, data = fake.media[parts[1]]
                self._reply(200, {"messaging_product": "whatsapp", "url": f"{fake.url.rsplit('/', 1)[0]}/download/{parts[1]}?ext=1",
                                  "mime_type": mime, "sha256": "0" * 64, "file_size": len(data), "id": parts[1]})
            elif len(parts) == 2 and parts[0] == "download" and parts[1].split("?")[0] in fake.media:
                mime, data = fake.media[parts[1].split("?")[0]]
                self._reply(200, data, content_type=mime)
            else:
                self._reply(*graph_error(404, 100))

    return Handler


class FakeGraphServer:
    """Runs a `FakeGraph` in a thread; use as a context manager."""

    def __init__(self, access_token: str, phone_number_id: str) -> None:
        self.fake = FakeGraph(access_token, phone_number_id)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.fake))
        self.server.daemon_threads = True
        host, port = self.server.server_address[:2]
        self.fake.url = f"http://{host}:{port}/{VERSION}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-graph", daemon=True)

    def __enter__(self) -> FakeGraph:
        self.thread.start()
        return self.fake

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
