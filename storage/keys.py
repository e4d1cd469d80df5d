"""Key files: created by `grievance init`, read at start-up, rotated on command.

Each secret comes from a file (mode 0600, in a git-ignored folder) or from an
environment variable, as the config says. A missing or unreadable secret stops
start-up with one line naming the config key. Files readable by other users
are refused, as ssh refuses a private key anyone can read.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from bot.config import ConfigError, SecretSource, Settings

from . import crypto


@dataclass(frozen=True)
class CreatedKeys:
    """What `init_keys` wrote (paths only)."""

    created: tuple[Path, ...]
    kept: tuple[Path, ...]


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    # O_EXCL: never overwrite a key that exists; the mode is set at creation, never widened.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_private_file(path: Path, text: str) -> None:
    """Write a new secret file, mode 0600 from its creation, in a folder of mode 0700; never over one that exists."""
    _write_private(path, text)


def _replace_private(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".new")
    temporary.unlink(missing_ok=True)
    _write_private(temporary, text)
    os.replace(temporary, path)


def _keyring_text(keys: dict[int, bytes], active: int) -> str:
    return json.dumps({"active": active, "keys": {str(k): crypto.encode_key(v) for k, v in keys.items()}}, indent=1)


DEMO_OPERATOR_KEY_MARKER = "# DEMO OPERATOR KEY ON THIS MACHINE: never in production"


def init_keys(settings: Settings, dev_operator_key: bool = False) -> CreatedKeys:
    """Create whichever server secrets are missing; with `dev_operator_key`, a demo operator key pair too.

    Server secrets: the pepper, the data keyring and the signing key, each where `secrets`
    says (by default in var/keys, apart from the data folder), mode 0600. The public half of
    the signing key is written beside the recipients file for the operator to copy. The
    operator's key pair belongs on the operator's machine: it is made here only for the
    local demo (`--dev-operator-key`), marked as such in the file, and `serve` refuses any other.
    """
    created: list[Path] = []
    kept: list[Path] = []

    def ensure(path: Path, make) -> None:
        if path.exists():
            kept.append(path)
        else:
            _write_private(path, make())
            created.append(path)

    if settings.secrets.pepper.file:
        ensure(settings.path(settings.secrets.pepper.file), lambda: crypto.encode_key(crypto.new_pepper()) + "\n")
    if settings.secrets.data_keys.file:
        ensure(settings.path(settings.secrets.data_keys.file), lambda: _keyring_text({1: crypto.new_data_key()}, 1) + "\n")
    if settings.secrets.signing_key.file:
        signing_path = settings.path(settings.secrets.signing_key.file)
        ensure(signing_path, lambda: crypto.encode_key(crypto.new_signing_key()) + "\n")
        if settings.operator.intake_signing_keys_file:
            public = crypto.signing_public_key(load_signing_key(settings))
            ensure(settings.path(settings.operator.intake_signing_keys_file), lambda: public + "\n")
    if dev_operator_key:
        identity_path = settings.path(settings.operator.identity_file)
        ensure(identity_path, lambda: crypto.new_operator_keypair()[0] + "\n")
        identity = load_operator_identity(identity_path)
        recipient = crypto.operator_recipient_of(identity)
        # The mark names the demo key's public half: a real key put in its place is not taken for the demo one.
        ensure(_demo_mark_path(identity_path), lambda: f"{DEMO_OPERATOR_KEY_MARKER}\n{recipient}\n")
        if settings.operator.recipients_file:
            ensure(settings.path(settings.operator.recipients_file), lambda: recipient + "\n")
    return CreatedKeys(tuple(created), tuple(kept))


def secrets_in_data_folder(settings: Settings) -> list[str]:
    """The config keys of secret files that lie inside `paths.data_dir`: a copy or theft of the data
    folder would carry the keys that open it (the defaults keep them apart, in var/keys)."""
    data = settings.data_dir.resolve()
    sources = {"secrets.pepper": settings.secrets.pepper, "secrets.data_keys": settings.secrets.data_keys,
               "secrets.signing_key": settings.secrets.signing_key}
    return [key for key, source in sources.items() if source.file and data in settings.path(source.file).resolve().parents]


def new_operator_key(path: Path) -> str:
    """On the operator's machine: a new operator key pair, the private key in `path` (0600); returns the public key."""
    identity, recipient = crypto.new_operator_keypair()
    _write_private(path, f"# grievance operator key: keep it on this machine only\n# public key: {recipient}\n{identity}\n")
    return recipient


def _demo_mark_path(identity_path: Path) -> Path:
    return identity_path.with_name(identity_path.name + ".demo")


