"""Polling mode: getUpdates in a loop, each update through the webhook's own handler.

For deployments without a public HTTPS address. It runs as its own process
(`grievance telegram poll`, started by `grievance serve --telegram-polling`
beside gunicorn), so no event loop or open connection is ever inherited by a
forked web worker. On start it removes any webhook (getUpdates refuses to work
while one is set), keeping pending updates. An update is confirmed to Telegram
(the next offset) only after it was handled; one that failed is tried again,
with a growing pause (Telegram keeps updates 24 h, and the receipts make a
repeat harmless). Its last try (`MAX_TRIES`) refuses a file Telegram still
cannot give rather than wait for it. An update that fails that often while the
database answers is poison (a crafted file, a bug): it is skipped, so the
workers behind it are answered. While the database is away nothing is skipped.
Failures are counted per update_id only: nothing of the update is kept.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout

from .telegram import ALLOWED_UPDATES, HANDLED, MALFORMED, MAX_TRIES, RETRY_LATER, TelegramAdapter
from .telegram_api import TelegramCallError

log = logging.getLogger(__name__)

MAX_PAUSE = 30.0


class Poller:
    """Long-polls Telegram for one adapter until `stop()`."""

    def __init__(self, adapter: TelegramAdapter, *, poll_timeout: int = 25, first_pause: float = 1.0) -> None:
        self.adapter = adapter
        self.api = adapter.api
        self.poll_timeout = poll_timeout
        self.first_pause = first_pause
        self._stop = threading.Event()
        self.offset: int | None = None
        self.failures: dict[int, int] = {}  # update_id -> failed tries (no content), while it is retried
        self.skipped = 0  # poison updates given up, since start

    def stop(self) -> None:
        """Ask the loop to end; a long poll in flight is cancelled at once."""
        self._stop.set()

    def run(self) -> None:
        """Poll and handle until stopped."""
        pause = self.first_pause
        while not self._stop.is_set():
            try:
                self.api.delete_webhook()
                break
            except TelegramCallError as error:
                log.warning("telegram: cannot remove the webhook yet (%s)", error.kind)
                pause = self._pause(pause)
        log.info("telegram polling started")
        pause = self.first_pause
        while not self._stop.is_set():
            try:
                updates = self._fetch()
            except TelegramCallError as error:
                # Conflict: another poller (or a webhook) is active; InvalidToken: fix the config.
                log.warning("telegram: getUpdates failed (%s)", error.kind)
                pause = self._pause(pause)
                continue
            pause = self.first_pause
            for data in updates or []:
                if not self._handle(data):
                    break
        self._confirm()
        log.info("telegram polling stopped")

    def _fetch(self) -> list | None:
        future = self.api.updates_soon(self.offset, self.poll_timeout, ALLOWED_UPDATES)
        deadline = time.monotonic() + self.poll_timeout + 30
        while True:
            if self._stop.is_set():
                future.cancel()
                return None
            try:
                result = future.result(timeout=0.2)
            except FutureTimeout:
                if time.monotonic() > deadline:
                    future.cancel()
                    raise TelegramCallError("TimedOut", retryable=True) from None
                continue
            return result if isinstance(result, list) else []

    def _handle(self, data: object) -> bool:
        """Handle one update until it is done or given up as poison; False if stopped before."""
        update_id = data.get("update_id") if isinstance(data, dict) else None
        key = update_id if isinstance(update_id, int) else -1
        pause = self.first_pause
        while True:
            last_try = self.failures.get(key, 0) + 1 >= MAX_TRIES
            try:
                status = self.adapter.handle_update(data, last_try=last_try)
            except Exception:  # a bug must not end the poller; the update is tried again
                log.exception("telegram update crashed the handler")
                status = RETRY_LATER
            if status in (HANDLED, MALFORMED):  # a malformed update is refused, as the webhook answers 400
                break
            self.failures[key] = self.failures.get(key, 0) + 1
            if last_try and self._database_answers():
                self.skipped += 1
                log.error("telegram update skipped: it failed every try", extra={"count": self.failures[key]})
                break
            if self._stop.is_set():
                return False
            pause = self._pause(pause)  # RETRY_LATER: the database or Telegram is away for now
            if self._stop.is_set():
                return False
        self.failures.pop(key, None)
        if isinstance(update_id, int):
            self.offset = update_id + 1
        return True

    def _database_answers(self) -> bool:
        return self.adapter.database_answers()

    def _pause(self, pause: float) -> float:
        self._stop.wait(pause)
        return min(pause * 2, MAX_PAUSE)

    def _confirm(self) -> None:
        """Tell Telegram which updates were handled, so a restart does not fetch them again."""
        if self.offset is None:
            return
        try:
            self.api.updates_soon(self.offset, 0, ALLOWED_UPDATES).result(timeout=10)
        except Exception:  # noqa: S110  a restart would only see them again, and the receipts ignore repeats
            pass


def poll_until_signalled(adapter: TelegramAdapter) -> None:
    """Run a `Poller` in this (main) thread until SIGTERM or Ctrl-C."""
    import signal

    poller = Poller(adapter)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: poller.stop())
    poller.run()
