"""The `grievance` command line, run as a user would: init, chat through a pipe, pull, list, show, serve."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from databases import example_config, needles_in_database
from leak_scan import needles_in_tree
from worker_scripts import BENGALI_INTAKE, BENGALI_SECRETS, ENGLISH_INTAKE, ENGLISH_SECRETS

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def deployment(tmp_path: Path, database_url: str | None) -> Path:
    """A copy of the example config.yaml in an empty folder, as on a fresh clone (pointed at the test's database)."""
    if database_url:
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(example_config(database_url)))
    else:
        config = yaml.safe_load((REPO / "config.yaml").read_text())
        config["operator_api"]["port"] = _free_port()  # the example's local desk API, on a port of this test's own
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    return tmp_path


def grievance(deployment: Path, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "--config", str(deployment / "config.yaml"), *args],
        input=stdin, capture_output=True, text=True, cwd=deployment, timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_init_chat_pull_show_and_nothing_in_the_clear(deployment, database_url):
    created = grievance(deployment, "init", "--dev-operator-key").stdout
    assert "var/keys/pepper (mode 0600)" in created
    assert "DEMO OPERATOR KEY ON THIS MACHINE: never in production" in created
    for key in ("var/keys/pepper", "var/keys/data-keys.json", "var/keys/signing-key", "var/operator/operator-identity.txt"):
        assert os.stat(deployment / key).st_mode & 0o777 == 0o600
    assert "kept" in grievance(deployment, "init", "--dev-operator-key").stdout  # idempotent

    english = grievance(deployment, "chat", "--sender", "+8801711000000", "--channel", "sms", stdin="\n".join(ENGLISH_INTAKE + ["1"]) + "\n")
    assert "Sent. Your case code:" in english.stdout
    bengali = grievance(deployment, "chat", "--sender", "whatsapp:+8801822000000", "--channel", "whatsapp", stdin="\n".join(BENGALI_INTAKE + ["১"]) + "\n")
    code_line = bengali.stdout.strip().splitlines()[-1]
    assert any(char.isdigit() for char in code_line)
    for run in (english, bengali):  # the terminal is kept for the conversation: at most the start-up warning
        # about the example's placeholder emergency contact (bot/config.check_deployment), once
        assert [line for line in run.stderr.splitlines() if "config warning: deployment.emergency_contacts" not in line] == []

    pulled = grievance(deployment, "cases", "pull", "--key", str(deployment / "var/operator/operator-identity.txt"))
    assert "pulled 2 new cases" in pulled.stdout
    listing = grievance(deployment, "cases", "list").stdout.strip().splitlines()
    assert len(listing) == 2 and all("received" in line for line in listing)
    shown = [json.loads(grievance(deployment, "cases", "show", line.split()[0]).stdout) for line in listing]
    by_language = {record["language"]: record for record in shown}
    assert by_language["en"]["answers"]["workplace"] == "Sunrise Garments Ltd"
    assert by_language["en"]["answers"]["people_affected"] == 40
    assert by_language["en"]["description"].startswith("The supervisor has not paid our wages")
    assert by_language["bn"]["answers"]["people_affected"] == 35
    assert by_language["bn"]["channel"] == "whatsapp" and by_language["bn"]["category"] == "wages"
    for record in shown:
        assert set(record) >= {"case_id", "code", "received_at", "acknowledge_by", "category", "urgent", "description", "answers", "contact"}
        assert record["contact"] is None

    needles = ["+8801711000000", "8801711000000", "8801822000000", *ENGLISH_SECRETS, *BENGALI_SECRETS]
    assert needles_in_tree(deployment / "var" / "data", needles) == []
    assert needles_in_tree(deployment / "var" / "operator", needles) == []  # the operator store is encrypted
    if database_url:
        assert needles_in_database(database_url, needles) == []


def test_status_from_another_channel_and_queue_commands(deployment):
    grievance(deployment, "init", "--dev-operator-key")
    chat = grievance(deployment, "chat", "--sender", "+8801711000000", "--channel", "sms", stdin="\n".join(ENGLISH_INTAKE + ["1"]) + "\n")
    code = chat.stdout.split("Your case code: ")[1].split(".")[0]
    status = grievance(deployment, "chat", "--sender", "555", "--channel", "telegram", stdin=f"STATUS {code}\n")
    assert "received" in status.stdout
    assert "1 waiting" in grievance(deployment, "queue", "status").stdout
    assert "erased" in grievance(deployment, "purge").stdout
    assert "dead-lettered cases will be retried" in grievance(deployment, "queue", "retry").stdout


def test_keys_rotate_keeps_conversations_readable(deployment):
    grievance(deployment, "init", "--dev-operator-key")
    grievance(deployment, "chat", "--sender", "+1", stdin="hi\n1\nyes\n")
    rotated = grievance(deployment, "keys", "rotate", "--retire-old").stdout
    assert "data key 2 is active; re-encrypted 2 values" in rotated
    keyring = json.loads((deployment / "var/keys/data-keys.json").read_text())
    assert list(keyring["keys"]) == ["2"]
    go_on = grievance(deployment, "chat", "--sender", "+1", stdin="Wages were not paid\n")
    assert "Is this about" in go_on.stdout


def test_missing_keys_stop_start_up_with_one_line(deployment):
    result = grievance(deployment, "chat", "--sender", "+1", stdin="hi\n", check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"config error: secrets.pepper: {deployment}/var/keys/pepper not found (run `grievance init`)"
    ]


