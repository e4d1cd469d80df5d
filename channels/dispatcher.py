"""The dispatcher: sends queued outbound messages through their adapters, within rate limits.

It runs in the maintenance loop (`grievance forward --loop`) and, for the
replies a webhook just queued, at once in a background thread of the web
worker (`kick`), so a worker on Telegram or WhatsApp gets an answer in well
under a second. Claims in the queue keep two dispatchers from sending one
message twice.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta

from bot.config import RateLimit
from bot.messages import ReplyAddress
from storage.outbound import OutboundItem, OutboundQueue, exact_now

from .base import ChannelAdapter, SendError

log = logging.getLogger(__name__)

# The queued message an adapter's `send` runs for (None outside a dispatcher). An adapter that
# learns of delivery failures later (Twilio's status callbacks) carries its attempt count on,
# so the retries it triggers stay bounded.
SENDING: ContextVar[OutboundItem | None] = ContextVar("sending", default=None)


@dataclass(frozen=True)
class DispatchResult:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    deferred: int = 0


class RateLimiter:
    """Token bucket per adapter, and a minimum interval per address (kept as a hash)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._tokens: dict[str, tuple[float, float]] = {}  # adapter -> (tokens, at)
        self._last_sent: dict[str, float] = {}  # hash of adapter+address -> when
        self._lock = threading.Lock()

    def wait(self, adapter: str, rate: RateLimit | None, address: str) -> float:
        """Seconds to wait before sending; 0 means go, and the send is counted."""
        if rate is None:
            return 0.0
        now = self.clock()
        key = hashlib.sha256(f"{adapter}\x00{address}".encode()).hexdigest()
        with self._lock:
            since = now - self._last_sent.get(key, float("-inf"))
            if since < rate.per_address_interval_seconds:
                return rate.per_address_interval_seconds - since
            tokens, at = self._tokens.get(adapter, (rate.messages_per_second, now))
            tokens = min(rate.messages_per_second, tokens + (now - at) * rate.messages_per_second)
            if tokens < 1:
                return (1 - tokens) / rate.messages_per_second
            self._tokens[adapter] = (tokens - 1, now)
            self._last_sent[key] = now
            return 0.0


class Dispatcher:
    """Sends what the outbound queue holds for the adapters it knows."""

    def __init__(
        self,
        queue: OutboundQueue,
        adapters: dict[str, ChannelAdapter],
        *,
        max_attempts: int = 8,
        record_ref: Callable[[ReplyAddress, str], None] | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.queue = queue
        self.adapters = adapters
        self.max_attempts = max_attempts
        self.record_ref = record_ref
        self.limiter = limiter or RateLimiter()
        self._background: ThreadPoolExecutor | None = None

    def run_once(self, ids: list[str] | None = None, limit: int = 100) -> DispatchResult:
        """Send every due message (or only `ids`) once."""
        if not self.adapters:
            return DispatchResult()
        sent = retried = dead = deferred = 0
        for item in self.queue.claim_due(set(self.adapters), limit=limit, ids=ids):
            adapter = self.adapters[item.address.adapter]
            wait = self.limiter.wait(adapter.type, adapter.rate, item.address.address)
            if wait > 0:
                self.queue.release(item.id, exact_now() + timedelta(seconds=wait))
                deferred += 1
                continue
            token = SENDING.set(item)
            try:
                ref = adapter.send(item.address, item.text, item.choices)
            except SendError as error:
                is_dead = self.queue.failed(item.id, f"{type(error).__name__}: {error}", error.retryable, self.max_attempts)
                dead += is_dead
                retried += not is_dead
                log.warning("send failed", extra={"channel": item.address.channel, "attempts": item.attempts + 1, "dead": is_dead})
                continue
            except Exception as error:  # an adapter bug must not stop the other messages
                log.exception("send crashed")
                self.queue.failed(item.id, type(error).__name__, True, self.max_attempts)
                retried += 1
                continue
            finally:
                SENDING.reset(token)
            self.queue.sent(item.id)
            sent += 1
            if ref and adapter.keeps_message_refs and self.record_ref:
                self.record_ref(item.address, ref)
        return DispatchResult(sent, retried, dead, deferred)

    def kick(self, ids: tuple[str, ...]) -> None:
        """Send these freshly queued messages soon, off the request thread."""
        if not ids:
            return
        if self._background is None:
            self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dispatch")
        self._background.submit(self._run_quietly, list(ids))

    def _run_quietly(self, ids: list[str]) -> None:
        try:
            self.run_once(ids=ids)
        except Exception:  # the maintenance loop retries whatever is left
            log.exception("background dispatch failed")

    def close(self) -> None:
        if self._background is not None:
            self._background.shutdown(wait=True)
            self._background = None
