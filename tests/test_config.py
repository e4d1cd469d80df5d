"""Config: the example file is valid; every mistake stops start-up with one line naming the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.config import ConfigError, load_settings, settings_from_mapping

REPO = Path(__file__).resolve().parents[1]


def test_the_documented_example_config_is_valid():
    settings = load_settings(REPO / "config.yaml")
    assert settings.deployment.languages[0] == "en"
    assert [q.id for q in settings.flow.questions][:3] == ["category", "workplace", "location"]
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith("var/data/grievance.db")


def test_settings_are_immutable():
    settings = settings_from_mapping({})
    with pytest.raises(Exception):
        settings.session.idle_expiry_hours = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("mapping", "key"),
    [
        ({"session": {"idle_expiry_hours": 0}}, "session.idle_expiry_hours"),
        ({"session": {"idle_expiry_hours": "soon"}}, "session.idle_expiry_hours"),
        ({"deployment": {"default_language": "fr"}}, "deployment"),
        ({"deployment": {"acknowledge_within_days": 400}}, "deployment.acknowledge_within_days"),
        ({"flow": {"categories": ["wages", "bribes", "other"]}}, "flow.categories"),
        ({"flow": {"categories": ["wages"]}}, "flow.categories"),
        ({"flow": {"questions": [{"id": "where", "kind": "map"}]}}, "flow.questions.0.kind"),
        ({"flow": {"questions": [{"id": "Bad Id"}]}}, "flow.questions.0.id"),
        ({"flow": {"questions": [{"id": "workplace"}]}}, "flow.questions"),  # no category question
        ({"flow": {"questions": [{"id": "category", "kind": "category"}, {"id": "x", "marks_urgent": True}]}}, "flow.questions.1"),
        ({"secrets": {"pepper": {"file": "a", "env": "B"}}}, "secrets.pepper"),
        ({"secrets": {"pepper": {}}}, "secrets.pepper"),
        ({"queue": {"kind": "kafka"}}, "queue.kind"),
        ({"server": {"port": 70000}}, "server.port"),
        ({"sesion": {}}, "sesion"),  # a typo is an error, not ignored
        ({"logging": {"level": "LOUD"}}, "logging.level"),
        ({"nlu": {"rasa_url": "file:///etc/passwd"}}, "nlu.rasa_url"),  # urllib would read the file
    ],
)
def test_a_config_mistake_names_the_key_in_one_line(mapping, key):
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(mapping)
    message = str(caught.value)
    assert message.startswith(f"config error: {key}")
    assert "\n" not in message


def test_unknown_language_in_deployment_is_named(tmp_path):
    from bot.i18n import Catalogs

    with pytest.raises(ConfigError, match=r"^config error: deployment.languages: no catalog for language 'xx'$"):
        Catalogs(("en", "xx"))


def test_cli_reports_a_bad_config_in_one_line_without_a_traceback(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"session": {"idle_expiry_hours": -1}}))
    result = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "--config", str(config), "purge"],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "config error: session.idle_expiry_hours: Input should be greater than 0"
    ]


@pytest.mark.parametrize(("text", "expected"), [("a: [1, 2", "not valid YAML at line"), ("- just\n- a list\n", "expected a mapping")])
def test_unreadable_yaml_is_one_line(tmp_path, text, expected):
    config = tmp_path / "config.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=expected):
        load_settings(config)


def test_missing_config_file_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("limits", "key"),
    [
        ({"max_attachments_per_report": -1}, "limits.max_attachments_per_report"),
        ({"max_attachments_per_report": 21}, "limits.max_attachments_per_report"),
        ({"max_attachments_per_report": "five"}, "limits.max_attachments_per_report"),
        ({"max_attachment_bytes_per_report": -1}, "limits.max_attachment_bytes_per_report"),
        ({"max_attachment_bytes_per_report": 100_000_000}, "limits.max_attachment_bytes_per_report"),
        ({"max_attachment_per_report": 5}, "limits.max_attachment_per_report"),  # a typo
    ],
)
def test_the_attachment_caps_are_checked_and_a_mistake_named(limits, key):
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({"limits": limits})
    assert str(caught.value).startswith(f"config error: {key}") and "\n" not in str(caught.value)


def test_the_example_config_caps_attachments_per_report():
    limits = load_settings(REPO / "config.yaml").limits
    assert (limits.max_attachments_per_report, limits.max_attachment_bytes_per_report) == (5, 15_000_000)
    assert settings_from_mapping({}).limits.max_attachments_per_report == 5
