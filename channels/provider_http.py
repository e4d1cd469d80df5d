"""What the webhook adapters share on the HTTP side: plain answers, Meta's handshake, signature
and Graph errors, bounded downloads.

Meta verifies and signs WhatsApp Cloud and Messenger webhooks the same way (the `hub.*`
subscription check; `X-Hub-Signature-256`, the hex HMAC-SHA256 of the raw body with the app
secret), and both speak the Graph API, whose errors say whether waiting helps. Every provider's
media is read through `download_limited`, which stops reading at the size limit, so a worker's
file (or an attacker's) never occupies more memory than that.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Collection, Mapping

import httpx
from flask import Response

MAX_CHALLENGE_CHARS = 256  # Meta's hub.challenge is a short number; anything longer is not Meta


class MediaUnavailable(Exception):
    """A worker's media could not be fetched; `retryable` says whether the provider should deliver the webhook again."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


def plain_response(text: str, status: int) -> Response:
    """A short fixed answer to a provider (never content)."""
    response = Response(text, status=status, mimetype="text/plain")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def hub_signature_ok(app_secret: bytes, raw: bytes, header: str) -> bool:
    """Meta's `X-Hub-Signature-256`: "sha256=" and the hex HMAC-SHA256 of the raw body (compared in constant time)."""
    expected = b"sha256=" + hmac.new(app_secret, raw, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(expected, header.strip().lower().encode("latin-1", "replace"))


def meta_handshake(args: Mapping[str, str], verify_token: bytes, log: logging.Logger, channel: str) -> Response:
    """Meta's subscription check (`GET` with `hub.mode`, `hub.verify_token`, `hub.challenge`): echo
    the challenge when the mode is `subscribe` and the token is ours (compared in constant time), else 403."""
    token = args.get("hub.verify_token", "").encode("utf-8", "replace")
    challenge = args.get("hub.challenge", "")
    token_ok = hmac.compare_digest(token, verify_token)
    if args.get("hub.mode") == "subscribe" and token_ok and 0 < len(challenge) <= MAX_CHALLENGE_CHARS:
        log.info("webhook verified by Meta", extra={"channel": channel})
        return plain_response(challenge, 200)
    log.warning("webhook verification refused", extra={"channel": channel})
    return plain_response("forbidden", 403)


def graph_error_code(response: httpx.Response) -> int | None:
    """Graph's numeric error code from `{"error": {"code": ...}}`, if there is one."""
    try:
        code = response.json().get("error", {}).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, int) else None


def graph_retryable(status: int, code: int | None, retryable_codes: Collection[int]) -> bool:
    """Whether a Graph API failure may succeed later. Each API names its own `retryable_codes`
    (Messenger's and WhatsApp Cloud's differ); any other code Graph gives on a 4xx other than
    429 is a problem time cannot fix; without a code, 429 and 5xx are worth a retry."""
    if code is not None and code in retryable_codes:
        return True
    if code is not None and status < 500 and status != 429:
        return False  # Graph named the problem, and it is not one time can fix
    return status == 429 or status >= 500


def download_limited(http: httpx.Client, url: str, max_bytes: int, *, headers: dict | None = None,
                     retryable_status=lambda status: status >= 500, what: str = "download") -> tuple[str, bytes]:
    """(content type, bytes) of `url`, read no further than `max_bytes`; `MediaUnavailable` otherwise."""
    try:
        with http.stream("GET", url, headers=headers) as response:
            if response.status_code != 200:
                raise MediaUnavailable(f"{what}_{response.status_code}", retryable=retryable_status(response.status_code))
            data = bytearray()
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > max_bytes:  # stop reading: never hold more than the limit
                    raise MediaUnavailable("too_large", retryable=False)
            return response.headers.get("content-type", ""), bytes(data)
    except httpx.HTTPError as error:
        raise MediaUnavailable(f"network_{type(error).__name__}", retryable=True) from None
