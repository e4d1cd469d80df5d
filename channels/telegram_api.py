"""The Telegram Bot API from synchronous code: python-telegram-bot's asyncio `Bot` on one loop.

python-telegram-bot 22 is asyncio; Flask (under gunicorn's threads), the
dispatcher's background thread and the poller are not. The boundary: each
`TelegramApi` owns ONE event loop, run by one daemon thread that starts on
first use (so a gunicorn master that never sends starts no thread before it
forks) and stops in `close()`. Synchronous callers submit a coroutine with
`asyncio.run_coroutine_threadsafe` and wait for its result with a timeout.
No loop is made per request, and nothing blocking ever runs inside the loop.

Errors come out as `TelegramCallError`, whose message is only the kind of
failure: python-telegram-bot's own messages can carry Telegram's description
and, for a rejected token, the token itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures import wait as wait_futures
from typing import Any, TypeVar

from telegram import Bot, InlineKeyboardMarkup, ReplyKeyboardRemove
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

# Opt in to python-telegram-bot's coming time periods (timedelta): without it, merely raising a
# flood-control error (RetryAfter) emits a deprecation warning. Nothing here reads a time period.
os.environ.setdefault("PTB_TIMEDELTA", "1")

T = TypeVar("T")
CALL_TIMEOUT = 30.0  # outer bound of one API call, above httpx's own timeouts
DOWNLOAD_TIMEOUT = 60.0
DELETE_BATCH = 100  # deleteMessages takes 1 to 100 ids


class TelegramCallError(Exception):
    """A Bot API call failed; `kind` is the error's class name, `retryable` whether trying later can help."""

    def __init__(self, kind: str, *, retryable: bool) -> None:
        super().__init__(f"telegram {kind}")
        self.kind = kind
        self.retryable = retryable


def call_error(error: BaseException) -> TelegramCallError:
    """Map python-telegram-bot's errors (checked in this order: BadRequest is a NetworkError)."""
    kind = type(error).__name__
    if isinstance(error, (Forbidden, BadRequest, ChatMigrated)):  # blocked by the worker, bad chat, not private
        return TelegramCallError(kind, retryable=False)
    if isinstance(error, (RetryAfter, NetworkError)):  # flood control, timeouts, 5xx, connection errors
        return TelegramCallError(kind, retryable=True)
    # InvalidToken, Conflict, anything else: a deployment problem, not this message's; keep it for later.
    return TelegramCallError(kind if isinstance(error, TelegramError) else "Error", retryable=True)


class _QuietRequest(HTTPXRequest):
    """The library logs an unparsable server response in full at ERROR (it may hold workers' texts)."""

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict:
        try:
            return json.loads(payload.decode("utf-8", "replace"))
        except ValueError:
            raise TelegramError("Invalid server response") from None


