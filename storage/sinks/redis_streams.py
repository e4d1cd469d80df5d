"""Redis Streams as case queue: the producer adds each case once, operators read it in a group.

Producer: a Lua script sets a dedup key for the case id (SET NX with a TTL) and
adds the entry (XADD) in one atomic step, so a redelivery after a crash (the
forwarder delivered but died before marking it) adds nothing. Urgent cases go
to `<stream>:urgent`, which the consumer reads before `<stream>`.

Consumer: a consumer group. Each fetch first takes this consumer's own pending
entries (left by a crash of the previous pull on this machine), then entries
another consumer left pending for longer than `claim_idle_seconds` (XAUTOCLAIM:
that consumer died), then new ones (XREADGROUP >). An entry is acknowledged and
deleted (XACK + XDEL in one MULTI) only after the case is kept, so Redis keeps
no sealed copy of a case the operator has.
"""

from __future__ import annotations

import redis
from redis.exceptions import AuthenticationError, ConnectionError as RedisConnectionError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..outbox import SinkError
from .source import QueuedItem, SourceError

# KEYS[1]: stream, KEYS[2]: dedup key. ARGV: case id, sealed bytes, urgent ("1"/"0"), dedup TTL (s).
# Redis does not roll a script back: if XADD fails, the dedup key is removed again, or every retry
# would be answered "already there" and the case lost.
_ADD_ONCE = """
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[4]) then
  local added = redis.pcall('XADD', KEYS[1], '*', 'case_id', ARGV[1], 'sealed', ARGV[2], 'urgent', ARGV[3])
  if type(added) == 'table' and added.err then
    redis.call('DEL', KEYS[2])
    return added
  end
  return added
end
return false
"""


def _kind_of(error: RedisError) -> tuple[str, str]:
    """(kind, message) for a Redis error; never the library's text, which may quote a command."""
    if isinstance(error, RedisTimeoutError):
        return "timeout", "redis did not answer in time"
    if isinstance(error, AuthenticationError):
        return "auth", "redis refused the credentials"
    if isinstance(error, RedisConnectionError):
        return "unreachable", "redis is unreachable"
    if isinstance(error, ResponseError) and str(error).startswith("NOAUTH"):
        return "auth", "redis wants a password (queue.redis.password)"
    return "redis_error", "redis refused the command"


class RedisStreamsQueue:
    """Case sink (XADD once per case id) and case source (consumer group) over two Redis streams."""

    kind = "redis"

    def __init__(
        self,
        url: str,
        *,
        password: str | None = None,
        stream: str = "grievance:cases",
        group: str = "operators",
        consumer: str = "operator",
        dedup_seconds: int = 30 * 86400,
        claim_idle_seconds: float = 300,
        timeout_seconds: float = 5,
    ) -> None:
        self._client = redis.Redis.from_url(
            url, password=password, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
        )
        self.stream, self.group, self.consumer = stream, group, consumer
        self.streams = (f"{stream}:urgent", stream)  # read in this order
        self._dedup_seconds = dedup_seconds
        self._claim_idle_ms = int(claim_idle_seconds * 1000)
        self._add_once = self._client.register_script(_ADD_ONCE)
        self._groups_ready = False
        # (stream, entry id) fetched in this session, acked or released. The stream is part of the
        # key: ids are time-based, and both streams can hold an entry with the same id.
        self._handed_out: set[tuple[str, bytes]] = set()

    def dedup_key(self, case_id: str) -> str:
        return f"{self.stream}:seen:{case_id}"

    # ---------------------------------------------------------------- producer

    def deliver(self, case_id: str, sealed: bytes, urgent: bool) -> None:
        stream = self.streams[0] if urgent else self.streams[1]
        try:
            self._add_once(keys=[stream, self.dedup_key(case_id)], args=[case_id, sealed, "1" if urgent else "0", self._dedup_seconds])
        except RedisError as error:
            kind, message = _kind_of(error)
            raise SinkError(message, retryable=True, kind=kind) from None

    # ---------------------------------------------------------------- consumer

    def _ensure_groups(self) -> None:
        if self._groups_ready:
            return
        for stream in self.streams:
            try:
                # From the start ("0"): cases added before any operator pulled are read too.
                self._client.xgroup_create(stream, self.group, id="0", mkstream=True)
            except ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise
        self._groups_ready = True

    def _items(self, stream: str, entries) -> list[QueuedItem]:
        items = []
        for entry_id, fields in entries or ():
            if not fields:
                self._client.xack(stream, self.group, entry_id)  # deleted while pending: nothing to hand out
                continue
            if (stream, entry_id) in self._handed_out:
                continue  # released earlier in this session
            self._handed_out.add((stream, entry_id))
            try:
                case_id = fields[b"case_id"].decode()
            except (KeyError, UnicodeDecodeError):
                case_id = ""  # not one of ours: handed out all the same, for the pull to quarantine it
            items.append(QueuedItem(case_id, fields.get(b"sealed", b""), fields.get(b"urgent") == b"1", (stream, entry_id)))
        return items

    def _fetch_from(self, stream: str, limit: int) -> list[QueuedItem]:
        items: list[QueuedItem] = []
        # 1. This consumer's own pending entries (its previous pull died before acknowledging).
        start = b"0"
        while len(items) < limit:
            reply = self._client.xreadgroup(self.group, self.consumer, {stream: start}, count=limit)
            entries = reply[0][1] if reply else []
            if not entries:
                break
            items += self._items(stream, entries)
            start = entries[-1][0]
        # 2. Entries another consumer has held too long: it died mid-pull.
        start = b"0-0"
        while len(items) < limit:
            next_start, entries, *_ = self._client.xautoclaim(
                stream, self.group, self.consumer, self._claim_idle_ms, start_id=start, count=limit
            )
            items += self._items(stream, entries)
            if next_start in (b"0-0", "0-0"):  # the whole pending list was scanned
                break
            start = next_start
        # 3. New entries.
        if len(items) < limit:
            reply = self._client.xreadgroup(self.group, self.consumer, {stream: ">"}, count=limit - len(items))
            items += self._items(stream, reply[0][1] if reply else [])
        return items  # may exceed `limit` a little: entries claimed above are ours now and must be handed out

    def fetch(self, limit: int) -> list[QueuedItem]:
        try:
            self._ensure_groups()
            items: list[QueuedItem] = []
            for stream in self.streams:
                if len(items) >= limit:
                    break
                items += self._fetch_from(stream, limit - len(items))
            return items
        except RedisError as error:
            kind, message = _kind_of(error)
            raise SourceError(message, kind) from None

    def ack(self, item: QueuedItem) -> None:
        stream, entry_id = item.receipt
        try:
            with self._client.pipeline(transaction=True) as pipe:
                pipe.xack(stream, self.group, entry_id)
                pipe.xdel(stream, entry_id)  # keep no sealed copy the operator already has
                pipe.execute()
        except RedisError as error:
            kind, message = _kind_of(error)
            raise SourceError(message, kind) from None

    def release(self, item: QueuedItem) -> None:
        """Left pending: another operator's consumer takes it over after `claim_idle_seconds`."""

    def depth(self) -> tuple[int, int]:
        """(cases in the streams, of which urgent): waiting or handed out but not yet acknowledged."""
        try:
            urgent, normal = (self._client.xlen(stream) for stream in self.streams)
        except RedisError as error:
            kind, message = _kind_of(error)
            raise SourceError(message, kind) from None
        return urgent + normal, urgent

    def close(self) -> None:
        self._client.close()
