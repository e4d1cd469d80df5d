"""RasaUnderstander against fake Rasa servers on localhost: answers, and every way Rasa
can fail (down, slow, erroring, talking nonsense) falling back to the built-in model,
counted and logged without the message. The real Rasa is in tests/test_rasa_backend.py."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.config import ConfigError, Nlu, settings_from_mapping
from nlu.backends import make_understander
from nlu.rasa_backend import RasaUnavailable, RasaUnderstander
from nlu.statistical import NgramUnderstander

REPORT = "they have not paid our wages for two months"


class FakeRasa(BaseHTTPRequestHandler):
    """Answers POST /model/parse the way `behaviour` (set per server) says."""

    behaviour = "ok"
    requests: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "body": body})
        if self.behaviour == "slow":
            time.sleep(1.0)
        if self.behaviour == "error":
            self.send_response(500)
            self.end_headers()
            return
        payload = {
            "ok": {"text": body["text"], "intent": {"name": "wages", "confidence": 0.91}, "entities": []},
            "none": {"text": body["text"], "intent": {"name": "none", "confidence": 0.8}},
            "out_of_taxonomy": {"text": body["text"], "intent": {"name": "greet", "confidence": 0.99}},
            "no_intent": {"text": body["text"]},
            "bad_confidence": {"intent": {"name": "wages", "confidence": 7}},
            "slow": {"intent": {"name": "wages", "confidence": 0.9}},
        }.get(self.behaviour)
        data = b"<html>not rasa</html>" if payload is None else json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:  # keep the test output clean
        pass


@pytest.fixture
def fake_rasa() -> Iterator[callable]:
    servers = []

    def start(behaviour: str) -> str:
        handler = type("Handler", (FakeRasa,), {"behaviour": behaviour, "requests": []})
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


def rasa(url: str, timeout: float = 2.0) -> RasaUnderstander:
    return RasaUnderstander(url, timeout, fallback=NgramUnderstander())


def test_rasa_answers_the_category_and_the_builtin_pieces_the_rest(fake_rasa):
    url = fake_rasa("ok")
    understander = rasa(url + "/")  # a trailing slash in the config is fine
    result = understander.understand("they locked us in, 40 workers, no pay", "en")
    assert (result.category, result.confidence, result.urgent, result.language) == ("wages", 0.91, True, "en")
    assert ("people", 40) in [(entity.type, entity.value) for entity in result.entities]
    assert understander.fallbacks == 0
    (request,) = fake_rasa.handlers()[0].requests
    assert request == {"path": "/model/parse", "body": {"text": "they locked us in, 40 workers, no pay"}}


@pytest.mark.parametrize("behaviour", ["none", "out_of_taxonomy"])
def test_an_intent_outside_the_taxonomy_is_no_category(fake_rasa, behaviour):
    result = rasa(fake_rasa(behaviour)).understand("hello there")
    assert (result.category, result.confidence) == (None, 0.0)


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ("slow", "timeout"),
        ("error", "http_500"),
        ("garbage", "bad_response"),
        ("no_intent", "bad_response"),
        ("bad_confidence", "bad_response"),
        (None, "unreachable"),  # nothing listens
    ],
)
def test_every_failure_falls_back_to_the_builtin_counted_and_logged_without_text(
    fake_rasa, captured_logs, behaviour, reason
):
    url = fake_rasa(behaviour) if behaviour else f"http://127.0.0.1:{_closed_port()}"
    understander = rasa(url, timeout=0.3)  # the slow server answers after 1 s: too late
    result = understander.understand(REPORT, "en")
    assert result == NgramUnderstander().understand(REPORT, "en")
    assert result.category == "wages"
    assert understander.fallbacks == 1
    (record,) = [r for r in captured_logs.records if r.name == "nlu.rasa"]
    assert (record.levelno, record.backend, record.reason) == (logging.WARNING, "rasa", reason)
    for logged in captured_logs.records:
        assert "wages" not in logged.getMessage() and "paid" not in str(vars(logged))


def test_categorize_raises_so_callers_can_choose_not_to_fall_back():
    with pytest.raises(RasaUnavailable) as failure:
        rasa(f"http://127.0.0.1:{_closed_port()}").categorize(REPORT)
    assert failure.value.reason == "unreachable"


def test_fallbacks_are_counted_per_message(fake_rasa):
    understander = rasa(fake_rasa("error"))
    for _ in range(3):
        understander.understand(REPORT)
    assert understander.fallbacks == 3


# ------------------------------------------------------------------ choosing the backend


def test_make_understander_follows_the_settings():
    assert isinstance(make_understander(Nlu()), NgramUnderstander)
    chosen = make_understander(Nlu(backend="rasa", rasa_url="http://127.0.0.1:5999", rasa_timeout_seconds=0.2))
    assert isinstance(chosen, RasaUnderstander)
    assert (chosen.name, chosen.parse_url, chosen.timeout_seconds) == ("rasa", "http://127.0.0.1:5999/model/parse", 0.2)
    assert isinstance(chosen.fallback, NgramUnderstander)


@pytest.mark.parametrize(
    ("nlu", "error"),
    [
        ({"backend": "spacy"}, "nlu.backend"),
        ({"backend": "rasa", "rasa_timeout_seconds": 0}, "nlu.rasa_timeout_seconds"),
        ({"backend": "rasa", "rasa_timeout_seconds": 11}, "nlu.rasa_timeout_seconds"),
    ],
)
def test_bad_nlu_settings_stop_start_up_naming_the_key(nlu, error):
    with pytest.raises(ConfigError, match=f"^config error: {error}:"):
        settings_from_mapping({"nlu": nlu})


def test_nlu_defaults():
    assert (Nlu().backend, Nlu().rasa_url, Nlu().rasa_timeout_seconds) == ("builtin", "http://127.0.0.1:5005", 0.5)


# ------------------------------------------------------------------ the auth token


def test_every_request_carries_the_token_rasa_was_started_with(fake_rasa):
    understander = RasaUnderstander(fake_rasa("ok"), 2.0, fallback=NgramUnderstander(), token="t0k+en/with=odd&chars")
    assert understander.understand(REPORT, "en").category == "wages"
    (request,) = fake_rasa.handlers()[0].requests
    assert request["path"] == "/model/parse?token=t0k%2Ben%2Fwith%3Dodd%26chars"  # what `rasa run --auth-token` checks


def test_make_understander_passes_the_token():
    chosen = make_understander(Nlu(backend="rasa", rasa_url="http://127.0.0.1:5999"), "s3cret")
    assert chosen.parse_url == "http://127.0.0.1:5999/model/parse?token=s3cret"


def test_the_token_comes_from_a_secret_and_a_missing_one_stops_start_up(tmp_path, monkeypatch):
    from bot.services import build_services
    from storage.keys import init_keys

    config = {"paths": {"data_dir": "data"}, "logging": {"level": "WARNING", "file": None},
              "secrets": {"pepper": {"file": "keys/pepper"}, "data_keys": {"file": "keys/data-keys.json"}},
              "operator": {"recipients_file": "keys/operator-recipients.txt", "identity_file": "operator/id.txt"},
              "nlu": {"backend": "rasa", "rasa_url": "http://127.0.0.1:5999", "rasa_token": {"env": "TEST_RASA_TOKEN"}}}
    settings = settings_from_mapping(config, base_dir=tmp_path)
    init_keys(settings, dev_operator_key=True)  # the operator key pair is made only when asked for
    monkeypatch.delenv("TEST_RASA_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="nlu.rasa_token: environment variable TEST_RASA_TOKEN is not set"):
        build_services(settings)
    monkeypatch.setenv("TEST_RASA_TOKEN", "from-the-environment\n")
    services = build_services(settings)
    try:
        assert services.understander.parse_url.endswith("/model/parse?token=from-the-environment")
    finally:
        services.close()
