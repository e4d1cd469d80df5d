"""The Rasa backend (`nlu.backend: rasa`): the category from a Rasa 3.6 server, with the
built-in understander standing in whenever Rasa is slow or down.

Rasa answers `POST {url}/model/parse` (`rasa run --enable-api --auth-token ...`; the
project is in `nlu/rasa/`). Without a token Rasa's HTTP API lets anyone who reaches its port
parse, and load or replace the model, so the server is started with one (`make rasa-run`)
and every request carries it as Rasa expects, `?token=` (the URL is never logged). A worker must never wait on it: each call has a short timeout, and any
failure (refused, timed out, an HTTP error, an answer that is not Rasa's) makes the
built-in model answer instead. Each fallback is counted (`fallbacks`) and logged on
the "nlu.rasa" logger with only the backend and the reason: never the text, never
Rasa's own error message (it may quote the text).

Urgency, entities and language always come from the built-in pieces: urgency must not
depend on a server being up, and the Rasa project is trained for categories only.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence

from nlu.categories import TAXONOMY, is_urgent
from nlu.entities import extract_entities
from nlu.language import detect_language
from nlu.statistical import SUPPORTED_LANGUAGES
from nlu.stems import FoldedText
from nlu.understanding import Understander, Understanding

logger = logging.getLogger("nlu.rasa")

# Rasa's answer is small; anything bigger is not Rasa.
_MAX_RESPONSE_BYTES = 1_000_000


class RasaUnavailable(Exception):
    """Rasa gave no usable answer; `reason` is a short code safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RasaUnderstander:
    """Asks a Rasa server for the category; falls back to `fallback` when it cannot."""

    name = "rasa"

    def __init__(
        self,
        url: str,
        timeout_seconds: float,
        fallback: Understander,
        languages: Sequence[str] = SUPPORTED_LANGUAGES,
        token: str | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):  # urllib would also open file: and ftp: URLs
            raise ValueError("the Rasa URL must start with http:// or https://")
        self.endpoint = url.rstrip("/") + "/model/parse"  # safe to show: no token
        self.parse_url = self.endpoint + ("?" + urllib.parse.urlencode({"token": token}) if token else "")
        self.timeout_seconds = timeout_seconds
        self.fallback = fallback
        self.languages = tuple(languages)
        self.fallbacks = 0  # messages the built-in answered because Rasa could not
        self._lock = threading.Lock()  # gunicorn threads share one understander
        # Rasa runs beside the bot: never send a worker's words through a proxy.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def understand(self, text: str, language: str | None = None) -> Understanding:
        try:
            return self.understand_with_rasa(text, language)
        except RasaUnavailable as failure:
            with self._lock:
                self.fallbacks += 1
            logger.warning(
                "Rasa did not answer; the built-in understander answered instead",
                extra={"backend": self.name, "reason": failure.reason},
            )
            return self.fallback.understand(text, language)

    def understand_with_rasa(self, text: str, language: str | None = None) -> Understanding:
        """Like `understand`, without the fallback: raises RasaUnavailable."""
        category, confidence = self.categorize(text)
        found_language = language or detect_language(text, self.languages)
        return Understanding(
            found_language, category, confidence, is_urgent(FoldedText.of(text)), extract_entities(text)
        )

    def categorize(self, text: str) -> tuple[str | None, float]:
        """Rasa's intent as a taxonomy code and its confidence; (None, 0.0) for "none"
        or an intent outside the taxonomy. Raises RasaUnavailable."""
        parsed = self._post({"text": text})
        intent = parsed.get("intent") if isinstance(parsed, dict) else None
        if not isinstance(intent, dict):
            raise RasaUnavailable("bad_response")
        name, confidence = intent.get("name"), intent.get("confidence")
        if name not in TAXONOMY:
            return None, 0.0
        if not isinstance(confidence, int | float) or not 0 <= confidence <= 1:
            raise RasaUnavailable("bad_response")
        return name, round(float(confidence), 3)

    def _post(self, payload: dict) -> object:
        request = urllib.request.Request(  # noqa: S310  http(s) only, checked in __init__
            self.parse_url,
            data=json.dumps(payload).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with self._opener.open(request, timeout=self.timeout_seconds) as response:
                body = response.read(_MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as error:
            error.close()
            raise RasaUnavailable(f"http_{error.code}") from None
        except TimeoutError:  # socket.timeout is TimeoutError since Python 3.10
            raise RasaUnavailable("timeout") from None
        except urllib.error.URLError as error:
            timed_out = isinstance(error.reason, TimeoutError)
            raise RasaUnavailable("timeout" if timed_out else "unreachable") from None
        except (OSError, http.client.HTTPException):
            raise RasaUnavailable("connection_error") from None
        if len(body) > _MAX_RESPONSE_BYTES:
            raise RasaUnavailable("bad_response")
        try:
            return json.loads(body)
        except ValueError:
            raise RasaUnavailable("bad_response") from None
