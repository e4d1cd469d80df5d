"""Twilio, outbound side: messages that are not the immediate reply, sent through the REST API.

SMS is folded to GSM-7 for the languages of `gsm7_fold` and split within the
segment budget (one API call per part). WhatsApp is
free-form only inside the 24-hour window that opens at the worker's last
message; later, the deployment's approved template goes out instead
(`ContentSid`), which only asks the worker to reply. Twilio's errors become
`SendError`s that say whether a retry can help and carry only the HTTP status
and Twilio's error code: Twilio's own message names the number and the URL.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from bot.config import TwilioSettings
from bot.messages import ReplyAddress

from .base import SendError
from .dispatcher import SENDING
from .sms_segments import sms_messages
from .twilio_delivery import OPTED_OUT_CODE, DeliveryWatch
from .twilio_inbound import WHATSAPP_MAX_CHARS, WHATSAPP_PREFIX, split_by_length

log = logging.getLogger(__name__)

REST_TIMEOUT_SECONDS = 10.0
WHATSAPP_WINDOW = timedelta(hours=24)
# Start using the template an hour early: the recorded time of the worker's last message is
# rounded down to the minute, and a message queued at 23:59 may leave at 24:01 (error 63016).
WINDOW_MARGIN = timedelta(hours=1)
# REST API errors (HTTP 4xx) that are about load, not about the message: retry later.
RETRYABLE_REST_CODES = frozenset({20429, 21611})  # too many requests; too many messages queued for the sender
PARTS_RETRY_DELAY = timedelta(seconds=30)


class RebasedHttpClient(TwilioHttpClient):
    """The twilio library's HTTP client, sending to `api_base_url` (a fake server in tests) and logging nothing.

    The library logs request URLs and headers and keeps the last request and
    response (which hold the number and the text) for its own tests; here
    neither happens.
    """

    def __init__(self, api_base_url: str, timeout: float = REST_TIMEOUT_SECONDS) -> None:
        super().__init__(timeout=timeout)
        self.base = urlsplit(api_base_url.rstrip("/"))

    def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None, allow_redirects=False):
        parts = urlsplit(url)
        rebased = urlunsplit((self.base.scheme, self.base.netloc, self.base.path + parts.path, parts.query, ""))
        try:
            return super().request(method, rebased, params, data, headers, auth, timeout, allow_redirects)
        finally:
            self._test_only_last_request = None
            self._test_only_last_response = None

    def log_request(self, kwargs) -> None:
        return None

    def log_response(self, status_code, response) -> None:
        return None

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


def send_error_for(status: int, code: int | None) -> SendError:
    """A REST API error as a `SendError`: 429, 5xx and load-related codes retryable, other 4xx permanent."""
    retryable = status == 429 or status >= 500 or code in RETRYABLE_REST_CODES
    return SendError(f"twilio HTTP {status}" + (f" error {code}" if code else ""), retryable=retryable, code=code)


def inside_whatsapp_window(address: ReplyAddress, now: datetime | None = None) -> bool:
    """True while a free-form WhatsApp message is allowed (with a safety margin)."""
    if address.last_inbound_at is None:
        return False
    seen = address.last_inbound_at if address.last_inbound_at.tzinfo else address.last_inbound_at.replace(tzinfo=UTC)
    return (now or datetime.now(UTC)) - seen < WHATSAPP_WINDOW - WINDOW_MARGIN


class TwilioSender:
    """Sends one queued message through Twilio's REST API, with a delivery watch per API message."""

    def __init__(self, settings: TwilioSettings, account_sid: str, auth_token: str, watch: DeliveryWatch) -> None:
        self.settings = settings
        self.watch = watch
        self.http = RebasedHttpClient(settings.api_base_url)
        self.client = Client(account_sid, auth_token, http_client=self.http)

    def send(self, address: ReplyAddress, text: str) -> str | None:
        """Send `text`; return the sid of the first API message. Raises `SendError`.

        Nothing is sent to an address that opted out (STOP); Twilio's error 21610 records
        the opt-out, so no later message is even tried.
        """
        if self.watch.opted_out(address):
            raise SendError("twilio recipient opted out", retryable=False)
        to, from_, parts, template = self._plan(address, text)
        current = SENDING.get()
        attempts = current.attempts if current is not None else 0
        first_sid = None
        for index, part in enumerate(parts):
            watch = self.watch.open(address, part, attempts, current, index)
            if watch is None:  # DELETE cancelled the message: no more of it goes out
                log.info("twilio send stopped: the chat was erased", extra={"channel": address.channel, "count": len(parts) - index})
                return first_sid
            watch_id, callback = watch
            fields = {"content_sid": template} if template else {"body": part}
            try:
                sid = self._create(to=to, from_=from_, status_callback=callback, **fields)
            except SendError as error:
                self.watch.discard(watch_id)
                if error.code == OPTED_OUT_CODE:
                    self.watch.mark_opted_out(address)
                    log.warning("twilio recipient opted out; nothing more is sent to them", extra={"channel": address.channel})
                if index == 0 or not error.retryable:
                    raise
                # Some parts are out: only the rest goes back in the queue, so no part arrives twice.
                self.watch.requeue(address, parts[index:], attempts + 1, PARTS_RETRY_DELAY, current, index)
                log.warning("twilio send partly done; the rest is queued", extra={"channel": address.channel, "count": len(parts) - index})
                return first_sid
            first_sid = first_sid or sid
        return first_sid

    def _plan(self, address: ReplyAddress, text: str) -> tuple[str, str, list[str], str | None]:
        """(to, from, parts, template sid or None) for this address and text."""
        settings = self.settings
        if address.channel == "sms":
            if not settings.sms_from:
                raise SendError("channels.twilio.sms_from is not configured", retryable=False)
            # Folded here like the TwiML answer: the language travels with the address (`CaseStore.reach`).
            parts = sms_messages(text, address.language, settings.gsm7_fold, settings.max_segments_per_message)
            return address.address, settings.sms_from, parts, None
        if address.channel == "whatsapp":
            if not settings.whatsapp_from:
                raise SendError("channels.twilio.whatsapp_from is not configured", retryable=False)
            from_ = settings.whatsapp_from if settings.whatsapp_from.startswith(WHATSAPP_PREFIX) else WHATSAPP_PREFIX + settings.whatsapp_from
            to = WHATSAPP_PREFIX + address.address
            if inside_whatsapp_window(address):
                return to, from_, split_by_length(text, WHATSAPP_MAX_CHARS), None
            if not settings.whatsapp_template_sid:
                raise SendError("no template configured for messages outside the 24-hour window", retryable=False)
            return to, from_, [text], settings.whatsapp_template_sid
        raise SendError(f"channel {address.channel} is not served by twilio", retryable=False)

    def _create(self, **fields) -> str:
        try:
            return self.client.messages.create(**fields).sid
        except TwilioRestException as error:
            raise send_error_for(int(error.status or 0), error.code if isinstance(error.code, int) else None) from None
        except requests.Timeout:
            raise SendError("twilio timeout", retryable=True) from None
        except requests.RequestException as error:
            raise SendError(f"twilio network error {type(error).__name__}", retryable=True) from None
        except TwilioException as error:
            raise SendError(f"twilio client error {type(error).__name__}", retryable=True) from None

    def close(self) -> None:
        self.http.close()
