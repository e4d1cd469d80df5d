"""Meta's Graph API, the two calls the hotline makes: send a message, fetch a worker's media.

Every failure becomes a typed error that says whether a retry can help. Their
messages name only the HTTP status and Graph's error code: Graph's own error
text can quote the recipient's number, and httpx's errors carry the URL.
"""

from __future__ import annotations

import httpx

from channels.base import SendError
from channels.provider_http import MediaUnavailable, download_limited, graph_error_code, graph_retryable

TIMEOUT = httpx.Timeout(15.0, connect=5.0)
# Graph error codes where waiting helps: throttling, spam-rate limits, temporary outages.
RETRYABLE_CODES = frozenset({1, 2, 4, 17, 80007, 130429, 131000, 131016, 131048, 131056, 131057, 133004,
                             190})  # 190: token expired; the deployment renews it and nothing is lost meanwhile
# 131047: more than 24 hours since the worker's last message (re-engagement). Permanent for this
# free-form text; a later attempt goes out as the template. 100, 131026, 131051...: permanent.


def _retryable(status: int, code: int | None) -> bool:
    return graph_retryable(status, code, RETRYABLE_CODES)


class GraphClient:
    """A small Graph API client with an access token and timeouts (one connection pool)."""

    def __init__(
        self, base_url: str, access_token: str, phone_number_id: str, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.phone_number_id = phone_number_id
        self._auth = {"Authorization": f"Bearer {access_token}"}
        # No redirects: the token must go only where Graph's own answer points.
        self._http = httpx.Client(timeout=TIMEOUT, follow_redirects=False, transport=transport)
        # The token goes with the download: never over plain HTTP unless Graph itself is (a local fake).
        self._media_schemes = ("https://", "http://") if self.base_url.startswith("http://") else ("https://",)

    def post_message(self, body: dict) -> str | None:
        """POST one message; return its wamid. Raises `SendError`."""
        try:
            response = self._http.post(f"{self.base_url}/{self.phone_number_id}/messages", json=body, headers=self._auth)
        except httpx.HTTPError as error:
            raise SendError(f"whatsapp cloud: network error ({type(error).__name__})", retryable=True) from None
        if response.status_code >= 300:
            code = graph_error_code(response)
            detail = f"HTTP {response.status_code}" + (f", Graph error {code}" if code is not None else "")
            raise SendError(f"whatsapp cloud: {detail}", retryable=_retryable(response.status_code, code))
        try:
            messages = response.json().get("messages") or [{}]
            wamid = messages[0].get("id")
        except (ValueError, AttributeError, IndexError):
            return None
        return wamid if isinstance(wamid, str) else None

    def fetch_media(self, media_id: str, max_bytes: int) -> tuple[str, bytes]:
        """(content type, bytes) of a worker's media: its URL from Graph, then the download, both with the token."""
        try:
            info = self._http.get(f"{self.base_url}/{media_id}", headers=self._auth)
            if info.status_code != 200:
                code = graph_error_code(info)
                raise MediaUnavailable(f"graph_{code or info.status_code}", retryable=_retryable(info.status_code, code))
            fields = info.json()
            url, content_type = fields.get("url"), fields.get("mime_type") or ""
            if not isinstance(url, str) or not url.startswith(self._media_schemes):
                raise MediaUnavailable("no_url", retryable=False)
            if isinstance(fields.get("file_size"), int) and fields["file_size"] > max_bytes:
                raise MediaUnavailable("too_large", retryable=False)
            return content_type, self._download(url, max_bytes)
        except httpx.HTTPError as error:
            raise MediaUnavailable(f"network_{type(error).__name__}", retryable=True) from None
        except (ValueError, AttributeError):
            raise MediaUnavailable("bad_answer", retryable=True) from None

    def _download(self, url: str, max_bytes: int) -> bytes:
        return download_limited(self._http, url, max_bytes, headers=self._auth,
                                retryable_status=lambda status: _retryable(status, None))[1]

    def close(self) -> None:
        self._http.close()
