"""The dispatcher: sends queued outbound messages through their adapters, each chat's in order, within rate limits.

It runs in the maintenance loop (`grievance forward --loop`) and, for the
replies a webhook just queued, at once in a background thread of the web
worker (`kick`), so a worker on Telegram or WhatsApp gets an answer in well
under a second. The queue (storage/outbound.py) hands out one message of a
chat at a time, the first in line: whoever sends it also sends the chat's next
one as it settles it, so a reply queued while an earlier one of the same chat
is out (by another thread or process) follows it without waiting for the
maintenance loop. A message the rate limit holds back is kicked again when due.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy.orm import Session

from bot.config import RateLimit
from bot.messages import ReplyAddress
from storage.outbound import OutboundItem, OutboundQueue, exact_now

from .base import ChannelAdapter, SendError

log = logging.getLogger(__name__)

# The queued message an adapter's `send` runs for (None outside a dispatcher). An adapter that
# learns of delivery failures later (Twilio's status callbacks) carries its attempt count on,
# so the retries it triggers stay bounded, and keeps its pieces in the message's place in line.
SENDING: ContextVar[OutboundItem | None] = ContextVar("sending", default=None)

REKICK_WITHIN_SECONDS = 5.0  # a message held back by the rate limit for longer waits for the maintenance loop
REPLY_TOKEN_SECONDS = 300.0  # how long a reply token given by a webhook is offered to its message


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
        record_ref: Callable[[ReplyAddress, str, Session], None] | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.queue = queue
        self.adapters = adapters
        self.max_attempts = max_attempts
        self.record_ref = record_ref  # keeps a sent message's id for DELETE, in the transaction that settles it
        self.limiter = limiter or RateLimiter()
        self._background: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._timers: set[threading.Timer] = set()
        self._reply_tokens: dict[str, tuple[str, float]] = {}  # message id -> (token, given at); memory only

    def run_once(self, ids: list[str] | None = None, limit: int = 100) -> DispatchResult:
        """Send every due message (or only those of the chats of `ids`) once, each chat's in order."""
        return self._run(ids, limit, background=False)

    def _run(self, ids: list[str] | None, limit: int, *, background: bool) -> DispatchResult:
        if not self.adapters:
            return DispatchResult()
        tally: Counter[str] = Counter()
        for item in self.queue.claim_due(set(self.adapters), limit=limit, ids=ids):
            next_item: OutboundItem | None = item
            while next_item is not None:  # the chat's next message, claimed as the one before settled
                next_item = self._deliver(next_item, tally, background=background)
        return DispatchResult(tally["sent"], tally["retried"], tally["dead"], tally["deferred"])

    def _deliver(self, item: OutboundItem, tally: Counter[str], *, background: bool) -> OutboundItem | None:
        """Send one claimed message; returns the chat's next one when it was claimed to go at once."""
        adapter = self.adapters[item.address.adapter]
        wait = self.limiter.wait(adapter.type, adapter.rate, item.address.address)
        if wait > 0:
            self.queue.release(item.id, exact_now() + timedelta(seconds=wait))
            tally["deferred"] += 1
            if background and wait <= REKICK_WITHIN_SECONDS:
                self._kick_later((item.id,), wait)
            return None
        item = self._with_reply_token(item)
        token = SENDING.set(item)
        try:
            ref = adapter.send(item.address, item.text, item.choices)
        except SendError as error:
            return self._failed(item, f"{type(error).__name__}: {error}", error.retryable, tally)
        except Exception as error:  # an adapter bug must not stop the other messages
            log.exception("send crashed")
            return self._failed(item, type(error).__name__, True, tally)
        finally:
            SENDING.reset(token)
        record = self._recorder(item.address, ref) if ref and adapter.keeps_message_refs else None
        settled = self.queue.sent(item.id, chat=item.chat, record=record, then=set(self.adapters))
        tally["sent"] += 1
        if not settled.live and ref and adapter.keeps_message_refs:
            # DELETE erased the chat while this was on its way: it goes from the chat too, where the provider allows.
            try:
                adapter.erase(item.address, [ref])
            except Exception:
                log.exception("message sent during DELETE not erased")
        return settled.next

    def _recorder(self, address: ReplyAddress, ref: str) -> Callable[[Session], None] | None:
        """Keeps a sent message's id for DELETE, in the transaction that settles the message."""
        record_ref = self.record_ref
        if record_ref is None:
            return None
        return lambda session: record_ref(address, ref, session)

    def _failed(self, item: OutboundItem, error: str, retryable: bool, tally: Counter[str]) -> OutboundItem | None:
        done = self.queue.failed(item.id, error, retryable, self.max_attempts)
        tally["dead" if done else "retried"] += 1
        log.warning("send failed", extra={"channel": item.address.channel, "attempts": item.attempts + 1, "dead": done})
        # Retried later, it holds its chat's later messages back; given up, it lets the next one go.
        return self.queue.claim_next(item.chat, set(self.adapters)) if done else None

    # ------------------------------------------------------------ in the background of a web worker

    def kick(self, ids: tuple[str, ...], reply_tokens: Mapping[str, str] | None = None) -> None:
        """Send these freshly queued messages soon, off the request thread.

        `reply_tokens` (message id -> token, LINE's) are offered to those messages if this
        process sends them soon; they are never stored, and a message sent without one is pushed.
        """
        if not ids:
            return
        with self._lock:
            now = time.monotonic()
            for message_id, value in (reply_tokens or {}).items():
                self._reply_tokens[message_id] = (value, now)
            for message_id in [k for k, (_, at) in self._reply_tokens.items() if now - at > REPLY_TOKEN_SECONDS]:
                del self._reply_tokens[message_id]
            if self._background is None:
                self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dispatch")
            self._background.submit(self._run_quietly, list(ids))

    def _with_reply_token(self, item: OutboundItem) -> OutboundItem:
        with self._lock:
            given = self._reply_tokens.pop(item.id, None)
        return replace(item, reply_token=given[0]) if given else item

    def _kick_later(self, ids: tuple[str, ...], seconds: float) -> None:
        def again() -> None:
            with self._lock:
                self._timers.discard(timer)
            self.kick(ids)

        timer = threading.Timer(seconds, again)
        timer.daemon = True
        with self._lock:
            self._timers.add(timer)
        timer.start()

    def _run_quietly(self, ids: list[str]) -> None:
        try:
            self._run(ids, 100, background=True)
        except Exception:  # the maintenance loop retries whatever is left
            log.exception("background dispatch failed")

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until the background sends asked for so far have run (for tests)."""
        with self._lock:
            background = self._background
        if background is not None:
            background.submit(lambda: None).result(timeout)

    def close(self) -> None:
        with self._lock:
            timers, self._timers = list(self._timers), set()
            background, self._background = self._background, None
        for timer in timers:
            timer.cancel()
        if background is not None:
            background.shutdown(wait=True)
