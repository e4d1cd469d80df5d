"""Key files: created 0600 and never overwritten; a missing or exposed secret stops start-up with one line."""

from __future__ import annotations

import json
import os
import stat

import pytest

from bot.config import ConfigError
from storage import crypto
from storage.keys import add_data_key, init_keys, load_operator_identity, load_server_secrets


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_init_creates_private_key_files_and_keeps_existing_ones(settings):
    paths = [settings.path(p) for p in ("keys/pepper", "keys/data-keys.json", "operator/operator-identity.txt")]
    for path in paths:
        assert path.exists() and _mode(path) == 0o600
        assert _mode(path.parent) == 0o700
    before = {p: p.read_bytes() for p in paths}
    result = init_keys(settings, dev_operator_key=True)
    assert result.created == ()
    assert {p: p.read_bytes() for p in paths} == before
    secrets = load_server_secrets(settings)
    identity = load_operator_identity(paths[2])
    assert secrets.operator_recipients == (crypto.operator_recipient_of(identity),)


def test_missing_secret_names_the_key(settings):
    settings.path("keys/pepper").unlink()
    with pytest.raises(ConfigError, match=r"^config error: secrets.pepper: .*not found \(run `grievance init`\)$"):
        load_server_secrets(settings)


def test_secret_readable_by_others_is_refused(settings):
    os.chmod(settings.path("keys/data-keys.json"), 0o644)
    with pytest.raises(ConfigError, match=r"^config error: secrets.data_keys: .*readable by other users"):
        load_server_secrets(settings)


@pytest.mark.parametrize(("file", "content", "key"), [
    ("keys/pepper", "not base64!!", "secrets.pepper"),
    ("keys/pepper", crypto.encode_key(b"short"), "secrets.pepper"),
    ("keys/data-keys.json", "{}", "secrets.data_keys"),
    ("keys/data-keys.json", json.dumps({"active": 3, "keys": {"1": crypto.encode_key(crypto.new_data_key())}}), "secrets.data_keys"),
    ("keys/operator-recipients.txt", "age1bogus\n", "operator.recipients"),
])
def test_malformed_secret_names_the_key(settings, file, content, key):
    settings.path(file).write_text(content)
    with pytest.raises(ConfigError, match=rf"^config error: {key}: "):
        load_server_secrets(settings)


def test_secrets_from_environment(settings, settings_with, monkeypatch):
    pepper = settings.path("keys/pepper").read_text()
    keyring = settings.path("keys/data-keys.json").read_text()
    env_settings = settings_with(secrets={"pepper": {"env": "TEST_PEPPER"}, "data_keys": {"env": "TEST_KEYS"}})
    with pytest.raises(ConfigError, match=r"^config error: secrets.pepper: environment variable TEST_PEPPER is not set$"):
        load_server_secrets(env_settings)
    monkeypatch.setenv("TEST_PEPPER", pepper)
    monkeypatch.setenv("TEST_KEYS", keyring)
    assert load_server_secrets(env_settings).pepper == load_server_secrets(settings).pepper


def test_add_data_key_keeps_old_keys_and_mode(settings):
    old = load_server_secrets(settings).data_keys
    assert add_data_key(settings) == 2
    new = load_server_secrets(settings).data_keys
    assert new.active_id == 2 and new.keys[1] == old.keys[1] and len(new.keys) == 2
    assert _mode(settings.path("keys/data-keys.json")) == 0o600


def test_operator_key_file_problems_are_one_line(settings, tmp_path):
    with pytest.raises(ConfigError, match="^config error: --key: cannot read"):
        load_operator_identity(tmp_path / "missing")
    bad = tmp_path / "bad"
    bad.write_text("hello\n")
    os.chmod(bad, 0o600)
    with pytest.raises(ConfigError, match="^config error: --key: "):
        load_operator_identity(bad)


def test_init_makes_server_secrets_only_unless_asked_for_a_demo_operator_key(settings_with):
    from storage.keys import (
        DEMO_OPERATOR_KEY_MARKER, intake_signing_public_keys, load_signing_key, new_operator_key,
        operator_identity_on_server, refuse_operator_identity_on_server,
    )

    settings = settings_with()
    result = init_keys(settings)
    names = {path.name for path in result.created}
    assert names == {"pepper", "data-keys.json", "signing-key", "intake-signing-public.txt"}
    assert _mode(settings.path("keys/signing-key")) == 0o600
    assert not settings.path("operator/operator-identity.txt").exists()
    assert operator_identity_on_server(settings) is None and refuse_operator_identity_on_server(settings) is False
    # The operator is given the public half, and it is the one the server signs with.
    assert intake_signing_public_keys(settings) == (crypto.signing_public_key(load_signing_key(settings)),)

    init_keys(settings, dev_operator_key=True)
    assert settings.path("operator/operator-identity.txt.demo").read_text().startswith(DEMO_OPERATOR_KEY_MARKER)
    assert operator_identity_on_server(settings) == "demo" and refuse_operator_identity_on_server(settings) is True

    settings.path("operator/operator-identity.txt").unlink()
    new_operator_key(settings.path("operator/operator-identity.txt"))  # a real one in its place, beside the demo mark
    assert operator_identity_on_server(settings) == "real"
    with pytest.raises(ConfigError, match="^config error: operator.identity_file: .*operator's machine only"):
        refuse_operator_identity_on_server(settings)


def test_default_key_files_are_outside_the_data_folder(settings_with):
    from bot.config import Settings
    from storage.keys import secrets_in_data_folder

    inside = settings_with(secrets={"pepper": {"file": "data/pepper"}, "signing_key": {"env": "SIGNING"}})
    assert secrets_in_data_folder(inside) == ["secrets.pepper"]
    settings = Settings()
    assert secrets_in_data_folder(settings) == []
    data = settings.data_dir.resolve()
    for source in (settings.secrets.pepper, settings.secrets.data_keys, settings.secrets.signing_key):
        assert data not in settings.path(source.file).resolve().parents
    assert data not in settings.path(settings.operator.identity_file).resolve().parents
