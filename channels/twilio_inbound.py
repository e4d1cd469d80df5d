"""Twilio webhooks, inbound side: the signature check, the form decoded, media fetched, TwiML out.

Order matters: `verify_signature` runs before anything reads the form for
meaning (and fails closed), `parse_inbound` turns Twilio's form into plain
values, `MediaFetcher` downloads the worker's photos and voice notes with the
account credentials, and `twiml_reply` answers in the same HTTP response.
None of these logs a number, a body or a URL.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse, urlsplit

import requests
from flask import Request
from twilio.request_validator import RequestValidator, add_port, remove_port

from bot.messages import MediaItem, Reply

from .base import is_bsuid
from .media import MediaRejected, check_type
from .media_work import Fetched, MessageMedia
from .sms_segments import sms_messages

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
BODY_HASH_PARAMETER = "bodySHA256"  # in the query of a signed URL when the body is not a form
WHATSAPP_PREFIX = "whatsapp:"
WHATSAPP_MAX_CHARS = 1600  # Twilio's limit for one message body
MAX_MEDIA = 10  # Twilio sends at most 10 media items with one message
MEDIA_TIMEOUT_SECONDS = 5.0  # one media download
MEDIA_BUDGET_SECONDS = 8.0  # all downloads of one webhook: Twilio gives up on us after 15 s
CLEAN_ALLOWANCE_SECONDS = 4.0  # beyond that budget, for re-encoding the last voice note
_PHONE = re.compile(r"^\+?[0-9]{3,15}$")
_TWIML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'
_TWIML_EMPTY = _TWIML_HEAD + "<Response />"
_XML_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})  # what ElementTree escapes in text
# What XML 1.0 forbids in a document (controls but tab, LF and CR; surrogates; U+FFFE, U+FFFF):
# one of them in any reply would make Twilio refuse the whole TwiML, so they are dropped.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return text.translate(_XML_TEXT)


class MalformedWebhook(Exception):
    """A correctly signed request that is not an inbound message we understand (the reason is safe to log)."""


def verify_signature(validator: RequestValidator, public_url: str, request: Request) -> bool:
    """True only for a request Twilio signed for our public URL; fails closed.

    Twilio signs the URL it called, i.e. the public one. Behind a reverse proxy
    `request.url` is the proxy's view (another host, http, a port), so the URL is
    rebuilt from `server.public_url`, the path and the raw query string. A body
    that is not a form is checked against the `bodySHA256` the signed URL names.
    """
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature:
        return False
    url = public_url.rstrip("/") + request.path
    if request.query_string:
        url += "?" + request.query_string.decode("utf-8", "replace")
    try:
        if request.query_string and BODY_HASH_PARAMETER in parse_qs(urlsplit(url).query):
            # A body that is not a form (JSON): Twilio signs the URL, which carries the body's SHA-256.
            # The validator checks that hash only when given the raw body; given the (empty) parsed
            # form, it would accept any body under a signature captured from another request.
            raw = request.get_data(cache=True)
            return bool(validator.validate(url, raw.decode("utf-8"), signature))
        return _form_signed(validator, url, request.form, signature)
    except Exception:  # a malformed header or body (not UTF-8) is simply not a valid signature
        return False


def _form_signed(validator: RequestValidator, url: str, form, signature: str) -> bool:
    """What `validator.validate(url, form, signature)` answers, computing one signature where it can.

    Twilio has signed the URL both with and without its port; `validate` computes the
    signature of both forms every time. Here the form without the port (the usual one) is
    computed first, and the other only when that one does not match. The same algorithm
    (twilio's `compute_signature`), compared in constant time.
    """
    parsed = urlparse(url)
    for variant in (remove_port(parsed), add_port(parsed)):
        if hmac.compare_digest(validator.compute_signature(variant, form).encode(), signature.encode()):
            return True
    return False


@dataclass(frozen=True)
class MediaRef:
    url: str
    content_type: str


@dataclass(frozen=True)
class InboundFields:
    """What we use of Twilio's inbound form (ProfileName, WaId and the rest are never read)."""

    channel: str  # "sms" or "whatsapp"
    sender: str  # E.164, or a WhatsApp user's BSUID; without the "whatsapp:" prefix
    text: str
    message_sid: str
    media: tuple[MediaRef, ...]
    opt_out: str | None = None  # "STOP", "START" or "HELP": a keyword Twilio acted on itself (see `opt_out_signal`)

    def __repr__(self) -> str:
        return f"InboundFields(channel={self.channel!r}, sender=<redacted>, media={len(self.media)})"


def parse_inbound(form) -> InboundFields:
    """Decode Twilio's inbound message form; raise `MalformedWebhook` for anything else."""
    sender = (form.get("From") or "").strip()
    message_sid = (form.get("MessageSid") or form.get("SmsMessageSid") or "").strip()
    if not sender or not message_sid:
        raise MalformedWebhook("missing From or MessageSid")
    channel = "sms"
    if sender.lower().startswith(WHATSAPP_PREFIX):
        channel, sender = "whatsapp", sender[len(WHATSAPP_PREFIX):].strip()
    # A WhatsApp user with a username and no visible number: kept as its BSUID, answered by TwiML
    # like anyone, and by "whatsapp:<BSUID>" through the REST API later.
    username = channel == "whatsapp" and is_bsuid(sender)
    if not username and not _PHONE.match(sender):
        raise MalformedWebhook("sender is not a phone number")
    if not username and channel == "whatsapp" and not sender.startswith("+"):
        sender = "+" + sender
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError:
        raise MalformedWebhook("NumMedia is not a number") from None
    media = []
    for index in range(max(0, min(count, MAX_MEDIA))):
        url = form.get(f"MediaUrl{index}")
        if url:
            media.append(MediaRef(url, form.get(f"MediaContentType{index}") or ""))
    body = form.get("Body") or ""
    return InboundFields(channel, sender, body, message_sid, tuple(media), opt_out_signal(form.get("OptOutType"), channel, body))


# Twilio's own keywords on its numbers (without Advanced Opt-Out, no OptOutType is sent but Twilio
# still acts on them): a message that is only one of these opts the sender out, or back in, or
# gets Twilio's own help text. (nlu/keywords.py keeps the bot from ever naming one on SMS.)
TWILIO_OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
TWILIO_OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES"})
TWILIO_HELP_WORDS = frozenset({"HELP", "INFO"})
OPT_OUT_TYPES = frozenset({"STOP", "START", "HELP"})


def opt_out_signal(opt_out_type: str | None, channel: str, body: str) -> str | None:
    """STOP, START or HELP when Twilio treated this message as one of its keywords, else None.

    With Advanced Opt-Out, Twilio says so in `OptOutType` (on SMS and WhatsApp senders
    of the Messaging Service). Without it, Twilio still acts on its default keywords
    on SMS, matched on the whole message in any case: so are they here.
    """
    given = (opt_out_type or "").strip().upper()
    if given:
        return given if given in OPT_OUT_TYPES else None
    if channel != "sms":
        return None
    word = body.strip().upper()
    if word in TWILIO_OPT_OUT_WORDS:
        return "STOP"
    if word in TWILIO_OPT_IN_WORDS:
        return "START"
    return "HELP" if word in TWILIO_HELP_WORDS else None


class MediaFetcher:
    """Downloads media from Twilio with HTTP basic auth (account SID, auth token).

    Credentials go only to the Twilio API's own origin (`api_base_url`; a fake
    server's in tests); Twilio answers with a redirect to its media store, and
    `requests` drops the credentials when a redirect leaves the host. Size and
    time are bounded so a webhook still answers within Twilio's 15 seconds.
    """

    def __init__(self, account_sid: str, auth_token: str, api_base_url: str, max_bytes: int) -> None:
        self.auth = (account_sid, auth_token)
        self.origin = _origin(api_base_url)
        self.max_bytes = max_bytes
        self.timeout = MEDIA_TIMEOUT_SECONDS
        self.budget = MEDIA_BUDGET_SECONDS
        self.session = requests.Session()
        self.session.max_redirects = 3

    def fetch_all(self, refs: tuple[MediaRef, ...], channel: str, work: MessageMedia) -> Fetched:
        """The media that could be fetched and cleaned (by `work`), and the reason of each one that
        could not (the worker is told); each failure is logged (reason only) and costs only that file."""
        if not refs or self.max_bytes <= 0:
            if refs:
                log.warning("twilio media not kept", extra={"channel": channel, "reason": "media disabled", "count": len(refs)})
            return (), ()
        deadline = time.monotonic() + self.budget
        items: list[MediaItem] = []
        refused: list[str] = []
        for ref in refs:
            try:
                items.append(self._fetch(ref, deadline, work))
                continue
            except MediaRejected as rejected:  # its message is one of a few fixed phrases
                log.warning("twilio media not kept", extra={"channel": channel, "reason": str(rejected)})
                refused.append(rejected.reason)
                continue
            except requests.Timeout:
                log.warning("twilio media not kept", extra={"channel": channel, "reason": "timeout"})
            except requests.RequestException as error:
                log.warning("twilio media not kept", extra={"channel": channel, "reason": type(error).__name__})
            except Exception as error:  # a photo must never cost the worker their text
                log.warning("twilio media not kept", extra={"channel": channel, "reason": type(error).__name__})
            refused.append("unreadable")
        return tuple(items), tuple(refused)

    def _fetch(self, ref: MediaRef, deadline: float, work: MessageMedia) -> MediaItem:
        if _origin(ref.url) != self.origin:
            raise MediaRejected("media url not on the Twilio API host")
        if ref.content_type:
            check_type(ref.content_type)  # a video or a document is not even downloaded
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise MediaRejected("no time left for more media")
        timeout = min(self.timeout, remaining)
        with self.session.get(ref.url, auth=self.auth, timeout=timeout, stream=True) as response:
            if response.status_code != 200:
                raise MediaRejected(f"media http {response.status_code}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise MediaRejected("media too large", "too_large")
            data = bytearray()
            for chunk in response.iter_content(64 * 1024):
                data += chunk
                if len(data) > self.max_bytes:
                    raise MediaRejected("media too large", "too_large")
                if time.monotonic() > deadline:
                    raise MediaRejected("media download too slow")
            content_type = ref.content_type or response.headers.get("Content-Type", "")
        time_left = deadline + CLEAN_ALLOWANCE_SECONDS - time.monotonic()
        return work.clean(content_type, bytes(data), self.max_bytes, time_limit=time_left)

    def close(self) -> None:
        self.session.close()


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme.lower(), f"{(parts.hostname or '').lower()}:{port}"


def twiml_reply(reply: Reply, channel: str, max_segments: int, gsm7_fold: tuple[str, ...] = ()) -> str:
    """TwiML answering one inbound message: the turn's texts as one message, split only as needed.

    SMS: each <Message> stays within `max_segments` segments (an NGO pays per
    segment). WhatsApp has no segments, only Twilio's 1600-character body limit.
    A duplicate delivery, or a turn without texts, gets an empty <Response/>. SMS in a
    language of `gsm7_fold` is sent without the marks GSM-7 cannot carry (`sms_messages`).
    """
    if not reply.texts or reply.duplicate:
        return _TWIML_EMPTY
    text = _XML_FORBIDDEN.sub("", "\n\n".join(reply.texts))
    if channel == "sms":
        parts = sms_messages(text, reply.language, gsm7_fold, max_segments)
    else:
        parts = split_by_length(text, WHATSAPP_MAX_CHARS)
    if not parts:
        return _TWIML_EMPTY
    # Written directly rather than through twilio's MessagingResponse (an ElementTree per reply):
    # the same bytes, escaped the same way (tests/test_hot_path_equivalence.py compares the two).
    messages = "".join(f"<Message>{_xml_text(part)}</Message>" if part else "<Message />" for part in parts)
    return f'{_TWIML_HEAD}<Response>{messages}</Response>'


def split_by_length(text: str, limit: int) -> list[str]:
    """Split `text` into parts of at most `limit` UTF-16 units, at line breaks, else spaces, else anywhere."""

    def size(value: str) -> int:
        return len(value.encode("utf-16-le")) // 2

    parts: list[str] = []
    current = ""
    for piece in re.split(r"(?<=\n)|(?<= )", text):
        if current and size(current + piece) > limit:
            parts.append(current.rstrip())
            current = piece.lstrip()
        else:
            current += piece
        while size(current) > limit:
            cut = limit
            while size(current[:cut]) > limit:
                cut -= 1
            parts.append(current[:cut])
            current = current[cut:]
    if current.strip():
        parts.append(current.rstrip())
    return parts
