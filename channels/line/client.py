"""The LINE Messaging API calls the hotline makes, through the official SDK (line-bot-sdk v3).

Replies use the event's reply token: free, but good for a short time only. Later messages
(operator replies, notices, a reply whose token failed) are pushes, which LINE counts
against the account's monthly quota: before each push the quota is checked (LINE's own
figure, or `channels.line.monthly_push_quota` when lower), a warning is logged once the
share `quota_warning_share` is used, and at the quota nothing more is pushed: the message
waits for STATUS. Content (photos, voice notes) is downloaded with a streaming limit.
Errors name only the HTTP status, never the user id, the token or the text.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence

import httpx
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessageAction,
    MessagingApi,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    TextMessage,
)

from channels.base import SendError
from channels.whatsapp_cloud.compose import shorten, split_text
from channels.provider_http import MediaUnavailable, download_limited

log = logging.getLogger(__name__)

TEXT_LIMIT = 5000
MAX_MESSAGES = 5  # per reply or push request
MAX_QUICK_REPLIES = 13
LABEL_LIMIT = 20
QUOTA_CACHE_SECONDS = 60
TIMEOUT = httpx.Timeout(15.0, connect=5.0)


class QuotaReached(SendError):
    """The month's push quota is used: the message waits for STATUS."""

    def __init__(self) -> None:
        super().__init__("line: monthly push quota reached (kept for STATUS)", retryable=False)


def text_messages(text: str, choices: Sequence[tuple[str, str]]) -> list[TextMessage]:
    """The text in pieces of LINE's limit; the menu answers as quick-reply buttons on the last one."""
    pieces = split_text(text, TEXT_LIMIT) or ["…"]
    messages = [TextMessage(text=piece) for piece in pieces]
    if choices and len(choices) <= MAX_QUICK_REPLIES:
        items = [QuickReplyItem(action=MessageAction(label=shorten(label, LABEL_LIMIT) or value, text=value))
                 for value, label in choices]
        messages[-1] = TextMessage(text=pieces[-1], quick_reply=QuickReply(items=items))
    return messages


def _error(action: str, error: ApiException) -> SendError:
    status = getattr(error, "status", None) or 0
    return SendError(f"line: {action} HTTP {status}", retryable=status == 429 or status >= 500)


class LineClient:
    """One LINE Official Account: reply, push (within the quota), content download."""

    def __init__(self, access_token: str, api_base_url: str, data_api_base_url: str, *, monthly_quota: int | None,
                 warning_share: float) -> None:
        self._api_client = ApiClient(Configuration(host=api_base_url.rstrip("/"), access_token=access_token))
        self.api = MessagingApi(self._api_client)
        self.data_api_base_url = data_api_base_url.rstrip("/")
        self._auth = {"Authorization": f"Bearer {access_token}"}
        self._http = httpx.Client(timeout=TIMEOUT, follow_redirects=False)
        self.monthly_quota = monthly_quota
        self.warning_share = warning_share
        self._quota_lock = threading.Lock()
        self._quota: tuple[float, int | None, int] | None = None  # (checked at, quota, used)
        self.pushes_refused = 0  # a metric: pushes not sent because the quota was reached

    # ------------------------------------------------------------ reply and push

    def reply(self, reply_token: str, text: str, choices: Sequence[tuple[str, str]]) -> bool:
        """Answer with the reply token (free); False when LINE refused it (expired, used): push instead."""
        messages = text_messages(text, choices)[:MAX_MESSAGES]
        try:
            self.api.reply_message(ReplyMessageRequest(reply_token=reply_token, messages=messages))
        except ApiException as error:
            log.warning("reply token refused; the answer will be pushed", extra={"channel": "line", "status": error.status})
            return False
        except Exception as error:  # urllib3 network errors
            log.warning("reply failed; the answer will be pushed", extra={"channel": "line", "reason": type(error).__name__})
            return False
        return True

    def push(self, user_id: str, text: str, choices: Sequence[tuple[str, str]], retry_key: str) -> None:
        """Push a message (counted against the quota); raises `QuotaReached` or `SendError`."""
        messages = text_messages(text, choices)
        self._take_quota(1 + (len(messages) - 1) // MAX_MESSAGES)
        for start in range(0, len(messages), MAX_MESSAGES):
            key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{retry_key}/{start}"))  # LINE drops a retried push with the same key
            try:
                self.api.push_message(PushMessageRequest(to=user_id, messages=messages[start:start + MAX_MESSAGES]),
                                      x_line_retry_key=key)
            except ApiException as error:
                if error.status == 409:  # already accepted under this retry key: it was sent
                    continue
                raise _error("push", error) from None
            except Exception as error:
                raise SendError(f"line: push network error ({type(error).__name__})", retryable=True) from None

    def _take_quota(self, pushes: int) -> None:
        with self._quota_lock:
            now = time.monotonic()
            if self._quota is None or now - self._quota[0] > QUOTA_CACHE_SECONDS:
                self._quota = (now, *self._read_quota())
            checked_at, quota, used = self._quota
            if quota is not None and used + pushes > quota:
                self.pushes_refused += 1
                log.warning("LINE push quota reached: message kept for STATUS",
                            extra={"channel": "line", "reason": f"{used} of {quota} used"})
                raise QuotaReached()
            self._quota = (checked_at, quota, used + pushes)
            if quota is not None and used + pushes >= self.warning_share * quota > used:
                log.warning("LINE push quota nearly used", extra={"channel": "line", "reason": f"{used + pushes} of {quota} used"})

    def _read_quota(self) -> tuple[int | None, int]:
        """(the month's quota: the lower of LINE's and the configured one, or None for none; pushes used so far)."""
        try:
            limit = self.api.get_message_quota()
            used = self.api.get_message_quota_consumption().total_usage
        except ApiException as error:
            raise _error("quota", error) from None
        except Exception as error:
            raise SendError(f"line: quota network error ({type(error).__name__})", retryable=True) from None
        own = limit.value if limit.type == "limited" else None
        quotas = [q for q in (own, self.monthly_quota) if q is not None]
        return (min(quotas) if quotas else None), int(used or 0)

    # ------------------------------------------------------------ content

    def content(self, message_id: str, max_bytes: int) -> tuple[str, bytes]:
        """(content type, bytes) of a photo or voice note the worker sent, read no further than `max_bytes`."""
        if not message_id.isdigit():
            raise MediaUnavailable("bad_id", retryable=False)
        url = f"{self.data_api_base_url}/v2/bot/message/{message_id}/content"
        return download_limited(self._http, url, max_bytes, headers=self._auth, what="content")

    def close(self) -> None:
        self._http.close()
        self._api_client.close()
