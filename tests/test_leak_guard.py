"""The session-end leak scan (tests/leak_guard.py) fails a session that left an address or a token in the clear."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from leak_guard import LeakGuard, Needles, Scanner, needles_from_sources, search_dump
from sink_servers import ensure_rabbitmq, ensure_redis, rabbitmq_cleanup, redis_cleanup

TESTS = Path(__file__).resolve().parent

# The inner tests build their needles by concatenation, so that this file holds none of them.
INNER = '''
import os
from bot.messages import InboundMessage

def test_writes_a_known_number_into_a_log(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "grievance.log").write_text("reply sent to +88017" + "11000000\\n")

def test_a_sender_seen_at_run_time_in_utf16(tmp_path):
    sender = "+4470" + "09001234"
    InboundMessage(channel="sms", sender=sender, text="hi")
    (tmp_path / "cases.db").write_bytes(os.urandom(64) + sender.encode("utf-16-le") + os.urandom(64))

def test_a_token_as_hex(tmp_path):
    (tmp_path / "dump.sql").write_text(("7c2e9d4b1a8f6e3c" + "5d0b9a7f2e4c6d81").encode().hex())
'''

CLEAN = '''
import os

def test_only_ciphertext(tmp_path):
    (tmp_path / "sealed.age").write_bytes(os.urandom(100_000))
    (tmp_path / "grievance.log").write_text("message received [sms]\\n")
'''


# A sink that put a worker's number into the queue in the clear, instead of sealed ciphertext.
QUEUES = '''
import os
from storage.sinks.rabbitmq import RabbitQueue
from storage.sinks.redis_streams import RedisStreamsQueue

def test_a_sink_leaves_a_number_in_the_queue():
    name, number = os.environ["LEAK_QUEUE"], ("+88017" + "11000000").encode()
    if os.environ["LEAK_KIND"] == "redis":
        RedisStreamsQueue("redis://127.0.0.1:6379/0", stream=name).deliver("case-1", b"not sealed: " + number, False)
    else:
        RabbitQueue.from_url("amqp://127.0.0.1:5672/%2F", password=None, queue=name, timeout_seconds=5).deliver(
            "case-1", b"not sealed: " + number, True)
'''


def _inner_session(tmp_path: Path, source: str, **env: str) -> subprocess.CompletedProcess:
    root = tmp_path / "inner"
    root.mkdir()
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "test_inner.py").write_text(source)
    env = {**os.environ, "PYTHONPATH": str(TESTS), **env}
    try:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "leak_guard", "-p", "no:cacheprovider", "-c", str(root / "pytest.ini"),
             "--rootdir", str(root), "--basetemp", str(root / "basetemp"), str(root / "test_inner.py")],
            capture_output=True, text=True, env=env, cwd=root, timeout=120,
        )
    finally:
        # The inner session's files hold needles on purpose: remove them, or the outer scan would report them.
        shutil.rmtree(root / "basetemp", ignore_errors=True)


def test_a_session_that_leaves_needles_in_the_clear_fails_naming_file_and_kind(tmp_path):
    result = _inner_session(tmp_path, INNER)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "3 passed" in result.stdout
    assert "LEAK: 3 needle(s)" in result.stdout
    assert "_int0/logs/grievance.log: phone number '8801711000000' as text" in result.stdout
    assert "/cases.db: phone number '447009001234' as utf-16" in result.stdout
    assert "test_a_token_as_hex0/dump.sql: token " in result.stdout and "as hex" in result.stdout


@pytest.mark.parametrize("kind", ["redis", "rabbitmq"])
def test_a_session_that_leaves_a_number_in_a_queue_fails(tmp_path, kind):
    ensure, cleanup = (ensure_redis, redis_cleanup) if kind == "redis" else (ensure_rabbitmq, rabbitmq_cleanup)
    ensure()
    name = f"leakcheck-{uuid.uuid4().hex[:12]}"  # not test-*: found because the session's sink used it
    try:
        result = _inner_session(tmp_path, QUEUES, LEAK_QUEUE=name, LEAK_KIND=kind)
    finally:
        cleanup(name)
    assert result.returncode == 1, result.stdout + result.stderr
    where = f"redis key {name}" if kind == "redis" else f"rabbitmq queue {name}.urgent"
    assert f"{where}: phone number '8801711000000' as text" in result.stdout, result.stdout


def test_a_session_that_leaves_only_ciphertext_passes(tmp_path):
    result = _inner_session(tmp_path, CLEAN)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no leak" in result.stdout


def test_needles_are_collected_from_the_test_sources():
    kinds = needles_from_sources().kinds
    assert kinds["8801711000000"] == "phone number"  # +E.164 literals, in every test module
    assert kinds["5491155550123"] == "sender id"  # a WhatsApp wa_id constant
    assert kinds["555000111"] == "chat id"  # a Telegram chat id constant
    assert kinds["1009876543210"] == "chat id"  # a Telegram group's chat id, negative (tests/duty_support.py)
    assert kinds["ana.duty7701@ngo.example.org"] == "sender id"  # a staff member's e-mail on the duty roster
    assert kinds["4242000001:fake-token-QwErTy"] == "token"
    assert kinds["a-test-webhook-secret-of-forty-characters!"] == "token"
    assert kinds["BD.13491208655302741918"] == kinds["13491208655302741918"] == "BSUID"  # a WhatsApp username's id
    assert kinds["VN.ENT.11815799212886844830"] == "BSUID"  # a literal, in whatever variable
    assert "15550100000" not in kinds  # the hotline's own number is configuration
    assert "1234567890" not in kinds  # so is the hotline's WhatsApp phone number id


@pytest.mark.parametrize(("sender", "needle"), [
    ("+8801711000123", "8801711000123"),
    ("whatsapp:+8801711000123", "8801711000123"),
    ("987654321", "987654321"),
    ("chat-12", "chat-12"),
    ("a", None),  # too short: it is in every log line
    ("idle", None),
    ("000000", None),  # too few distinct characters to tell from padding
])
def test_which_senders_become_needles(sender, needle):
    needles = Needles()
    needles.add_sender(sender)
    assert list(needles.kinds) == ([needle] if needle else [])


@pytest.mark.parametrize(("sender", "needles"), [
    ("US.13491208655302741918", ["13491208655302741918", "US.13491208655302741918"]),
    ("whatsapp:BR.ENT.15025763946", ["15025763946", "BR.ENT.15025763946"]),
    ("ID.a7Kq93xZ0pL", ["a7Kq93xZ0pL", "ID.a7Kq93xZ0pL"]),
])
def test_a_whatsapp_bsuid_is_a_needle_with_and_without_its_country(sender, needles):
    found = Needles()
    found.add_sender(sender)
    assert found.kinds == dict.fromkeys(needles, "BSUID")


def test_the_scanner_finds_every_form_and_ignores_ciphertext():
    needles = Needles()
    needles.add_sender("+8801711000123")
    needles.add("hook-secret-0123456789abcdefABCDEF", "token")
    scanner = Scanner(needles)
    number = "8801711000123"
    assert scanner.search(b"x" + number.encode() + b"y") == {(number, "text")}
    assert scanner.search(number.encode("utf-16-be")) == {(number, "utf-16")}
    assert scanner.search(number.encode().hex().upper().encode()) == {(number, "hex")}
    assert scanner.search(b"hook-secret-0123456789abcdefABCDE") == set()  # a prefix is not the token
    assert scanner.search(os.urandom(1 << 20).replace(b"8", b"9")) == set()


def test_a_number_by_chance_in_the_hex_of_a_bytea_value_is_not_a_hit():
    # Seen in a full PostgreSQL run: the digits of a test number inside the hex dump of ciphertext.
    needles = Needles()
    needles.add_sender("+15550703")
    scanner = Scanner(needles)
    chance = bytes.fromhex("a915550703bc")  # random bytes whose hex spells the digits
    dump = b"COPY public.cases (payload) FROM stdin;\n\\\\x" + chance.hex().encode() + b"\n\\.\n"
    assert search_dump(scanner, dump) == set()
    assert search_dump(scanner, dump + b"to +15550703\n") == {("15550703", "text")}
    stored = b"\\\\x" + b"\x00+15550703".hex().encode()
    assert search_dump(scanner, stored) == {("15550703", "hex")}


def test_a_number_by_chance_inside_a_hash_in_a_file_is_not_a_hit():
    # Seen once in a full SQLite run (CI of stop 25): its files hold ~6 MB of hex text (HMACs, hashes).
    needles = Needles()
    needles.add_sender("+15550703")
    scanner = Scanner(needles)
    digest = b"9f2c" + b"15550703" + b"e1" * 26  # 64 hex characters whose middle spells the digits
    assert scanner.search(b'{"sender_key": "' + digest + b'"}') == set()
    assert scanner.search(b"\x00".join(bytes([c]) for c in digest)) == set()  # the same as UTF-16
    assert scanner.search(b"to 15550703, key " + digest) == {("15550703", "text")}
    assert scanner.search(b"ref 015550703a") == {("15550703", "text")}  # a short run: not a hash, a hit
    assert scanner.search(b"1234567815550703123456781234567812345678") == {("15550703", "text")}  # digits alone
    assert scanner.search(digest[:8] + b"+15550703".hex().encode() + digest[8:]) == {("15550703", "hex")}


def test_a_postgresql_database_with_a_number_in_text_or_bytea_is_a_hit(fresh_postgres_url):
    import psycopg

    number = "+8801711000123"
    with psycopg.connect(fresh_postgres_url.replace("+psycopg", "", 1), autocommit=True) as connection:
        connection.execute("CREATE TABLE leak (t text, b bytea)")
        connection.execute("INSERT INTO leak VALUES (%s, NULL), (NULL, %s)", (f"to {number}", b"\x00" + number.encode()))
    needles = Needles()
    needles.add_sender(number)
    guard = LeakGuard()
    guard.scan_postgres(Scanner(needles), fresh_postgres_url, "a test")
    assert sorted((hit.where, hit.needle, hit.kind, hit.form) for hit in guard.hits) == [
        ("postgresql database of a test", "8801711000123", "phone number", "hex"),  # bytea is dumped as hex
        ("postgresql database of a test", "8801711000123", "phone number", "text"),
    ]
    with psycopg.connect(fresh_postgres_url.replace("+psycopg", "", 1), autocommit=True) as connection:
        connection.execute("DROP TABLE leak")  # else the scan at this test's teardown would report it


def test_a_needle_inside_the_hotlines_own_configuration_is_dropped():
    guard = LeakGuard()
    guard.runtime.add_sender("123456789")  # a fake chat id, inside the WhatsApp phone number id 1234567890
    guard.runtime.add_sender("+8801711000321")
    kinds = guard.scanner().kinds
    assert "123456789" not in kinds and kinds["8801711000321"] == "phone number"
