"""The Rasa backend for real: Rasa 3.6.21 in its own Python 3.10 environment, trained from
nlu/data/training and served by `rasa run --enable-api` on localhost.

`make test` installs and trains it first (`make rasa-train`); run alone, the fixture asks
make for the same targets, which costs several minutes the first time. Then: Rasa's
categories are sensible, and when the server stops in the middle of a conversation the
conversation goes on with the built-in model, the fallback counted and logged without
any of the worker's words.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.i18n import Catalogs
from nlu.rasa_backend import RasaUnavailable, RasaUnderstander
from nlu.statistical import NgramUnderstander
from storage.keys import init_keys

REPO = Path(__file__).resolve().parents[1]
RASA = REPO / ".rasa-venv" / "bin" / "rasa"
MODEL = REPO / "var" / "rasa" / "models" / "nlu.tar.gz"
# Loading TensorFlow and the model takes 10-30 s on 2 cores; more when the machine is busy.
STARTUP_SECONDS = 240
# Rasa is started with an auth token, as `make rasa-run` does; requests without it get 401.
RASA_TOKEN = "rasa-test-token-4f7c2a9e1b"


@pytest.fixture(scope="session")
def rasa_model() -> Path:
    """The trained model, built by make when missing or older than its training data."""
    # -o: never reinstall the main .venv from inside the test run that uses it.
    subprocess.run(["make", "-s", "-o", ".venv/.installed-stamp", "rasa-train"], cwd=REPO, check=True)
    assert RASA.exists() and MODEL.exists()
    return MODEL


@dataclass
class RasaServer:
    url: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(url: str, token: str = RASA_TOKEN) -> bool:
    request = urllib.request.Request(url + "/model/parse?token=" + token, data=b'{"text": "hello"}', method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


@pytest.fixture(scope="session")
def start_rasa(rasa_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], RasaServer]]:
    """start_rasa() -> a running Rasa server on a free localhost port, stopped at the end."""
    servers: list[RasaServer] = []

    def start() -> RasaServer:
        port = _free_port()
        workdir = tmp_path_factory.mktemp("rasa")
        log = workdir / "rasa.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [str(RASA), "run", "--enable-api", "--auth-token", RASA_TOKEN, "-m", str(rasa_model),
                 "-i", "127.0.0.1", "-p", str(port)],
                cwd=workdir, stdout=output, stderr=subprocess.STDOUT,
                env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
            )  # fmt: skip
        server = RasaServer(f"http://127.0.0.1:{port}", process, log)
        servers.append(server)
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _answers(server.url):
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                pytest.fail(f"Rasa did not start; last lines of {log}:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:]))
            time.sleep(1)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def rasa_server(start_rasa) -> RasaServer:
    """One server shared by the tests that only query it."""
    return start_rasa()


# Clear reports in several languages and scripts, in none of nlu/data.
REPORTS = [
    ("en", "they have not paid our salary for three months", "wages"),
    ("en", "the agent took our passports and we cannot leave", "forced_labour"),
    ("bn", "সুপারভাইজার মেয়েদের গায়ে হাত দেয় আর গালি দেয়", "harassment"),
    ("hi", "फैक्ट्री में 13 साल के बच्चे काम करते हैं", "child_labour"),
    ("vi", "cong ty khong tra luong 2 thang", "wages"),
    ("id", "pabrik buang limbah ke sungai dekat kampung", "environment_community"),
    ("zh", "想成立工会老板不让", "association"),
    ("es", "me despidieron sin aviso y sin liquidacion", "dismissal"),
]


# The server's answers alone, no database: run once, in the SQLite run (the PostgreSQL run then starts
# no shared Rasa server, ~20 s).
@pytest.mark.database_independent
@pytest.mark.parametrize(("language", "text", "category"), REPORTS)
def test_rasa_reads_reports(rasa_server, language, text, category):
    understander = RasaUnderstander(rasa_server.url, 10, fallback=NgramUnderstander(), token=RASA_TOKEN)
    result = understander.understand(text, language)
    assert (result.category, result.language) == (category, language)
    assert 0 < result.confidence <= 1
    assert understander.fallbacks == 0


@pytest.mark.database_independent
def test_rasa_says_no_category_for_a_greeting(rasa_server):
    understander = RasaUnderstander(rasa_server.url, 10, fallback=NgramUnderstander(), token=RASA_TOKEN)
    assert understander.categorize("hello, can i talk to someone") == (None, 0.0)
    assert understander.fallbacks == 0


@pytest.mark.database_independent
@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_rasa_refuses_a_request_without_its_token(rasa_server, token):
    understander = RasaUnderstander(rasa_server.url, 10, fallback=NgramUnderstander(), token=token)
    with pytest.raises(RasaUnavailable) as refused:
        understander.categorize("they have not paid our salary for three months")
    assert refused.value.reason == "http_401"
    assert not _answers(rasa_server.url, token or "")


# ------------------------------------------------------------------ Rasa stops mid-conversation


@pytest.fixture
def own_rasa(start_rasa) -> RasaServer:
    """A server of this test's own, which it may stop."""
    return start_rasa()


