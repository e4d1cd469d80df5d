"""An HTTPS webhook into the operator's own case system, signed with HMAC-SHA256.

Each case is one POST of JSON `{schema, case_id, urgent, sealed}` (`sealed` is
the age ciphertext in base64: the receiver stores it or opens it with the
operator's key; this server cannot read it). Headers: `X-Grievance-Timestamp`
(unix seconds), `X-Grievance-Signature: v1=<hex HMAC-SHA256(secret, "timestamp.body")>`
and `Idempotency-Key: <case id>`, because delivery is at least once and the
receiver must keep a case id once. 2xx is delivered; 408, 429, 5xx, timeouts and
connection errors are retried; any other answer (a 4xx, a redirect) will not get
better by retrying and dead-letters the case at once. Only https is accepted.
"""

from __future__ import annotations

import base64
import json
import ssl
import time
from collections.abc import Callable

import httpx

from .. import crypto
from ..outbox import SinkError

SCHEMA = "grievance.sealed-case/1"
RETRYABLE_STATUS = frozenset({408, 425, 429})


class WebhookSink:
    """Case sink that POSTs each sealed case to the operator's HTTPS endpoint."""

    kind = "webhook"

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        ca_file: str | None = None,
        timeout_seconds: float = 10,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not url.startswith("https://"):
            raise ValueError("the webhook sink only posts over https")
        self.url = url
        self._secret = secret.encode()
        self._clock = clock
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
        # No redirects (a signed case is not re-sent elsewhere); no proxy or CA from the environment.
        self._client = httpx.Client(verify=verify, timeout=timeout_seconds, follow_redirects=False, trust_env=False)

    def body(self, case_id: str, sealed: bytes, urgent: bool) -> bytes:
        document = {"schema": SCHEMA, "case_id": case_id, "urgent": urgent, "sealed": base64.b64encode(sealed).decode()}
        return json.dumps(document, separators=(",", ":")).encode()

    def deliver(self, case_id: str, sealed: bytes, urgent: bool) -> None:
        body = self.body(case_id, sealed, urgent)
        timestamp = int(self._clock())
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": case_id,
            "X-Grievance-Timestamp": str(timestamp),
            "X-Grievance-Signature": crypto.sign_webhook(self._secret, timestamp, body),
            "User-Agent": "grievance-hotline",
        }
        try:
            response = self._client.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException:
            raise SinkError("the webhook did not answer in time", retryable=True, kind="timeout") from None
        except httpx.TransportError:
            raise SinkError("the webhook is unreachable (connection or TLS)", retryable=True, kind="unreachable") from None
        status = response.status_code
        if 200 <= status < 300:
            return
        retryable = status >= 500 or status in RETRYABLE_STATUS
        raise SinkError(f"the webhook answered {status}", retryable=retryable, kind=f"http_{status}")

    def close(self) -> None:
        self._client.close()
