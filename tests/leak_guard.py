"""Session-end leak scan: nothing the tests produced may hold a worker's address or a secret in the clear.

A pytest plugin (registered in conftest.py). When the session ends it reads every
file below pytest's base temporary folder -- each test's databases (with their
-wal/-journal files), logs, operator stores, exports, queues, keys -- and, on
PostgreSQL, every row of each test's database (COPY's text format, as pg_dump
writes it) read just before the test drops it, plus the Redis keys and RabbitMQ messages tests left behind. It looks for every sender id, phone
number, Telegram chat id and token the tests used, collected two ways so that
nobody has to keep a list by hand:

* statically, from the test sources: every E.164-like string literal, every
  WhatsApp business-scoped user id (BSUID, "US.1349..."; a sender id like a number), and every
  module-level constant named like a token, secret, SID, chat, worker, sender or
  phone (including the ids inside a dict such as a fake Telegram user);
* at run time, from every `InboundMessage.sender` and `ReplyAddress.address` the
  tests created in this process (senders generated in loops, fuzzed webhooks).

Each needle is searched as UTF-8 text, as UTF-16 (files are also searched with
their NUL bytes removed, which turns ASCII UTF-16 back into ASCII) and as hex
(PostgreSQL dumps bytea as hex). All needles are compiled into one trie-shaped
regular expression, so each file is read and searched once (twice if it holds
NUL bytes). Sealed ciphertext never matches: it is random bytes.

A hit fails the session (exit status 1) with a report naming the file and the
kind of needle; `ALLOWED` lists the files that may hold one, each with its reason.
Runs in every session (a -k selection scans what that selection produced);
`-p no:leak_guard` turns it off.
"""

from __future__ import annotations

import ast
import os
import re
import time
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

import pytest

from bot import messages
from storage.sinks.rabbitmq import RabbitQueue
from storage.sinks.redis_streams import RedisStreamsQueue

TESTS = Path(__file__).resolve().parent
PHONE = re.compile(r"^(?:whatsapp:)?\+\d{8,15}$")  # E.164, as Twilio and the tests write them
# A WhatsApp user's business-scoped user id, as Meta and Twilio ("whatsapp:US.1349...") write it.
BSUID = re.compile(r"^(?:whatsapp:)?([A-Z]{2}(?:\.ENT)?\.([A-Za-z0-9]{6,128}))$")
# Module-level constants whose values are addresses or secrets; names of message texts (and the
# hotline's own WhatsApp phone number id, which is configuration) are not.
SECRET_NAME = re.compile(r"TOKEN|SECRET|_SID$|^SID$|CHAT|WORKER|SENDER|PHONE|PASSWORD|API_KEY|WA_ID|ACCOUNT")
TEXT_NAME = re.compile(r"NUMBER_ID|DESCRIPTION|PLACE|REASON|TEXT|ANSWER|_HEADER$|SECRETS$|INTAKE|CONTACT")
MIN_LENGTH = 6  # "a", "w", "idle" are test senders too, and are in every log; they cannot be needles
MAX_REPORTED = 50

# Files that may hold a needle in the clear, with the reason. fnmatch patterns on the
# path relative to the base temporary folder.
ALLOWED: dict[str, str] = {
    # The test deployment's own key files: they are secrets by design (never needles
    # today, as tests read tokens from the environment; listed so a future test that
    # puts a token in a secret file does not need to think about this scanner).
    "*/keys/*": "key and secret files of a test deployment",
    "*/operator/operator-identity.txt": "the operator's age identity",
    # tests/test_export.py: the partner decrypts a full-profile batch export on purpose; the
    # case text holds the contact number the worker chose to give (desk_support.SECRET_CONTACT).
    "test_grievance_decrypt_roundtr*/opened.jsonl": "an export the test decrypted on purpose",
}
# The hotline's own numbers and ids are configuration (config.yaml holds them by design), not a
# worker's. A needle inside one of them (chat id 123456789 in phone number id 1234567890) cannot
# be told apart from it, so it is dropped.
HOTLINE_NAME = re.compile(r"^HOTLINE|NUMBER_ID$")
HOTLINE_KEYS = ("sms_from", "whatsapp_from")