def operator_identity_on_server(settings: Settings) -> str | None:
    """What operator private key this config can read here: None, "demo" (made by `init --dev-operator-key`,
    whose mark file beside it names its public key) or "real"."""
    path = settings.path(settings.operator.identity_file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:  # absent or unreadable: nothing to worry about
        return None
    keys = [line.strip() for line in text.splitlines() if line.strip().startswith("AGE-SECRET-KEY-")]
    if not keys:
        return None
    try:
        mark = _demo_mark_path(path).read_text(encoding="utf-8").splitlines()
        recipients = {crypto.operator_recipient_of(key) for key in keys}
    except (OSError, crypto.KeyMaterialError):
        return "real"
    return "demo" if mark[:1] == [DEMO_OPERATOR_KEY_MARKER] and recipients <= set(mark[1:]) else "real"


def refuse_operator_identity_on_server(settings: Settings) -> bool:
    """Stop a server whose config can read a real operator private key; True if it can read the demo one."""
    found = operator_identity_on_server(settings)
    if found == "real":
        raise ConfigError(
            f"config error: operator.identity_file: {settings.path(settings.operator.identity_file)} holds an operator "
            "private key, readable by this intake server; it belongs on the operator's machine only (move it there), "
            "or for a local demo use `grievance init --dev-operator-key`"
        )
    return found == "demo"


def load_signing_key(settings: Settings) -> bytes:
    """The intake server's signing key (Ed25519), from `secrets.signing_key`."""
    source = settings.secrets.signing_key
    try:
        key = crypto.decode_key(read_secret(settings, source, "secrets.signing_key"), "the signing key")
        crypto.signing_public_key(key)  # checks its length
    except crypto.KeyMaterialError as error:
        raise ConfigError(f"config error: secrets.signing_key: {error}") from None
    return key


def intake_signing_public_keys(settings: Settings) -> tuple[str, ...]:
    """Operator side: the intake servers' public signing keys to trust, from the config list and the file."""
    keys = list(settings.operator.intake_signing_keys)
    if settings.operator.intake_signing_keys_file:
        path = settings.path(settings.operator.intake_signing_keys_file)
        if path.exists():
            lines = path.read_text(encoding="utf-8").splitlines()
            keys += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    if not keys:
        raise ConfigError(
            "config error: operator.intake_signing_keys: no intake signing key to check cases with "
            "(run `grievance keys export-signing-public` on the intake server and put its line here)"
        )
    for key in keys:
        try:
            crypto.parse_signing_public_key(key)
        except crypto.KeyMaterialError as error:
            raise ConfigError(f"config error: operator.intake_signing_keys: {error}") from None
    return tuple(keys)


def read_secret(settings: Settings, source: SecretSource, key: str) -> str:
    """A secret's value from its file (mode 0600) or environment variable; `key` names it in errors."""
    if source.env:
        value = os.environ.get(source.env)
        if not value:
            raise ConfigError(f"config error: {key}: environment variable {source.env} is not set")
        return value
    path = settings.path(source.file or "")
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(f"config error: {key}: {path} not found (run `grievance init`)") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"config error: {key}: {path} is readable by other users (chmod 600 it)")
    return path.read_text(encoding="utf-8")


def _parse_keyring(text: str) -> crypto.DataKeyring:
    try:
        data = json.loads(text)
        keys = {int(k): crypto.decode_key(v, "a data key") for k, v in data["keys"].items()}
        return crypto.DataKeyring(keys=keys, active_id=int(data["active"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise crypto.KeyMaterialError("not a data keyring (JSON with 'active' and 'keys')") from None


def operator_recipients(settings: Settings) -> tuple[str, ...]:
    """The operator public keys cases are sealed to: from the config list and the recipients file."""
    recipients = list(settings.operator.recipients)
    if settings.operator.recipients_file:
        path = settings.path(settings.operator.recipients_file)
        if path.exists():
            lines = path.read_text(encoding="utf-8").splitlines()
            recipients += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
        elif not recipients:
            raise ConfigError(
                f"config error: operator.recipients_file: {path} not found (put the operator's public key there: "
                "`grievance keys new-operator-key` on the operator's machine prints it; for a local demo, "
                "`grievance init --dev-operator-key`)"
            )
    return tuple(recipients)


def load_server_secrets(settings: Settings) -> crypto.ServerSecrets:
    """Everything the intake server needs to run; one clear line if anything is missing."""
    try:
        pepper = crypto.decode_key(read_secret(settings, settings.secrets.pepper, "secrets.pepper"), "the pepper")
    except crypto.KeyMaterialError as error:
        raise ConfigError(f"config error: secrets.pepper: {error}") from None
    try:
        keyring = _parse_keyring(read_secret(settings, settings.secrets.data_keys, "secrets.data_keys"))
    except crypto.KeyMaterialError as error:
        raise ConfigError(f"config error: secrets.data_keys: {error}") from None
    try:
        return crypto.ServerSecrets(pepper=pepper, data_keys=keyring, operator_recipients=operator_recipients(settings))
    except crypto.KeyMaterialError as error:
        key = "secrets.pepper" if "pepper" in str(error) else "operator.recipients"
        raise ConfigError(f"config error: {key}: {error}") from None


def load_operator_identity(path: Path) -> str:
    """The operator's private key, from the file given to `--key` (operator machine only)."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise ConfigError(f"config error: --key: cannot read {path}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"config error: --key: {path} is readable by other users (chmod 600 it)")
    identities = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not identities:
        raise ConfigError(f"config error: --key: {path} holds no key")
    try:
        crypto.operator_store_key(identities[0])
    except crypto.KeyMaterialError as error:
        raise ConfigError(f"config error: --key: {error}") from None
    return identities[0]


def add_data_key(settings: Settings) -> int:
    """Add a fresh data key to the keyring file and make it the active one; return its id."""
    source = settings.secrets.data_keys
    if not source.file:
        raise ConfigError(
            f"config error: secrets.data_keys: the keyring comes from ${source.env}; "
            "add a key there (see docs/production.md, 'Rotating the data key')"
        )
    path = settings.path(source.file)
    keyring = _parse_keyring(read_secret(settings, source, "secrets.data_keys"))
    new_id = max(keyring.keys) + 1
    _replace_private(path, _keyring_text({**keyring.keys, new_id: crypto.new_data_key()}, new_id) + "\n")
    return new_id


def retire_data_keys(settings: Settings, keep: int) -> None:
    """Drop every data key but `keep` from the keyring file (after everything is re-encrypted)."""
    path = settings.path(settings.secrets.data_keys.file or "")
    keyring = _parse_keyring(read_secret(settings, settings.secrets.data_keys, "secrets.data_keys"))
    _replace_private(path, _keyring_text({keep: keyring.keys[keep]}, keep) + "\n")