@pytest.fixture
def settings(settings_with, own_rasa, monkeypatch):
    """The test deployment with nlu.backend: rasa (replaces conftest's `settings`, so the
    `services` and `send` fixtures use it)."""
    configured = settings_with(nlu={"backend": "rasa", "rasa_url": own_rasa.url, "rasa_timeout_seconds": 5,
                                    "rasa_token": {"env": "GRIEVANCE_TEST_RASA_TOKEN"}})
    init_keys(configured, dev_operator_key=True)
    monkeypatch.setenv("GRIEVANCE_TEST_RASA_TOKEN", RASA_TOKEN)
    return configured


def test_the_conversation_goes_on_when_rasa_stops(services, send, own_rasa, captured_logs):
    english = Catalogs(("en",))
    t = english.text
    assert services.understander.name == "rasa"
    worker = "+15550001234"

    send(worker, "hello")
    send(worker, "1")  # English
    send(worker, "yes")
    replies = send(worker, "They have not paid our wages for two months")
    assert t("en", "ask.suggestion", category=t("en", "category.wages")) in replies[-1]
    assert services.understander.fallbacks == 0  # Rasa answered

    own_rasa.stop()
    replies = send(worker, "The supervisor also takes our overtime pay")  # no danger words: those ask about an alert first
    assert replies[0] == t("en", "description.added")
    assert t("en", "ask.suggestion", category=t("en", "category.wages")) in replies[-1]  # the built-in answered
    assert services.understander.fallbacks == 1

    answers = {
        "ask.workplace": "Sunrise Garments Ltd", "ask.location": "Gazipur", "ask.brand": "skip",
        "ask.when": "since September", "ask.people_affected": "about 40",
        "ask.urgent": "2", "ask.contact_consent": "no", "ask.referral_consent": "no",
    }  # fmt: skip
    replies = send(worker, "1")  # yes, it is about wages
    for _ in range(len(answers)):
        asked = [key for key in answers if replies[-1].startswith(t("en", key))]
        assert asked, replies[-1]
        replies = send(worker, answers[asked[0]])
    assert replies[-1].startswith(t("en", "summary.check", summary="").split("\n")[0])
    (confirmation,) = send(worker, "1")
    assert confirmation.startswith("Sent.")

    fallbacks = [record for record in captured_logs.records if record.name == "nlu.rasa"]
    assert [(record.backend, record.reason) for record in fallbacks] == [("rasa", "unreachable")]
    typed = ("wages", "supervisor", "overtime", "Sunrise", "Gazipur")
    leaked = [word for record in captured_logs.records for word in typed if word in record.getMessage() or word in str(vars(record))]
    assert leaked == []
