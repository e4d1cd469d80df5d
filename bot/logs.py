"""Logging that cannot leak a worker: no address, no message text, no token, no IP.

Our own log calls never pass content; this module makes sure nothing else
does either. A filter on every handler (1) drops the chatter of HTTP libraries
below WARNING (they log URLs, and Telegram puts the bot token in its URL;
request logs carry IP addresses), (2) scrubs anything that looks like a phone
number, a chat id, a token or a case code from the final line, and (3) only
lets a short list of harmless `extra` fields through.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import traceback
from pathlib import Path

# Loggers of libraries that print URLs, request lines or payloads at INFO/DEBUG (Pillow: a photo's EXIF tags).
NOISY_LOGGERS = ("werkzeug", "urllib3", "httpx", "httpcore", "twilio", "telegram", "gunicorn.access", "alembic", "pika", "PIL", "linebot")
SAFE_EXTRAS = ("channel", "events", "urgent", "sink", "count", "attempts", "dead", "status", "backend", "reason")

_SCRUBBERS = (
    re.compile(r"\d{4,}:[A-Za-z0-9_-]{30,}"),  # Telegram bot token
    re.compile(r"(?:whatsapp:|tel:)?\+?\d[\d\s().-]{5,}\d"),  # phone numbers, chat ids, case codes
    re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),  # e-mail addresses
    re.compile(r"(?i)(token|secret|password|signature|authorization)=[^\s&]+"),
)


# Each scrubber needs a digit, an "@" or an "=" to match: text without any (most log lines) is left as it is.
_MAYBE_SCRUBBED = re.compile(r"[\d@=]")


def scrub(text: str) -> str:
    """Replace everything that could identify a worker or open an account with [redacted]."""
    if not _MAYBE_SCRUBBED.search(text):
        return text
    for pattern in _SCRUBBERS:
        text = pattern.sub("[redacted]", text)
    return text


class PrivacyFilter(logging.Filter):
    """Drops noisy library records and redacts what remains (see module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(NOISY_LOGGERS) and record.levelno < logging.WARNING:
            return False
        if record.__dict__.get("_scrubbed"):  # by the filter of another of our handlers: its msg is scrubbed, args None
            return True
        record._scrubbed = True  # type: ignore[attr-defined]
        message = record.getMessage()
        record.msg, record.args = scrub(message), None
        if record.exc_info:
            # Exception messages can carry input; keep the type and where it happened, not the text.
            kind, _value, tb = record.exc_info
            # Frame locations only: a source line can hold a literal from a test or a template.
            frames = "".join(f'  File "{f.filename}", line {f.lineno}, in {f.name}\n' for f in traceback.extract_tb(tb))
            record.msg = f"{record.msg} [{kind.__name__ if kind else 'exception'}]\n{frames}".rstrip()
            record.exc_info, record.exc_text = None, None
        return True


class SafeFormatter(logging.Formatter):
    """`time level logger message key=value...` with only the allowed extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        # Our handlers share one formatter (`setup_logging`): the second one reuses the line of the first.
        done = record.__dict__.get("_formatted")
        if done is not None and done[0] is self:
            return done[1]
        line = super().format(record)
        fields = record.__dict__
        extras = [f"{key}={scrub(str(fields[key]))}" for key in SAFE_EXTRAS if key in fields]
        line = " ".join([line, *extras])
        record._formatted = (self, line)  # type: ignore[attr-defined]
        return line


def reset_logging() -> None:
    """Remove and close the handlers `setup_logging` added."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_grievance", False):
            root.removeHandler(handler)
            handler.close()


def setup_logging(level: str, file: Path | None, stderr_level: str | None = None) -> None:
    """Configure the root logger once: stderr (from `stderr_level`), and a 0600 file if asked."""
    reset_logging()
    root = logging.getLogger()
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(stderr_level or level)
    handlers: list[logging.Handler] = [console]
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(file.parent, 0o700)
        descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(descriptor)
        handlers.append(logging.FileHandler(file, encoding="utf-8"))
    privacy, formatter = PrivacyFilter(), SafeFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    for handler in handlers:
        handler._grievance = True  # type: ignore[attr-defined]
        handler.addFilter(privacy)
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