@dataclass
class Needles:
    """needle -> its kind ("phone", "chat id", "token", ...), from the sources and from the run."""

    kinds: dict[str, str] = field(default_factory=dict)
    own: set[str] = field(default_factory=set)  # the hotline's own configuration values: not needles

    def without_own(self) -> Needles:
        return Needles({n: k for n, k in self.kinds.items() if not any(n in value for value in self.own)}, self.own)

    def add(self, value: object, kind: str) -> None:
        text = str(value).strip()
        if len(text) < MIN_LENGTH or len(set(text)) < 3 or (kind != "token" and not any(c.isdigit() for c in text)):
            return
        if PHONE.match(text):
            text, kind = text.rsplit("+", 1)[1], "phone number"  # the digits are in every form: +E.164, wa_id, whatsapp:+
        bsuid = BSUID.match(text)
        if bsuid:  # the id as received, and its unique part (stored without the country it would still name the worker)
            text, kind = bsuid.group(1), "BSUID"
            self.kinds.setdefault(bsuid.group(2), kind)
        self.kinds.setdefault(text, kind)

    def add_sender(self, sender: object) -> None:
        text = str(sender)
        self.add(text, "phone number" if PHONE.match(text) else "chat id" if text.lstrip("-").isdigit() else "sender id")


def _constant(node: ast.AST) -> list[object]:
    """The str/int values of a constant expression (with + of strings), or of the ids in a dict/tuple of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int) and not isinstance(node.value, bool):
        return [node.value]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        # A Telegram group's chat id is negative (-100...): its digits are the needle, with or without the sign.
        return [node.operand.value] if isinstance(node.operand.value, int) and not isinstance(node.operand.value, bool) else []
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _constant(node.left), _constant(node.right)
        if len(left) == len(right) == 1 and all(isinstance(v, str) for v in left + right):
            return [left[0] + right[0]]
        return []
    if isinstance(node, ast.Dict):
        return [v for key, value in zip(node.keys, node.values, strict=True)
                if isinstance(key, ast.Constant) and key.value in ("id", "chat_id", "wa_id", "from")
                for v in _constant(value)]
    if isinstance(node, ast.Tuple | ast.List):
        return [v for element in node.elts for v in _constant(element)]
    return []


def needles_from_sources(folder: Path = TESTS) -> Needles:
    """Every phone-number literal and every secret-named module constant in the test sources."""
    needles, hotline = Needles(), Needles()
    for source in sorted(folder.rglob("*.py")):
        tree = ast.parse(source.read_text(encoding="utf-8"), str(source))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and PHONE.match(node.value):
                needles.add(node.value, "phone number")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and BSUID.match(node.value):
                needles.add(node.value, "BSUID")
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value in HOTLINE_KEYS and isinstance(value, ast.Constant):
                        hotline.add(value.value, "phone number")
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and HOTLINE_NAME.search(t.id) for t in node.targets):
                for value in _constant(node.value):
                    hotline.add(value, "phone number")
        for statement in tree.body:
            if not isinstance(statement, ast.Assign | ast.AnnAssign) or statement.value is None:
                continue
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                if isinstance(target, ast.Name) and SECRET_NAME.search(target.id) and not TEXT_NAME.search(target.id):
                    kind = "token" if re.search(r"TOKEN|SECRET|SID|PASSWORD|KEY", target.id) else "sender id"
                    for value in _constant(statement.value):
                        needles.add(value, "chat id" if isinstance(value, int) else kind)
    needles.own = set(hotline.kinds)
    return needles.without_own()


def _trie_pattern(words: list[bytes]) -> bytes:
    """One regular expression matching any of `words`, shaped as a trie so each position costs one branch."""
    trie: dict = {}
    for word in words:
        node = trie
        for byte in word:
            node = node.setdefault(byte, {})
        node[None] = {}

    def pattern(node: dict) -> bytes:
        end = None in node
        branches = [re.escape(bytes([byte])) + pattern(child) for byte, child in sorted((k, v) for k, v in node.items() if k is not None)]
        if not branches:
            return b""
        body = branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"
        return b"(?:" + body + b")?" if end else body

    return pattern(trie)


class Scanner:
    """Searches bytes for every needle in every form at once."""

    def __init__(self, needles: Needles) -> None:
        self.forms: dict[bytes, tuple[str, str]] = {}  # encoded form -> (needle, form name)
        for needle in needles.kinds:
            raw = needle.encode("utf-8")
            self.forms.setdefault(raw, (needle, "text"))
            self.forms.setdefault(raw.hex().encode(), (needle, "hex"))
            self.forms.setdefault(raw.hex().upper().encode(), (needle, "hex"))
        self.kinds = needles.kinds
        self.regex = re.compile(_trie_pattern(sorted(self.forms))) if self.forms else None

    def search(self, data: bytes) -> set[tuple[str, str]]:
        """(needle, form) pairs found in data, raw or with its NUL bytes removed (ASCII in UTF-16).

        A number's digits inside a long run of hex text (a hash, an HMAC, a key id: the SQLite
        files of a run hold ~6 MB of them) are a chance, not a leak: an 8-digit number turns up
        in that much random hex about once in fifty runs, a shorter one far more often. Such a
        match is not a hit; the number written in the clear, or hex-encoded, still is.
        """
        if self.regex is None:
            return set()
        found = {self.forms[m.group()] for m in self.regex.finditer(data) if not self._chance(data, m)}
        if b"\x00" in data:
            plain = data.replace(b"\x00", b"")
            found |= {(self.forms[m.group()][0], "utf-16") for m in self.regex.finditer(plain) if not self._chance(plain, m)}
        return found

    def _chance(self, data: bytes, match: re.Match) -> bool:
        # Only the text form: a hex-encoded needle inside hex text is how a hex-encoded leak looks.
        return self.forms[match.group()][1] == "text" and _inside_hex(data, match)


HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
HEX_LETTERS = frozenset(b"abcdefABCDEF")
HEX_RUN = 32  # a hash or key id is 32 hex characters or more; a number with letters around it is shorter


def _inside_hex(data: bytes, match: re.Match) -> bool:
    """Whether a digits-only match lies inside a run of at least HEX_RUN hex characters holding a letter."""
    if not match.group().isdigit():
        return False
    start, end = match.start(), match.end()
    while start > 0 and data[start - 1] in HEX_DIGITS and match.end() - start < 4096:
        start -= 1
    while end < len(data) and data[end] in HEX_DIGITS and end - match.start() < 4096:
        end += 1
    return end - start >= HEX_RUN and any(byte in HEX_LETTERS for byte in data[start:end])


# A bytea value in a pg_dump (COPY text format doubles the backslash): `\\x` and hex digits.
BYTEA_HEX = re.compile(rb"\\{1,2}x((?:[0-9a-f]{2})+)")


def search_dump(scanner: Scanner, dump: bytes) -> set[tuple[str, str]]:
    """(needle, form) pairs in a pg_dump. A bytea value is searched decoded, as the bytes it holds,
    and reported as "hex": sealed ciphertext dumped as hex is 62% digits, so an 8-digit number
    read as text inside it would be found by chance about once in a full PostgreSQL run."""
    found = scanner.search(BYTEA_HEX.sub(rb"\\x", dump))  # everything outside the bytea values
    for value in BYTEA_HEX.finditer(dump):
        found |= {(needle, "hex") for needle, _ in scanner.search(bytes.fromhex(value.group(1).decode()))}
    return found


@dataclass
class Hit:
    where: str
    needle: str
    kind: str
    form: str


@dataclass
class LeakGuard:
    """The plugin's state for one session."""

    runtime: Needles = field(default_factory=Needles)
    hits: list[Hit] = field(default_factory=list)
    files: int = 0
    bytes_read: int = 0
    pg_dumps: int = 0
    pg_seconds: float = 0.0
    seconds: float = 0.0
    needles: int = 0
    notes: list[str] = field(default_factory=list)
    redis_streams: set[str] = field(default_factory=set)  # streams and queues the session's sinks used
    rabbit_queues: set[str] = field(default_factory=set)

    _static: Needles | None = None
    _scanner: tuple[int, Scanner] | None = None

    def scanner(self) -> Scanner:
        """The scanner for the sources' needles and those seen so far (rebuilt only when new ones were seen)."""
        if self._scanner is not None and self._scanner[0] == len(self.runtime.kinds):
            return self._scanner[1]
        if self._static is None:
            self._static = needles_from_sources()
        needles = Needles(dict(self._static.kinds), self._static.own)
        for needle, kind in self.runtime.kinds.items():
            needles.kinds.setdefault(needle, kind)
        needles = needles.without_own()
        self.needles = len(needles.kinds)
        self._scanner = (len(self.runtime.kinds), Scanner(needles))
        return self._scanner[1]

    def scan_tree(self, scanner: Scanner, root: Path) -> None:
        for folder, _, names in os.walk(root):
            for name in names:
                path = Path(folder, name)
                if path.is_symlink() or not path.is_file():
                    continue
                relative = str(path.relative_to(root))
                try:
                    data = path.read_bytes()
                except OSError:  # a socket or a file a still-running server removed meanwhile
                    continue
                self.files += 1
                self.bytes_read += len(data)
                if any(fnmatch(relative, pattern) for pattern in ALLOWED):
                    continue
                for needle, form in sorted(scanner.search(data)):
                    self.hits.append(Hit(relative, needle, scanner.kinds[needle], form))

    def scan_postgres(self, scanner: Scanner, database_url: str, test: str) -> None:
        """Every row of a test's database, read before the test's teardown drops it."""
        from databases import database_rows

        started = time.perf_counter()
        try:
            dump = database_rows(database_url)
        except Exception as error:  # noqa: BLE001 -- a database the scan cannot read is a failure to report, not a crash
            self.hits.append(Hit(f"postgresql database of {test}", "-", f"not scanned: {type(error).__name__}", "-"))
            return
        finally:
            self.pg_seconds += time.perf_counter() - started
            self.pg_dumps += 1
        for needle, form in sorted(search_dump(scanner, dump)):
            self.hits.append(Hit(f"postgresql database of {test}", needle, scanner.kinds[needle], form))

    def scan_redis(self, scanner: Scanner) -> None:
        """The keys tests left in the local Redis (tests name theirs test-<hex> and delete them; anything left is read)."""
        import redis

        client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1, socket_timeout=5)
        try:  # reading does not consume: a concurrent session's streams are safe
            keys = sorted({key for pattern in ("test-*", *(f"{stream}*" for stream in self.redis_streams))
                           for key in client.scan_iter(pattern, count=1000)})
        except redis.RedisError:
            self.notes.append("Redis not running: nothing to scan")
            return
        for key in keys:
            try:
                data = _redis_value(client, key)
            except redis.RedisError:  # deleted meanwhile by a concurrent session
                continue
            for needle, form in sorted(scanner.search(key + b"\n" + data)):
                self.hits.append(Hit(f"redis key {key.decode(errors='replace')}", needle, scanner.kinds[needle], form))
        self.notes.append(f"Redis: {len(keys)} keys left, scanned")
        client.close()

    def scan_rabbitmq(self, scanner: Scanner) -> None:
        """The messages left in the RabbitMQ queues this session's sinks used (tests delete theirs).

        Only this session's queues: taking a message from a queue another session's test is
        using, even unacknowledged and given back, would disturb that test.
        """
        if not self.rabbit_queues:
            return
        import pika
        import pika.exceptions

        try:
            connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672, connection_attempts=1,
                                                                           socket_timeout=2, blocked_connection_timeout=5))
        except pika.exceptions.AMQPError:
            self.notes.append("RabbitMQ not running: nothing to scan")
            return
        left = 0
        for queue in sorted(self.rabbit_queues):
            channel = connection.channel()
            try:
                count = channel.queue_declare(queue, durable=True, passive=True).method.message_count
            except pika.exceptions.ChannelClosedByBroker:  # deleted by its test
                continue
            left += count
            for _ in range(count):
                method, properties, body = channel.basic_get(queue, auto_ack=False)  # given back when the channel closes
                if method is None:
                    break
                data = body + b"\n" + repr(properties).encode()
                for needle, form in sorted(scanner.search(data)):
                    self.hits.append(Hit(f"rabbitmq queue {queue}", needle, scanner.kinds[needle], form))
            channel.close()
        connection.close()
        self.notes.append(f"RabbitMQ: {len(self.rabbit_queues)} queues used, {left} messages left, scanned")


