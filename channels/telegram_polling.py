"""Polling mode: getUpdates in a loop, each update through the webhook's own handler.

For deployments without a public HTTPS address. It runs as its own process
(`grievance telegram poll`, started by `grievance serve --telegram-polling`
beside gunicorn), so no event loop or open connection is ever inherited by a
forked web worker. On start it removes any webhook (getUpdates refuses to work
while one is set), keeping pending updates. An update is confirmed to Telegram
(the next offset) only after it was handled; one that failed is tried again,
with a growing pause, and never skipped: "nothing lost" beats "keep going"
(Telegram keeps updates 24 h, and the receipts make a repeat harmless).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout

from .telegram import ALLOWED_UPDATES, HANDLED, MALFORMED, RETRY_LATER, TelegramAdapter
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
        """Handle one update until it is done; False if stopped before."""
        update_id = data.get("update_id") if isinstance(data, dict) else None
        pause = self.first_pause
        while True:
            try:
                status = self.adapter.handle_update(data)
            except Exception:  # a bug must not end the poller; the update is tried again
                log.exception("telegram update crashed the handler")
                status = RETRY_LATER
            if status in (HANDLED, MALFORMED):  # a malformed update is refused, as the webhook answers 400
                break
            if self._stop.is_set():
                return False
            pause = self._pause(pause)  # RETRY_LATER: the database or Telegram is away for now
            if self._stop.is_set():
                return False
        if isinstance(update_id, int):
            self.offset = update_id + 1
        return True

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
