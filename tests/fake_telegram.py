"""A fake Telegram Bot API on 127.0.0.1, for the Telegram adapter's outbound calls.

It implements what the adapter calls, at `/bot<TOKEN>/<method>` (form-encoded
parameters, as python-telegram-bot posts them) with Telegram's JSON envelope:
getMe, sendMessage, deleteMessage, deleteMessages, answerCallbackQuery,
editMessageReplyMarkup, getFile, getUpdates (a scripted list of updates, then
empty after a short wait, honouring `offset`), setWebhook, deleteWebhook; and
file downloads at `/file/bot<TOKEN>/<path>`. A wrong token gets 401, as from
Telegram. Calls are recorded; the next calls of a method can be made to fail
with a given status, description and parameters (e.g. retry_after), and sendMessage
can be made slow (`send_delay`).

Message ids are counted per chat, shared by the worker's and the bot's
messages, as in a real private chat; tests take the worker's from `next_id`.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fake_http import QuietJsonHandler
from urllib.parse import parse_qsl, unquote

BOT_USER = {"id": 4242000001, "is_bot": True, "first_name": "Hotline", "username": "hotline_test_bot",
            "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}
JSON_PARAMETERS = {"reply_markup", "message_ids", "allowed_updates", "chat_id", "message_id", "offset", "timeout", "limit",
                   "drop_pending_updates"}


@dataclass
class Call:
    method: str
    params: dict


@dataclass
class FakeTelegram:
    """State of the fake: what it was asked, what it holds, how it fails next."""

    token: str
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)  # served by getUpdates
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # file_id -> (file_path, bytes)
    failures: dict[str, list[tuple[int, str, dict | None]]] = field(default_factory=dict)
    max_wait: float = 0.2  # how long an empty getUpdates waits, whatever `timeout` asks
    # Seconds a sendMessage takes before Telegram takes the message (given its params): a slow call.
    send_delay: Callable[[dict], float] | None = None
    lock: threading.Condition = field(default_factory=threading.Condition)
    _ids: dict[int, int] = field(default_factory=dict)

    # ------------------------------------------------------------ for tests

    def next_id(self, chat_id: int) -> int:
        with self.lock:
            self._ids[chat_id] = self._ids.get(chat_id, 0) + 1
            return self._ids[chat_id]

    def fail_next(self, method: str, status: int, description: str, parameters: dict | None = None, times: int = 1) -> None:
        with self.lock:
            self.failures.setdefault(method, []).extend([(status, description, parameters)] * times)

    def push_updates(self, *updates: dict) -> None:
        with self.lock:
            self.updates.extend(updates)
            self.lock.notify_all()

    def called(self, method: str) -> list[dict]:
        with self.lock:
            return [call.params for call in self.calls if call.method == method]

    def sent(self, chat_id: int | None = None) -> list[dict]:
        """sendMessage calls that succeeded (their params, with the given message_id)."""
        return [p for p in self.called("sendMessage") if "message_id" in p and (chat_id is None or p["chat_id"] == chat_id)]

    def wait_for(self, predicate, timeout: float = 10.0, what: str = "the fake Telegram server to be called"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}")

    # ------------------------------------------------------------ the API

    def answer(self, method: str, params: dict) -> tuple[int, dict]:
        if method == "sendMessage" and self.send_delay is not None:
            time.sleep(self.send_delay(params))
        with self.lock:
            queued = self.failures.get(method)
            if queued:
                status, description, parameters = queued.pop(0)
                self.calls.append(Call(method, {**params, "failed": status}))
                body = {"ok": False, "error_code": status, "description": description}
                return status, ({**body, "parameters": parameters} if parameters else body)
            call = Call(method, params)
            self.calls.append(call)
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
        return 200, {"ok": True, "result": handler(call)}

    def _getMe(self, call: Call):
        return BOT_USER

    def _sendMessage(self, call: Call):
        chat_id = call.params["chat_id"]
        message_id = self.next_id(chat_id)
        call.params["message_id"] = message_id
        message = {"message_id": message_id, "from": BOT_USER, "date": int(time.time()),
                   "chat": {"id": chat_id, "type": "private", "first_name": "Worker"}, "text": call.params["text"]}
        if isinstance(call.params.get("reply_markup"), dict) and "inline_keyboard" in call.params["reply_markup"]:
            message["reply_markup"] = call.params["reply_markup"]
        return message

    def _deleteMessage(self, call: Call):
        return True

    def _deleteMessages(self, call: Call):
        return True

    def _answerCallbackQuery(self, call: Call):
        return True

    def _editMessageReplyMarkup(self, call: Call):
        return True

    def _setWebhook(self, call: Call):
        return True

    def _deleteWebhook(self, call: Call):
        return True

    def _getFile(self, call: Call):
        file_id = call.params["file_id"]
        path, data = self.files[file_id]
        return {"file_id": file_id, "file_unique_id": "u" + file_id, "file_size": len(data), "file_path": path}

    def _getUpdates(self, call: Call):
        offset = call.params.get("offset") or 0
        wait = min(float(call.params.get("timeout") or 0), self.max_wait)
        deadline = time.monotonic() + wait
        with self.lock:
            while True:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]  # confirmed ones are gone
                if self.updates or time.monotonic() >= deadline:
                    return list(self.updates)
                self.lock.wait(deadline - time.monotonic())


def _handler(fake: FakeTelegram) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietJsonHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects of an API server

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            prefix = f"/bot{fake.token}/"
            if not self.path.startswith(prefix):
                self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                return
            if self.headers.get("Content-Type", "").startswith("application/json"):
                params = json.loads(body or "{}")
            else:
                params = {k: json.loads(v) if k in JSON_PARAMETERS else v for k, v in parse_qsl(body)}
            self._reply(*fake.answer(self.path[len(prefix):], params))

        def do_GET(self) -> None:
            prefix = f"/file/bot{fake.token}/"
            by_path = {path: data for path, data in fake.files.values()}
            requested = unquote(self.path)  # httpx sends the token's ":" as %3A
            path = requested[len(prefix):]
            if not requested.startswith(prefix) or path not in by_path:
                self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                return
            with fake.lock:
                fake.calls.append(Call("download", {"path": path}))
            self._reply(200, by_path[path], "application/octet-stream")

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A client that hangs up mid-answer (a long poll cancelled at shutdown) is normal here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeTelegramServer:
    """Runs a `FakeTelegram` in a thread; use as a context manager."""

    def __init__(self, token: str) -> None:
        self.fake = FakeTelegram(token)
        self.server = _Server(("127.0.0.1", 0), _handler(self.fake))
        self.fake.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-telegram", daemon=True)

    def __enter__(self) -> FakeTelegram:
        self.thread.start()
        return self.fake

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


# ---------------------------------------------------------------- updates in Telegram's format

WORKER = {"id": 987654321, "is_bot": False, "first_name": "Worker", "language_code": "en"}


def private_chat(chat_id: int) -> dict:
    return {"id": chat_id, "type": "private", "first_name": "Worker"}


def text_update(update_id: int, chat_id: int, message_id: int, text: str, chat: dict | None = None) -> dict:
    return {"update_id": update_id, "message": {
        "message_id": message_id, "from": {**WORKER, "id": chat_id}, "chat": chat or private_chat(chat_id),
        "date": int(time.time()), "text": text,
        **({"entities": [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]} if text.startswith("/") else {}),
    }}


def photo_update(update_id: int, chat_id: int, message_id: int, sizes: list[tuple[str, int, int, int]], caption: str | None = None) -> dict:
    """sizes: (file_id, width, height, file_size), smallest first, as Telegram sends them."""
    photo = [{"file_id": f, "file_unique_id": "u" + f, "width": w, "height": h, "file_size": s} for f, w, h, s in sizes]
    message = {"message_id": message_id, "from": {**WORKER, "id": chat_id}, "chat": private_chat(chat_id),
               "date": int(time.time()), "photo": photo}
    if caption:
        message["caption"] = caption
    return {"update_id": update_id, "message": message}


def voice_update(update_id: int, chat_id: int, message_id: int, file_id: str, size: int) -> dict:
    voice = {"file_id": file_id, "file_unique_id": "u" + file_id, "duration": 4, "mime_type": "audio/ogg", "file_size": size}
    return {"update_id": update_id, "message": {"message_id": message_id, "from": {**WORKER, "id": chat_id},
                                                "chat": private_chat(chat_id), "date": int(time.time()), "voice": voice}}


def press_update(update_id: int, chat_id: int, bot_message: dict, data: str) -> dict:
    """A tap on an inline button of `bot_message` (a recorded sendMessage)."""
    message = {"message_id": bot_message["message_id"], "from": BOT_USER, "chat": private_chat(chat_id),
               "date": int(time.time()), "text": bot_message["text"], "reply_markup": bot_message.get("reply_markup")}
    return {"update_id": update_id, "callback_query": {
        "id": f"{chat_id}{update_id}", "from": {**WORKER, "id": chat_id}, "message": message,
        "chat_instance": "-1234567890123456789", "data": data,
    }}