def _redis_value(client, key: bytes) -> bytes:
    kind = client.type(key)
    if kind == b"string":
        return client.get(key) or b""
    if kind == b"stream":
        return b"\n".join(k + b"=" + v for _, entry in client.xrange(key) for k, v in entry.items())
    if kind == b"hash":
        return b"\n".join(k + b"=" + v for k, v in client.hgetall(key).items())
    if kind == b"list":
        return b"\n".join(client.lrange(key, 0, -1))
    if kind in (b"set", b"zset"):
        return b"\n".join(client.smembers(key) if kind == b"set" else client.zrange(key, 0, -1))
    return b""


GUARD = pytest.StashKey[LeakGuard]()


def _record(cls: type, attribute: str, add) -> None:
    """Wrap cls.__init__ so that every instance's `attribute` is registered (a needle, a queue name)."""
    original = cls.__init__

    def init(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        add(getattr(self, attribute))

    init.__wrapped__ = original
    cls.__init__ = init


def pytest_configure(config: pytest.Config) -> None:
    guard = LeakGuard()
    config.stash[GUARD] = guard
    _record(messages.InboundMessage, "sender", guard.runtime.add_sender)
    _record(messages.ReplyAddress, "address", guard.runtime.add_sender)
    _record(RedisStreamsQueue, "stream", guard.redis_streams.add)
    _record(RabbitQueue, "queues", guard.rabbit_queues.update)


def pytest_unconfigure(config: pytest.Config) -> None:
    for cls in (messages.InboundMessage, messages.ReplyAddress, RedisStreamsQueue, RabbitQueue):
        cls.__init__ = getattr(cls.__init__, "__wrapped__", cls.__init__)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem):
    """On PostgreSQL, dump the test's database before its fixture drops it."""
    funcargs = getattr(item, "funcargs", {})
    urls = {funcargs.get(name) for name in ("database_url", "fresh_postgres_url")}
    for url in sorted(url for url in urls if isinstance(url, str) and url.startswith("postgresql")):
        guard = item.config.stash[GUARD]
        guard.scan_postgres(guard.scanner(), url, item.nodeid)
    return (yield)


