"""A load generator of simulated workers texting the hotline over Twilio's signed SMS webhook.

Every request is built and signed (Twilio's own `RequestValidator`) before the
clock starts, so the generator spends its CPU on sockets, not on HMAC. Each
simulated worker owns one keep-alive HTTP/1.1 connection and sends its whole
intake conversation in order, the next message only after the answer to the
previous one, as a phone would. Latency is measured per request, from the
first byte written to the last byte of the answer read.

Used by `bench/http_bench.py` (throughput, latency) and by the crash tests
(every message that got a 2xx must be stored).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

# A whole English intake, the same as tests/worker_scripts.py ENGLISH_INTAKE, confirmed with "1".
INTAKE = [
    "hi", "1", "yes", "The supervisor has not paid our wages for two months",
    "He also shouts at the women on the line", "1", "Sunrise Garments Ltd", "Gazipur", "skip",
    "since September", "about 40", "2", "no", "no", "1",
]
ACCOUNT_SID = "AC" + "b3c4d5e6f708192a3b4c5d6e7f809102"
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
HOTLINE_SMS = "+15550100000"
PUBLIC_URL = "https://hotline.example.org"
PATH = "/webhooks/twilio"


def worker_number(index: int) -> str:
    return f"+88017{index:08d}"


def sms_form(sender: str, body: str) -> dict[str, str]:
    """The form Twilio posts for an inbound SMS."""
    sid = "SM" + secrets.token_hex(16)
    return {
        "ToCountry": "US", "SmsMessageSid": sid, "NumMedia": "0", "SmsSid": sid, "SmsStatus": "received",
        "Body": body, "FromCountry": "BD", "To": HOTLINE_SMS, "NumSegments": "1", "MessageSid": sid,
        "AccountSid": ACCOUNT_SID, "From": sender, "ApiVersion": "2010-04-01",
    }


def signed_request(host: str, port: int, form: dict[str, str], auth_token: str = AUTH_TOKEN) -> bytes:
    """The raw HTTP/1.1 request bytes of one signed webhook delivery."""
    signature = RequestValidator(auth_token).compute_signature(PUBLIC_URL + PATH, form)
    body = urlencode(form).encode()
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


@dataclass
class Conversation:
    """One simulated worker: the requests to send, in order, and what happened to each."""

    sender: str
    requests: list[bytes]
    statuses: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    sids: list[str] = field(default_factory=list)  # the MessageSid of each request, in order
    index: int = 0  # the worker's number (worker_number(index) is the sender)
    acked: int = 0  # `drive_until_answered`: how many requests, from the first, got a 2xx
    refusals: list[tuple[int, bytes]] = field(default_factory=list)  # (status, body) of every non-2xx answer


def build_conversations(host: str, port: int, count: int, first: int = 0,
                        script: list[str] | Callable[[int], list[str]] = INTAKE) -> list[Conversation]:
    """One conversation per worker; `script` is the same for all, or a function of the worker's index."""
    conversations = []
    for index in range(first, first + count):
        sender = worker_number(index)
        forms = [sms_form(sender, text) for text in (script(index) if callable(script) else script)]
        conversations.append(Conversation(sender, [signed_request(host, port, form) for form in forms],
                                          sids=[form["MessageSid"] for form in forms], index=index))
    return conversations


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
        return status, body
    return status, await reader.readexactly(length)