class TelegramApi:
    """The few Bot API methods the adapter uses, as blocking calls with timeouts."""

    def __init__(self, token: str, base_url: str, base_file_url: str) -> None:
        # Sensible bounds: a call never waits forever on a slow network or a stuck connection pool.
        request = _QuietRequest(connection_pool_size=8, connect_timeout=5.0, read_timeout=10.0, write_timeout=10.0,
                                pool_timeout=5.0, media_write_timeout=20.0)
        polling = _QuietRequest(connection_pool_size=1, connect_timeout=5.0, read_timeout=10.0, write_timeout=10.0, pool_timeout=5.0)
        self.bot = Bot(token, base_url=base_url, base_file_url=base_file_url, request=request, get_updates_request=polling)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._ready: asyncio.Lock | None = None
        self._initialized = False
        self._closed = False
        self._pending: set[Future] = set()

    # ------------------------------------------------------------ the loop

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise TelegramCallError("Closed", retryable=True)
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, name="telegram-loop", daemon=True)
                self._thread.start()
            return self._loop

    async def _guarded(self, call: Callable[[Bot], Awaitable[T]]) -> T:
        if self._ready is None:
            self._ready = asyncio.Lock()
        async with self._ready:
            if not self._initialized:  # initialize() calls getMe once and checks the token
                try:
                    await self.bot.initialize()
                except TelegramError as error:
                    raise call_error(error) from None
                self._initialized = True
        try:
            return await call(self.bot)
        except TelegramError as error:
            raise call_error(error) from None

    def start(self, call: Callable[[Bot], Awaitable[T]]) -> Future:
        """Run a call on the loop without waiting; errors are the future's."""
        loop = self._running_loop()  # first: a coroutine made for a closed adapter would never be awaited
        future = asyncio.run_coroutine_threadsafe(self._guarded(call), loop)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        return future

    def run(self, call: Callable[[Bot], Awaitable[T]], timeout: float = CALL_TIMEOUT) -> T:
        """Run a call on the loop and wait for it; raises `TelegramCallError`."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("a blocking Telegram call from inside its own event loop would deadlock")
        future = self.start(call)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise TelegramCallError("TimedOut", retryable=True) from None

    def close(self) -> None:
        """Let calls in flight finish (briefly), shut the HTTP clients down, stop and close the loop."""
        with self._lock:
            loop, self._loop, self._closed = self._loop, None, True
        if loop is None:  # never used, or closed already
            return
        wait_futures(list(self._pending), timeout=5)
        try:
            asyncio.run_coroutine_threadsafe(self._finish(), loop).result(10)
        except Exception:  # noqa: S110  closing is best effort; the process may be exiting anyway
            pass
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        if not loop.is_running():
            loop.close()

    async def _finish(self) -> None:
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.bot.shutdown()
        await asyncio.get_running_loop().shutdown_asyncgens()

    # ------------------------------------------------------------ the methods used

    def send_message(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | ReplyKeyboardRemove | None) -> int:
        message = self.run(lambda bot: bot.send_message(chat_id, text, reply_markup=markup))
        return message.message_id

    def delete_messages(self, chat_id: int, ids: Sequence[int]) -> int:
        """Delete these messages (best effort); returns how many could not be deleted."""
        return self.run(lambda bot: self._delete_all(bot, chat_id, ids), timeout=4 * CALL_TIMEOUT)

    def delete_messages_soon(self, chat_id: int, ids: Sequence[int]) -> Future:
        """The same, without waiting: the future's result is the count of messages not deleted."""
        return self.start(lambda bot: self._delete_all(bot, chat_id, ids))

    @staticmethod
    async def _delete_all(bot: Bot, chat_id: int, ids: Sequence[int]) -> int:
        failed = 0
        for start in range(0, len(ids), DELETE_BATCH):
            batch = list(ids[start : start + DELETE_BATCH])
            try:
                await bot.delete_messages(chat_id, batch)  # skips the ones it cannot delete
                continue
            except TelegramError:
                pass  # e.g. a Bot API server without deleteMessages: one by one
            for message_id in batch:
                try:
                    await bot.delete_message(chat_id, message_id)
                except TelegramError:  # too old (48 h), already gone: nothing more to do
                    failed += 1
        return failed

    def answer_callback_soon(self, callback_id: str) -> Future:
        return self.start(lambda bot: bot.answer_callback_query(callback_id))

    def remove_keyboard_soon(self, chat_id: int, message_id: int) -> Future:
        return self.start(lambda bot: bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id, reply_markup=None))

    def download(self, file_id: str, max_bytes: int) -> bytes | None:
        """The file's bytes, or None when Telegram says it is larger than `max_bytes`."""

        async def fetch(bot: Bot) -> bytes | None:
            file = await bot.get_file(file_id)
            if file.file_size is not None and file.file_size > max_bytes:
                return None
            return bytes(await file.download_as_bytearray())

        return self.run(fetch, timeout=DOWNLOAD_TIMEOUT)

    def updates_soon(self, offset: int | None, timeout: int, allowed: Sequence[str]) -> Future:
        """getUpdates as raw JSON dicts: each update is then parsed on its own (see telegram_updates)."""
        data: dict[str, Any] = {"timeout": timeout, "allowed_updates": list(allowed)}
        if offset is not None:
            data["offset"] = offset
        # `Bot.get_updates` parses the whole batch at once and, if that fails, logs the raw batch
        # (workers' texts) at CRITICAL and fails every later poll too; `do_api_request` warns for
        # known methods. So the raw call, with a read timeout above the long-poll timeout.
        return self.start(lambda bot: bot._post("getUpdates", data, read_timeout=timeout + 10.0))

    def set_webhook(self, url: str, secret: str, allowed: Sequence[str]) -> None:
        self.run(lambda bot: bot.set_webhook(url, secret_token=secret, allowed_updates=list(allowed), drop_pending_updates=False))

    def delete_webhook(self) -> None:
        self.run(lambda bot: bot.delete_webhook(drop_pending_updates=False))
