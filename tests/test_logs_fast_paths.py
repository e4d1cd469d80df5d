"""The log line's shortcuts (a line without digit, "@" or "=" is not scrubbed; one filter and one
formatting for both handlers) change no line: the same text as before, in the file and on stderr."""

from __future__ import annotations

import io
import logging
import random
import re
import sys

import pytest

from bot.logs import _SCRUBBERS, reset_logging, scrub, setup_logging


def scrub_every_pattern(text: str) -> str:
    for pattern in _SCRUBBERS:
        text = pattern.sub("[redacted]", text)
    return text


def test_scrub_as_every_pattern_in_turn():
    rng = random.Random(18)
    pieces = ["ab", " ", "Z", "_", "-", ".", ":", "+", "(", ")", "@", "=", "&", "/", "\t", "\n", "0", "12", "555 123",
              "\u09e7\u09e8", "\u0e51", "whatsapp:", "tel:", "token", "secret", "signature", "x.org", "A" * 30]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 16))) for _ in range(20000)]
    texts += ["message handled", "+8801711000000", "a@b.org", "123456789:" + "A" * 35, "password=hunter2", "৫৫৫ ৫৫৫ ৫৫৫৫"]
    changed = 0
    for text in texts:
        expected = scrub_every_pattern(text)
        assert scrub(text) == expected, text
        changed += expected != text
    assert changed > 1000


@pytest.fixture
def two_handlers(tmp_path, monkeypatch):
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    setup_logging("INFO", tmp_path / "logs" / "grievance.log")
    yield stderr, tmp_path / "logs" / "grievance.log"
    reset_logging()


def test_both_handlers_write_the_same_scrubbed_line_once(two_handlers):
    stderr, file = two_handlers
    log = logging.getLogger("bot.intake")
    log.info("handled for %s", "+8801711000000", extra={"channel": "sms", "events": "answer,tel:+8801711000001", "phone": "x"})
    log.info("message handled", extra={"channel": "telegram"})
    for handler in logging.getLogger().handlers:
        handler.flush()
    lines = file.read_text().splitlines()
    assert stderr.getvalue().splitlines() == lines
    assert [re.sub(r"^\S+ \S+ ", "", line) for line in lines] == [
        "INFO bot.intake handled for [redacted] channel=sms events=answer,[redacted]",
        "INFO bot.intake message handled channel=telegram",
    ]
