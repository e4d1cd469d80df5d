"""The local demo shows the whole loop (issue 19): `make run` + `make chat` + the operator's commands.

From a copy of the shipped config.yaml, as on a fresh clone: `grievance init --dev-operator-key`
makes the keys and the local desk's API token; `grievance serve` runs the hotline with its
operator API; `grievance chat` is the worker, reporting and allowing contact; the operator pulls,
replies (`grievance reply`), and the reply appears in the worker's chat as it would on their
phone; the worker answers directly; the operator reads the thread, resolves the case, and the
worker is asked whether it helped. Every step is a real process, as a newcomer runs them.
"""

from __future__ import annotations

import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from databases import ON_POSTGRES
from worker_scripts import ENGLISH_INTAKE_CONTACT_YES

REPO = Path(__file__).resolve().parents[1]
TEAM = "Are gloves given now? Reply YES or NO."
ANSWER = "NO still no gloves, 2 people burned last week"

pytestmark = pytest.mark.skipif(ON_POSTGRES, reason="the local demo is the embedded default: SQLite")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def command(deployment: Path, *args: str) -> list[str]:
    return [sys.executable, "-c", "from bot.cli import main; main()", "--config", str(deployment / "config.yaml"), *args]


def grievance(deployment: Path, *args: str) -> str:
    result = subprocess.run(command(deployment, *args), capture_output=True, text=True, cwd=deployment, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


class Chat:
    """`grievance chat` in a pipe: lines in, what the worker's screen shows out."""

    def __init__(self, deployment: Path) -> None:
        self.process = subprocess.Popen(
            command(deployment, "chat", "--sender", "local-worker-1"), cwd=deployment, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=1,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def say(self, text: str) -> None:
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def wait_for(self, needle: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            joined = "\n".join(self.seen)
            if needle in joined:
                return joined
            try:
                self.seen.append(self.lines.get(timeout=0.2))
            except queue.Empty:
                continue
        raise AssertionError(f"not shown in the chat within {timeout} s: {needle!r}\n" + "\n".join(self.seen[-20:]))

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)
        self.process.stdout.close()


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["server"]["port"] = free_port()
    config["server"]["forward_interval_seconds"] = 0.2
    config["operator_api"]["port"] = free_port()
    config["operator_client"]["url"] = f"http://127.0.0.1:{config['operator_api']['port']}"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    return tmp_path


def test_report_reply_answer_close_and_feedback_in_the_local_demo(deployment):
    made = grievance(deployment, "init", "--dev-operator-key")
    assert "var/keys/operator-api-token (mode 0600)" in made
    config = yaml.safe_load((deployment / "config.yaml").read_text())
    server = subprocess.Popen(command(deployment, "serve", "--workers", "1"), cwd=deployment,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    chat = None
    try:
        for port in (config["server"]["port"], config["operator_api"]["port"]):
            _wait_listening(port)
        chat = Chat(deployment)
        for text in ENGLISH_INTAKE_CONTACT_YES:
            chat.say(text)
        chat.say("1")
        chat.wait_for("Sent. Your case code:")

        grievance(deployment, "cases", "pull")
        case_id = grievance(deployment, "cases", "list").split()[0]
        assert "sent to the worker" in grievance(deployment, "reply", case_id, TEAM)
        shown = chat.wait_for("To answer, just reply here.")  # on the worker's screen, as on their phone
        assert "Message from the hotline about your report:\n" + TEAM in shown

        chat.say(ANSWER)
        chat.wait_for("Sent to the hotline team. NEW starts a new report.")
        grievance(deployment, "cases", "replies")
        thread = grievance(deployment, "cases", "thread", case_id)
        assert thread.index(TEAM) < thread.index(ANSWER)

        grievance(deployment, "cases", "status", case_id, "resolved", "--reason", "gloves given to every worker")
        chat.wait_for("Did it help you?")
        chat.say("1")
        chat.wait_for("Anything to add?")
        chat.say("yes, gloves for all now")
        chat.wait_for("Thank you. Your answer helps the hotline work better.")
        grievance(deployment, "cases", "replies")
        assert "gloves for all now" in grievance(deployment, "cases", "thread", case_id)
    finally:
        if chat is not None:
            chat.close()
        server.terminate()
        server.wait(timeout=30)


def _wait_listening(port: int) -> None:
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # the operator API answers 401 without a token: it is up
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


def test_the_local_desk_token_is_private_and_made_once(deployment):
    grievance(deployment, "init", "--dev-operator-key")
    path = deployment / "var/keys/operator-api-token"
    assert path.stat().st_mode & 0o777 == 0o600
    first = path.read_text()
    again = grievance(deployment, "init", "--dev-operator-key")
    assert "operator-api-token" not in again and path.read_text() == first
    names = grievance(deployment, "api-token", "list")
    assert "local-demo-desk" in names and first.strip() not in names


@pytest.mark.database_independent
def test_make_run_prints_the_configured_address(tmp_path):
    """Issue 22: `make run` said "http://127.0.0.1:8080" whatever server.host and server.port were."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["server"].update(host="0.0.0.0", port=8123)  # noqa: S104  only printed, nothing listens
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    banner = subprocess.run(
        ["make", "--no-print-directory", "-s", "-C", str(REPO), "run-banner", f"CONFIG={tmp_path / 'config.yaml'}",
         f"BIN={Path(sys.executable).parent}"],
        capture_output=True, text=True, timeout=60,
    )
    assert banner.returncode == 0, banner.stderr
    assert "The hotline is starting on http://0.0.0.0:8123 (health: /health)." in banner.stdout.splitlines()
    assert "8080" not in banner.stdout