def test_wrong_operator_key_is_one_line(deployment, tmp_path):
    grievance(deployment, "init", "--dev-operator-key")
    bad = tmp_path / "bad-key.txt"
    bad.write_text("not a key\n")
    bad.chmod(0o600)
    result = grievance(deployment, "cases", "pull", "--key", str(bad), check=False)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("config error: --key:")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_answers_health_under_gunicorn_and_forwards(deployment):
    grievance(deployment, "init", "--dev-operator-key")
    config = yaml.safe_load((deployment / "config.yaml").read_text())
    config["server"]["forward_interval_seconds"] = 0.2
    # The example's placeholder contact (a warning with the console alone) and its operator API, beside
    # two workers: five processes build the services, the warning is printed once (issue 22: four times).
    config["deployment"]["emergency_contacts"] = ["Emergency services: 999", "Hotline duty officer: +000 0000 0000"]
    config["operator_api"].update(enabled=True, port=_free_port())
    (deployment / "config.yaml").write_text(yaml.safe_dump(config))
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main()", "--config", str(deployment / "config.yaml"),
         "serve", "--port", str(port), "--workers", "2"],
        cwd=deployment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        body, deadline = None, time.monotonic() + 60  # five processes start on a busy machine: readiness, not speed
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    body = json.loads(response.read())
                    break
            except OSError:
                time.sleep(0.1)
        assert body == {"status": "ok", "channels": ["console"]}
        # A case confirmed from a terminal is forwarded by the server's forwarder, not by the chat.
        grievance(deployment, "chat", "--sender", "+1", stdin="\n".join(ENGLISH_INTAKE + ["1"]) + "\n")
        assert "0 pending" in grievance(deployment, "queue", "status").stdout
        # Rotating the data key under a running server would lose its conversations in progress.
        refused = grievance(deployment, "keys", "rotate", "--retire-old", check=False)
        assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
        assert "the server is running on this machine" in refused.stderr
        assert list(json.loads((deployment / "var/keys/data-keys.json").read_text())["keys"]) == ["1"]
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert server.returncode == 0, errors
    assert errors.count("config warning: deployment.emergency_contacts") == 1, errors
    leftovers = subprocess.run(["pgrep", "-f", f"{deployment}/config.yaml forward --loop"], capture_output=True, text=True)
    assert leftovers.stdout == ""  # the forwarder stopped with the server


def test_init_makes_no_operator_key_and_serve_refuses_a_real_one(deployment):
    created = grievance(deployment, "init").stdout
    assert not (deployment / "var/operator/operator-identity.txt").exists()
    assert not (deployment / "var/keys/operator-recipients.txt").exists()
    assert "DEMO OPERATOR KEY" not in created and "grievance keys new-operator-key" in created
    no_recipient = grievance(deployment, "chat", "--sender", "+1", stdin="hi\n", check=False)
    assert no_recipient.returncode == 2 and no_recipient.stderr.startswith("config error: operator.recipients_file:")
    # An operator key made by the operator's own command, left on the server: refused.
    made = grievance(deployment, "keys", "new-operator-key").stdout
    recipient = made.strip().splitlines()[-1]
    assert recipient.startswith("age1")
    (deployment / "var/keys/operator-recipients.txt").write_text(recipient + "\n")
    refused = grievance(deployment, "serve", "--port", str(_free_port()), check=False)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert refused.stderr.startswith("config error: operator.identity_file:") and "operator's machine only" in refused.stderr
    again = grievance(deployment, "keys", "new-operator-key", check=False)
    assert again.returncode == 2 and "never overwritten" in again.stderr


def test_pulling_from_a_separate_operator_machine(deployment, tmp_path, database_url):
    """The README's production set-up: the operator key made on the operator's machine, the server's
    signing key given to it; the server never holds the operator's private key."""
    grievance(deployment, "init")
    operator = tmp_path / "operator-machine"
    operator.mkdir()
    config = yaml.safe_load((deployment / "config.yaml").read_text())
    config["paths"]["database_url"] = database_url or f"sqlite:///{deployment / 'var/data/grievance.db'}"  # the embedded queue
    signing_public = grievance(deployment, "keys", "export-signing-public").stdout.strip()
    config["operator"].update(intake_signing_keys=[signing_public], intake_signing_keys_file=None, recipients_file=None)
    (operator / "config.yaml").write_text(yaml.safe_dump(config))
    recipient = grievance(operator, "keys", "new-operator-key").stdout.strip().splitlines()[-1]
    (deployment / "var/keys/operator-recipients.txt").write_text(recipient + "\n")

    grievance(deployment, "chat", "--sender", "+8801711000000", "--channel", "sms", stdin="\n".join(ENGLISH_INTAKE + ["1"]) + "\n")
    assert not (deployment / "var/operator").exists()  # nothing of the operator's on the server
    assert grievance(operator, "cases", "pull").stdout.strip() == "pulled 1 new cases (0 already here, 0 for another key)"
    assert len(grievance(operator, "cases", "list").stdout.strip().splitlines()) == 1

    # An operator who trusts another server's key opens nothing: the case is set aside, noticed, not lost.
    grievance(deployment, "chat", "--sender", "+8801711000001", "--channel", "sms", stdin="\n".join(ENGLISH_INTAKE + ["1"]) + "\n")
    config["operator"]["intake_signing_keys"] = [signing_public[:-8] + "AAAAAAA="]
    (operator / "config.yaml").write_text(yaml.safe_dump(config))
    wrong = grievance(operator, "cases", "pull").stdout
    assert "pulled 0 new cases" in wrong and "1 queue items failed the signature" in wrong
    assert len(list((operator / "var/operator/quarantine").glob("*.json"))) == 1
    listed = grievance(operator, "cases", "quarantine").stdout.strip().splitlines()
    assert len(listed) == 2 and "  bad_signature  embedded  " in listed[0] and listed[1].startswith("1 items set aside")
