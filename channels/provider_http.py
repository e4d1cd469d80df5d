"""What the webhook adapters share on the HTTP side: plain answers, Meta's signature, bounded downloads.

Meta signs WhatsApp Cloud and Messenger webhooks the same way (`X-Hub-Signature-256`, the
hex HMAC-SHA256 of the raw body with the app secret). Every provider's media is read through
`download_limited`, which stops reading at the size limit, so a worker's file (or an attacker's)
never occupies more memory than that.
"""

from __future__ import annotations

import hashlib
import hmac

import httpx
from flask import Response


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
