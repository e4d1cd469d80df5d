"""The Messenger Send API: text with quick replies inside the windows Meta allows, and media downloads.

A Page may answer freely within 24 hours of the worker's last message (RESPONSE).
After that only a person may answer, for up to 7 days, with the HUMAN_AGENT tag, and
only when the Page has that permission (`channels.messenger.human_agent_tag`). Later
than that nothing may be sent: the message stays readable by STATUS. Every failure is a
typed error that names only the HTTP status and Graph's error code, never the PSID or
the text; the token goes in a header, never in a URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import httpx

from channels.base import SendError
from channels.whatsapp_cloud.compose import shorten, split_text
from channels.provider_http import MediaUnavailable, download_limited, graph_error_code, graph_retryable

TEXT_LIMIT = 2000
MAX_QUICK_REPLIES = 13
QUICK_REPLY_TITLE_LIMIT = 20
TIMEOUT = httpx.Timeout(15.0, connect=5.0)
# Stop a little early: Meta's clock and ours may differ, and the stored time is to the minute.
STANDARD_WINDOW = timedelta(hours=24) - timedelta(minutes=5)
HUMAN_AGENT_WINDOW = timedelta(days=7) - timedelta(minutes=5)
RETRYABLE_CODES = frozenset({1, 2, 4, 17, 32, 613})  # temporary errors and rate limits


class OutsideWindow(SendError):
    """Meta allows no message to this worker now: it waits for STATUS."""

    def __init__(self) -> None:
        super().__init__("messenger: outside the messaging window (kept for STATUS)", retryable=False)


def messaging_type(last_inbound_at: datetime | None, human_agent: bool, now: datetime | None = None) -> dict:
    """The `messaging_type` (and tag) a message may go out with now; raises `OutsideWindow`."""
    if last_inbound_at is None:
        raise OutsideWindow()
    seen = last_inbound_at if last_inbound_at.tzinfo else last_inbound_at.replace(tzinfo=UTC)
    since = (now or datetime.now(UTC)) - seen
    if since < STANDARD_WINDOW:
        return {"messaging_type": "RESPONSE"}
    if human_agent and since < HUMAN_AGENT_WINDOW:
        return {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    raise OutsideWindow()


def message_bodies(text: str, choices: Sequence[tuple[str, str]]) -> list[dict]:
    """The `message` objects of a reply: the text in pieces, quick replies on the last one."""
    pieces = [{"text": piece} for piece in split_text(text, TEXT_LIMIT)] or [{"text": "…"}]
    if choices and len(choices) <= MAX_QUICK_REPLIES:
        pieces[-1]["quick_replies"] = [
            {"content_type": "text", "title": shorten(label, QUICK_REPLY_TITLE_LIMIT) or value, "payload": value}
            for value, label in choices
        ]
    return pieces


class SendApi:
    """POST /me/messages with the Page access token; media downloads from Meta's CDN."""

    def __init__(self, base_url: str, page_access_token: str, *, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = {"Authorization": f"Bearer {page_access_token}"}
        self._http = httpx.Client(timeout=TIMEOUT, follow_redirects=False, transport=transport)
        # Media URLs are Meta's CDN (https); plain http only when Graph itself is a local fake.
        self._media_schemes = ("https://", "http://") if self.base_url.startswith("http://") else ("https://",)

    def send(self, psid: str, message: dict, window: dict) -> str | None:
        body = {"recipient": {"id": psid}, **window, "message": message}
        try:
            response = self._http.post(f"{self.base_url}/me/messages", json=body, headers=self._auth)
        except httpx.HTTPError as error:
            raise SendError(f"messenger: network error ({type(error).__name__})", retryable=True) from None
        if response.status_code >= 300:
            code = graph_error_code(response)
            detail = f"HTTP {response.status_code}" + (f", Graph error {code}" if code is not None else "")
            raise SendError(f"messenger: {detail}", retryable=graph_retryable(response.status_code, code, RETRYABLE_CODES))
        try:
            mid = response.json().get("message_id")
        except (ValueError, AttributeError):
            return None
        return mid if isinstance(mid, str) else None

    def fetch_media(self, url: str, max_bytes: int) -> tuple[str, bytes]:
        """(content type, bytes) of an attachment, read no further than `max_bytes` (no token sent: a CDN URL)."""
        if not url.startswith(self._media_schemes):
            raise MediaUnavailable("bad_url", retryable=False)
        return download_limited(self._http, url, max_bytes)

    def close(self) -> None:
        self._http.close()
