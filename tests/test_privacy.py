"""Anonymity at rest: after whole conversations, no file and no log line holds an address or a sentence.

Scans every file under the deployment's data folder (database, WAL journal,
logs), in UTF-8 and UTF-16, while the database is still open (so the WAL is
there) and again after it is closed.
"""

from __future__ import annotations

import logging
import pytest

from bot.logs import PrivacyFilter, reset_logging, scrub, setup_logging
from bot.messages import InboundMessage, Reply
from databases import ON_POSTGRES, needles_in_database
from leak_scan import needles_in_tree
from worker_scripts import BENGALI_INTAKE, BENGALI_SECRETS, ENGLISH_INTAKE, ENGLISH_SECRETS

SENDERS = [("sms", "+8801711000000"), ("whatsapp", "whatsapp:+8801822000000"), ("telegram", "987654321")]


def _converse(services, channel, sender, script, confirm=True):
    replies = []
    for text in script + (["1"] if confirm else []):
        replies += services.intake.receive(InboundMessage(channel=channel, sender=sender, text=text)).texts
    return replies


def test_no_address_or_sentence_anywhere_under_the_data_folder(services, settings):
    log_file = settings.path(settings.logging.file)
    setup_logging("DEBUG", log_file)
    try:
        _converse(services, "sms", SENDERS[0][1], ENGLISH_INTAKE)
        _converse(services, "whatsapp", SENDERS[1][1], BENGALI_INTAKE)
        _converse(services, "telegram", SENDERS[2][1], ENGLISH_INTAKE[:6], confirm=False)  # left unfinished
        needles = [address for _, address in SENDERS] + ["8801711000000", "8801822000000"] + ENGLISH_SECRETS + BENGALI_SECRETS
        data_dir = settings.data_dir
        if ON_POSTGRES:
            assert needles_in_database(settings.database_url, needles) == []
        else:
            assert any(p.name.endswith("-wal") for p in data_dir.iterdir()), "expected the WAL journal to be scanned too"
        assert needles_in_tree(data_dir, needles) == []
        services.close()
        assert needles_in_tree(data_dir, needles) == []
        assert log_file.stat().st_size > 0
    finally:
        reset_logging()


def test_our_own_log_records_carry_no_address_or_text_even_before_filtering(services, captured_logs):
    _converse(services, "sms", SENDERS[0][1], ENGLISH_INTAKE)
    raw = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in captured_logs.records)
    for needle in ["8801711000000", *ENGLISH_SECRETS]:
        assert needle not in raw


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("sending to +880 1711-000000 failed", "1711"),
        ("from whatsapp:+8801711000000", "8801711000000"),
        ("chat 987654321 blocked", "987654321"),
        ("GET https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage", "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"),
        ("code 2711 409 867 2296", "2296"),
        ("mail worker@example.org", "worker@example.org"),
        ("callback?token=abc123secret&x=1", "abc123secret"),
    ],
)
def test_scrub_removes_identifiers_and_tokens(line, secret):
    assert secret not in scrub(line)


def test_filter_drops_http_library_chatter_and_exception_messages():
    privacy = PrivacyFilter()
    noisy = logging.LogRecord("urllib3.connectionpool", logging.DEBUG, __file__, 1, "GET /bot123:ABC/x", None, None)
    assert privacy.filter(noisy) is False
    try:
        raise ValueError("worker wrote: they beat us, call +8801711000000")
    except ValueError:
        import sys

        record = logging.LogRecord("bot", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    assert privacy.filter(record) is True
    assert "beat us" not in record.getMessage() and "8801711000000" not in record.getMessage()
    assert "ValueError" in record.getMessage()


def test_message_objects_do_not_show_address_or_text():
    message = InboundMessage(channel="sms", sender="+8801711000000", text="they beat us")
    assert "8801711000000" not in repr(message) and "beat" not in repr(message)
    assert "2296" not in repr(Reply(("x",), case_code="27114098672296"))
