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



@pytest.mark.parametrize(
    ("media", "key"),
    [
        ({"image_cpu_seconds": 0}, "media.image_cpu_seconds"),  # no limit is not a limit
        ({"audio_cpu_seconds": 10_000}, "media.audio_cpu_seconds"),
        ({"wall_seconds": 0}, "media.wall_seconds"),
        ({"memory_mb": 64}, "media.memory_mb"),  # Python and ffmpeg would not even start
        ({"parallel": 0}, "media.parallel"),
        ({"cpu_seconds": 5}, "media.cpu_seconds"),  # a typo
    ],
)
def test_the_media_cleaning_limits_are_checked_and_a_mistake_named(media, key):
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({"media": media})
    assert str(caught.value).startswith(f"config error: {key}") and "\n" not in str(caught.value)


def test_the_example_config_states_the_default_media_limits():
    assert load_settings(REPO / "config.yaml").media == settings_from_mapping({}).media

# ---------------------------------------------------------------- checked whole at start-up (config + catalogs)

QUESTIONS_WITH_OVERTIME = [
    {"id": "category", "kind": "category"}, {"id": "workplace"}, {"id": "location"}, {"id": "overtime", "kind": "yes_no"},
]
REAL_CONTACTS = ["Emergency services: 999", "Duty officer: 0100 200 300"]
TELEGRAM_ON = {"telegram": {"enabled": True}}
TWILIO_ON = {"twilio": {"enabled": True}}


@pytest.mark.parametrize(
    ("mapping", "line"),
    [
        ({"flow": {"questions": QUESTIONS_WITH_OVERTIME}, "deployment": {"languages": ["en", "bn"], "emergency_contacts": REAL_CONTACTS}},
         'config error: flow.questions[3] (overtime): no text "ask.overtime" in catalog "en"'),
        ({"deployment": {"emergency_contacts": []}, "channels": TELEGRAM_ON},
         "config error: deployment.emergency_contacts: empty; a worker in danger would get no number to call"),
        ({"deployment": {"emergency_contacts": ["Emergency services: 999", "Hotline duty officer: +000 0000 0000"]}, "channels": TWILIO_ON,
          "server": {"public_url": "https://hotline.example.org"}},
         "config error: deployment.emergency_contacts[1]: a placeholder or empty entry"),
        ({"deployment": {"emergency_contacts": ["  "]}, "channels": {"whatsapp_cloud": {"enabled": True}}},
         "config error: deployment.emergency_contacts[0]: a placeholder or empty entry"),
    ],
)
def test_a_deployment_that_would_fail_a_worker_later_stops_start_up_in_one_line(mapping, line):
    from bot.config import check_deployment
    from bot.i18n import Catalogs

    settings = settings_from_mapping(mapping)
    with pytest.raises(ConfigError) as caught:
        check_deployment(settings, Catalogs(settings.deployment.languages))
    assert str(caught.value).startswith(line) and "\n" not in str(caught.value)


def test_a_question_text_missing_in_one_offered_language_is_named(monkeypatch):
    from bot.config import check_deployment
    from bot.i18n import Catalogs

    settings = settings_from_mapping({"deployment": {"languages": ["en", "bn", "vi"], "emergency_contacts": REAL_CONTACTS}})
    catalogs = Catalogs(settings.deployment.languages)
    vietnamese = {key: text for key, text in catalogs._messages["vi"].items() if key != "label.brand"}
    catalogs._messages = {**catalogs._messages, "vi": vietnamese}  # a copy: the loaded catalogs are shared
    with pytest.raises(ConfigError, match=r'^config error: flow.questions\[3\] \(brand\): no text "label.brand" in catalog "vi"'):
        check_deployment(settings, catalogs)


@pytest.mark.parametrize(
    ("contacts", "channels", "warned"),
    [
        (REAL_CONTACTS, TELEGRAM_ON, False),
        (["Police 100", "Helpline 1098"], TELEGRAM_ON, False),  # short real numbers are not placeholders
        ([], {}, True),  # console only: trying it locally, a warning
        (["Hotline duty officer: +000 0000 0000"], {}, True),
    ],
)
def test_good_contacts_pass_and_the_console_alone_only_warns(contacts, channels, warned):
    from bot.config import check_deployment
    from bot.i18n import Catalogs

    settings = settings_from_mapping({"deployment": {"emergency_contacts": contacts}, "channels": channels})
    warnings = check_deployment(settings, Catalogs(settings.deployment.languages))
    assert bool(warnings) is warned
    assert all(warning.startswith("config warning: deployment.emergency_contacts") for warning in warnings)


def test_the_shipped_example_config_warns_about_its_placeholder_contact():
    from bot.config import check_deployment
    from bot.i18n import Catalogs

    settings = load_settings(REPO / "config.yaml")
    (warning,) = check_deployment(settings, Catalogs(settings.deployment.languages))
    assert "emergency_contacts[1]" in warning


def test_build_services_runs_the_check_once_at_start_up(settings_with):
    from bot.services import build_services
    from storage.keys import init_keys

    settings = settings_with(flow={"questions": QUESTIONS_WITH_OVERTIME})
    init_keys(settings, dev_operator_key=True)  # the operator key pair is made only when asked for
    with pytest.raises(ConfigError, match=r'no text "ask.overtime"'):
        build_services(settings)


def test_without_contacts_a_worker_in_danger_still_gets_something_useful(settings_with):
    from bot.messages import InboundMessage
    from bot.services import build_services
    from storage.keys import init_keys
    from worker_scripts import ENGLISH_INTAKE

    settings = settings_with(deployment={"languages": ["en", "bn", "vi", "es"], "emergency_contacts": []})
    init_keys(settings, dev_operator_key=True)  # the operator key pair is made only when asked for
    services = build_services(settings)  # the console alone: a warning, not an error
    try:
        script = list(ENGLISH_INTAKE[:-1])
        script[script.index("2")] = "1"  # someone is in danger now
        replies = []
        for text in script:
            replies += services.intake.receive(InboundMessage(channel="console", sender="local-worker-9", text=text)).texts
        urgent = next(reply for reply in replies if "URGENT" in reply)
        assert urgent.startswith(services.catalogs.text("en", "urgent.no_contacts"))
        assert "\n-" not in urgent and not urgent.rstrip().endswith(":")
    finally:
        services.close()


def test_a_flow_where_nobody_can_agree_to_contact_is_warned_about():
    from bot.config import check_deployment
    from bot.i18n import Catalogs

    questions = [{"id": "category", "kind": "category"}, {"id": "workplace"}]
    settings = settings_from_mapping({"flow": {"questions": questions}, "deployment": {"emergency_contacts": REAL_CONTACTS}})
    (warning,) = check_deployment(settings, Catalogs(settings.deployment.languages))
    assert warning.startswith("config warning: flow.questions: no question has grants_contact")