async def _converse(host: str, port: int, conversation: Conversation, pace: asyncio.Semaphore | None,
                    gaps: float, stop_at: float | None) -> None:
    reader = writer = None
    try:
        for request in conversation.requests:
            if stop_at is not None and time.perf_counter() >= stop_at:
                return
            if pace is not None:
                await pace.acquire()
            for attempt in range(3):
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection(host, port)
                    started = time.perf_counter()
                    writer.write(request)
                    await writer.drain()
                    status, _ = await _read_response(reader)
                    conversation.latencies.append(time.perf_counter() - started)
                    conversation.sent_at.append(started)
                    conversation.statuses.append(status)
                    break
                except (ConnectionError, asyncio.IncompleteReadError, OSError):
                    # The server closed a kept-alive connection (or died): reconnect; a phone
                    # provider would retry the same delivery too.
                    if writer is not None:
                        writer.close()
                    reader = writer = None
                    if attempt == 2:
                        conversation.statuses.append(0)
                        return
            if gaps:
                await asyncio.sleep(gaps)
    finally:
        if writer is not None:
            writer.close()


async def _pacer(pace: asyncio.Semaphore, rate: float, stop: asyncio.Event) -> None:
    """Release `rate` sends per second (open-loop load at a fixed rate)."""
    interval = 1.0 / rate
    next_at = time.perf_counter()
    while not stop.is_set():
        now = time.perf_counter()
        if now >= next_at:
            pace.release()
            next_at += interval
        else:
            await asyncio.sleep(min(next_at - now, 0.005))


async def drive(host: str, port: int, conversations: list[Conversation], *, concurrency: int,
                rate: float | None = None, duration: float | None = None) -> float:
    """Run the conversations, `concurrency` workers at a time; returns the wall time in seconds.

    With `rate`, sends are paced to that many per second in total (to measure latency at a
    given load); otherwise every worker sends as fast as the answers come back.
    """
    pace = asyncio.Semaphore(0) if rate else None
    stop = asyncio.Event()
    pacer = asyncio.create_task(_pacer(pace, rate, stop)) if pace is not None else None
    stop_at = time.perf_counter() + duration if duration else None
    queue = list(reversed(conversations))

    async def lane() -> None:
        while queue:
            await _converse(host, port, queue.pop(), pace, 0.0, stop_at)

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    stop.set()
    if pacer is not None:
        await pacer
    return elapsed


async def _persist(host: str, port: int, conversation: Conversation, halt: threading.Event,
                   retry_pause: float, stop_at: float, until: int) -> None:
    reader = writer = None
    try:
        while conversation.acked < min(until, len(conversation.requests)):
            if halt.is_set() or time.perf_counter() >= stop_at:
                return
            request = conversation.requests[conversation.acked]
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                writer.write(request)
                await writer.drain()
                status, body = await _read_response(reader)
            except (ConnectionError, asyncio.IncompleteReadError, OSError, ValueError, IndexError):
                if writer is not None:
                    writer.close()
                reader = writer = None
                conversation.statuses.append(0)
                await asyncio.sleep(retry_pause)
                continue
            conversation.statuses.append(status)
            if 200 <= status < 300:
                conversation.acked += 1
            else:
                conversation.refusals.append((status, body))
                await asyncio.sleep(retry_pause)
    finally:
        if writer is not None:
            writer.close()


async def drive_until_answered(host: str, port: int, conversations: list[Conversation], *, concurrency: int,
                               halt: threading.Event | None = None, retry_pause: float = 0.2,
                               timeout: float = 120.0, until: int | None = None) -> None:
    """Like a provider that retries: each request is resent (same MessageSid, same signature)
    until it gets a 2xx, then the next one; a conversation resumes where `acked` says.

    With `until`, each conversation stops after that many answered requests (a later call goes on).
    Stops early when `halt` is set or after `timeout` seconds; `acked` then tells exactly which
    requests were answered with a 2xx (every request before it, none from it on).
    """
    halt = halt or threading.Event()
    stop_at = time.perf_counter() + timeout
    until = until if until is not None else max((len(c.requests) for c in conversations), default=0)
    queue = [c for c in reversed(conversations) if c.acked < min(until, len(c.requests))]

    async def lane() -> None:
        while queue:
            await _persist(host, port, queue.pop(), halt, retry_pause, stop_at, until)

    await asyncio.gather(*(lane() for _ in range(concurrency)))


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