@pytest.hookimpl(tryfirst=True)  # before pytest's own hooks may remove temporary folders
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput"):  # an xdist worker: its controller scans
        return
    guard = config.stash[GUARD]
    started = time.perf_counter()
    scanner = guard.scanner()
    factory = getattr(config, "_tmp_path_factory", None)
    basetemp = getattr(factory, "_basetemp", None) if factory is not None else None
    if basetemp is not None and basetemp.exists():
        guard.scan_tree(scanner, basetemp)
    else:
        guard.notes.append("no temporary folder was created")
    if session.testscollected:
        guard.scan_redis(scanner)
        guard.scan_rabbitmq(scanner)
    guard.seconds = time.perf_counter() - started
    if guard.hits:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(trylast=True)  # after the slowest durations: the end of a run's output is what CI shows
def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    guard = config.stash.get(GUARD, None)
    if guard is None:
        return
    line = (f"leak scan: {guard.needles} needles ({len(guard.runtime.kinds)} seen at run time) in {guard.files} files, "
            f"{guard.bytes_read / 1e6:.1f} MB, {guard.seconds:.1f} s")
    if guard.pg_dumps:
        line += f"; {guard.pg_dumps} PostgreSQL test databases read at teardown in {guard.pg_seconds:.1f} s"
    if guard.notes:
        line += "; " + "; ".join(guard.notes)
    if not guard.hits:
        terminalreporter.write_line(line + ": no leak")
        return
    terminalreporter.section("leak scan", sep="=", red=True, bold=True)
    terminalreporter.write_line(line)
    terminalreporter.write_line(f"LEAK: {len(guard.hits)} needle(s) in the clear outside sealed ciphertext "
                                "(fake test values; see tests/leak_guard.py ALLOWED for legitimate places):", red=True)
    for hit in guard.hits[:MAX_REPORTED]:
        terminalreporter.write_line(f"  {hit.where}: {hit.kind} {hit.needle!r} as {hit.form}")
    if len(guard.hits) > MAX_REPORTED:
        terminalreporter.write_line(f"  ... and {len(guard.hits) - MAX_REPORTED} more")
