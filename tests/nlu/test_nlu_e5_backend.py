"""E5Understander against fake e5 workers on localhost: the worker's probabilities mixed with
the built-in model's, the danger rules as the floor and the model adding danger they miss,
and every way the worker can fail falling back to the built-in model, counted and logged
without the message. The real worker is in tests/test_e5_backend.py."""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.case_record import build_case_record, validate_case_record
from bot.config import ConfigError, Nlu, settings_from_mapping
from bot.draft import Draft
from nlu.backends import make_understander
from nlu.e5_backend import E5Unavailable, E5Understander
from nlu.categories import is_urgent
from nlu.statistical import NgramUnderstander
from nlu.stems import FoldedText

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

REPORT = "they have not paid our wages for two months"


def _answer(labels: dict[str, float], urgent: float) -> dict:
    return {"labels": labels, "urgent": urgent}


class FakeWorker(BaseHTTPRequestHandler):
    """Answers POST /parse the way `behaviour` (set per server) says."""

    behaviour = "wages"
    requests: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "body": body, "authorization": self.headers.get("Authorization")})
        if self.behaviour == "slow":
            time.sleep(1.0)
        if self.behaviour == "error":
            self.send_response(500)
            self.end_headers()
            return
        payload = {
            "wages": _answer({"wages": 0.9, "none": 0.1}, 0.01),
            "danger": _answer({"forced_labour": 0.8, "none": 0.2}, 0.95),
            "calm": _answer({"safety": 0.9, "none": 0.1}, 0.0),
            "none": _answer({"none": 0.99, "wages": 0.01}, 0.0),
            "slow": _answer({"wages": 0.9}, 0.0),
            "unknown_label": _answer({"greet": 0.9}, 0.0),
            "bad_probability": _answer({"wages": 7}, 0.0),
            "no_urgent": {"labels": {"wages": 0.9}},
        }.get(self.behaviour)
        data = b"<html>not the worker</html>" if payload is None else json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def fake_worker() -> Iterator[callable]:
    servers = []

    def start(behaviour: str) -> str:
        handler = type("Handler", (FakeWorker,), {"behaviour": behaviour, "requests": []})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append((server, handler))
        return f"http://127.0.0.1:{server.server_address[1]}"

    start.handlers = lambda: [handler for _, handler in servers]
    yield start
    for server, _ in servers:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def e5(url: str, timeout: float = 2.0, token: str = "worker-token") -> E5Understander:
    return E5Understander(url, timeout, fallback=NgramUnderstander(), token=token)


def test_the_worker_and_the_builtin_model_decide_the_category_together(fake_worker):
    understander = e5(fake_worker("wages") + "/")  # a trailing slash in the config is fine
    result = understander.understand("40 workers, no pay since march", "en")
    assert (result.category, result.urgent, result.language) == ("wages", False, "en")
    assert 0.63 <= result.confidence <= 1  # at least 0.7 x 0.9
    assert ("people", 40) in [(entity.type, entity.value) for entity in result.entities]
    assert understander.fallbacks == 0
    (request,) = fake_worker.handlers()[0].requests
    assert request == {"path": "/parse", "body": {"text": "40 workers, no pay since march"}, "authorization": "Bearer worker-token"}


def test_the_model_adds_danger_the_rules_miss(fake_worker):
    text = "the agent keeps everyone's mobiles and we sleep in a room they close from outside"
    assert not is_urgent(FoldedText.of(text))  # no listed danger words
    result = e5(fake_worker("danger")).understand(text, "en")
    assert (result.category, result.urgent) == ("forced_labour", True)


def test_the_rules_stay_the_floor_whatever_the_model_says(fake_worker):
    result = e5(fake_worker("calm")).understand("fire on the second floor, the doors are locked", "en")
    assert result.urgent is True


def test_none_from_the_worker_is_no_category(fake_worker):
    result = e5(fake_worker("none")).understand("hello, is anyone there")
    assert (result.category, result.confidence) == (None, 0.0)


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ("slow", "timeout"),
        ("error", "http_500"),
        ("garbage", "bad_response"),
        ("unknown_label", "bad_response"),
        ("bad_probability", "bad_response"),
        ("no_urgent", "bad_response"),
        (None, "unreachable"),  # nothing listens
    ],
)
def test_every_failure_falls_back_to_the_builtin_counted_and_logged_without_text(
    fake_worker, captured_logs, behaviour, reason
):
    url = fake_worker(behaviour) if behaviour else f"http://127.0.0.1:{_closed_port()}"
    understander = e5(url, timeout=0.3)  # the slow worker answers after 1 s: too late
    result = understander.understand(REPORT, "en")
    assert result == dataclasses.replace(NgramUnderstander().understand(REPORT, "en"), backend="builtin")
    assert understander.fallbacks == 1
    (record,) = [r for r in captured_logs.records if r.name == "nlu.e5"]
    assert (record.levelno, record.backend, record.reason) == (logging.WARNING, "e5", reason)
    for logged in captured_logs.records:
        assert "wages" not in logged.getMessage() and "paid" not in str(vars(logged))


def test_understand_with_e5_raises_so_callers_can_choose_not_to_fall_back():
    with pytest.raises(E5Unavailable) as failure:
        e5(f"http://127.0.0.1:{_closed_port()}").understand_with_e5(REPORT)
    assert failure.value.reason == "unreachable"


def test_only_http_urls():
    with pytest.raises(ValueError, match="http"):
        e5("file:///etc/passwd")


# ------------------------------------------------------------------ choosing the backend


def test_make_understander_builds_the_e5_backend_with_its_token():
    chosen = make_understander(Nlu(backend="e5", e5_url="http://127.0.0.1:5998", e5_timeout_seconds=0.4), e5_token="s3cret")
    assert isinstance(chosen, E5Understander)
    assert (chosen.name, chosen.endpoint, chosen.timeout_seconds) == ("e5", "http://127.0.0.1:5998/parse", 0.4)
    assert isinstance(chosen.fallback, NgramUnderstander)
    with pytest.raises(ValueError, match="nlu.e5_token"):
        make_understander(Nlu(backend="e5"))


def test_e5_settings_defaults_and_bad_values():
    assert (Nlu().e5_url, Nlu().e5_timeout_seconds) == ("http://127.0.0.1:5006", 1.0)
    with pytest.raises(ConfigError, match="^config error: nlu.e5_timeout_seconds:"):
        settings_from_mapping({"nlu": {"backend": "e5", "e5_timeout_seconds": 0}})
    with pytest.raises(ConfigError, match="^config error: nlu.e5_url:"):
        settings_from_mapping({"nlu": {"backend": "e5", "e5_url": "file:///x"}})


# ------------------------------------------------------------------ the case records a fallback


def test_the_case_records_the_backend_that_read_the_description():
    settings = settings_from_mapping({})
    answered_by_e5 = Draft(language="en", description=["no pay"], suggestion="wages", suggestion_confidence=0.8)
    fallback = Draft(**{**vars(answered_by_e5), "suggestion_backend": "builtin"})

    def record(draft: Draft) -> dict:
        built = build_case_record(settings, draft, case_id="0b4f7c1e-2a3d-4e5f-8a9b-0c1d2e3f4a5b", code="12345678901234", channel="sms",
                                  confirmed_at=datetime(2026, 12, 7, 13, 0, tzinfo=UTC), contact_address=None, nlu_backend="e5")
        validate_case_record(built)
        return built["nlu"]

    assert record(answered_by_e5)["backend"] == "e5"
    assert record(fallback)["backend"] == "builtin"
    assert Draft.from_json(fallback.to_json()).suggestion_backend == "builtin"
