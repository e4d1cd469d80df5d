"""The ground every config section stands on: the frozen base model, the typed error, where a
secret comes from, and the check of a connection URL (no password in it)."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, model_validator


class ConfigError(Exception):
    """The configuration is unusable; the message is one line that names the key."""


class Frozen(BaseModel):
    """A config section: immutable once validated, and an unknown key is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class SecretSource(Frozen):
    """Where a secret comes from: a file (mode 0600) or an environment variable."""

    file: str | None = None
    env: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SecretSource:
        if bool(self.file) == bool(self.env):
            raise ValueError("give exactly one of 'file' or 'env'")
        return self


def is_database_url(value: str) -> bool:
    """True when a store setting is a database URL rather than a file path."""
    return "://" in value


def connection_url(value: str, schemes: tuple[str, ...], password_key: str) -> str:
    """A connection URL with one of `schemes` and no password in it (passwords come from a SecretSource)."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ValueError("not a valid URL") from None
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"expected {' or '.join(s + '://host' for s in schemes)}")
    if parts.password is not None:
        raise ValueError(f"no password in the URL: give it in {password_key} as {{file: ...}} or {{env: ...}}")
    return value
