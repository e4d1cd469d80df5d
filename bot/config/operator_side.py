"""The operator's side: the operator's keys and store, service levels of the desk, the operator
API on the intake server and its client on the operator's machine."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from .base import Frozen, SecretSource, connection_url, is_database_url


class ServiceLevels(Frozen):
    """The operator's desk: days for feedback, counted from the day a case was received.

    The days to acknowledge are `deployment.acknowledge_within_days`, the delay promised
    to the worker and written in each case (`acknowledge_by`): one number, in one place.
    """

    feedback_within_days: Annotated[int, Field(ge=1, le=3650)] = 90

    @model_validator(mode="before")
    @classmethod
    def _acknowledge_lives_in_deployment(cls, data):
        if isinstance(data, dict) and "acknowledge_within_days" in data:
            raise ValueError("acknowledge_within_days is set once, in deployment.acknowledge_within_days (it is promised to the worker)")
        return data


class Operator(Frozen):
    recipients: tuple[str, ...] = ()  # age public keys (not secret)
    recipients_file: str | None = "var/keys/operator-recipients.txt"
    identity_file: str = "var/operator/operator-identity.txt"  # operator machine only
    # Operator machine only: the operator store (desk/operator_store.py), encrypted at rest. A file path
    # (SQLite, one machine), or for a team a PostgreSQL URL (postgresql+psycopg://user@host/db, TLS with
    # ?sslmode=verify-full) whose password is never in the URL but in store_password.
    store: str = "var/operator/cases.db"
    store_password: SecretSource | None = None
    # Operator machine: the intake servers' signing public keys (`grievance keys export-signing-public`
    # on the server); `cases pull` opens only cases signed by one of them. Not secret.
    intake_signing_keys: tuple[str, ...] = ()
    intake_signing_keys_file: str | None = "var/keys/intake-signing-public.txt"
    # Operator machine: where `cases pull` puts queue items that fail the signature, the schema or the case id.
    quarantine_dir: str = "var/operator/quarantine"
    # Operator machine: signed heads of the desk's audit log (desk/audit.py), kept outside the store so
    # that a cut or rewritten log is seen (`grievance desk audit verify`); None writes none.
    audit_heads_file: str | None = "var/operator/audit-heads.txt"
    service_levels: ServiceLevels = ServiceLevels()

    @field_validator("store")
    @classmethod
    def _store(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a file path (SQLite) or a postgresql+psycopg:// URL")
        if is_database_url(value):
            return connection_url(value, ("postgresql+psycopg",), "operator.store_password")
        return value

    @model_validator(mode="after")
    def _password_needs_a_database(self) -> Operator:
        if self.store_password is not None and not is_database_url(self.store):
            raise ValueError("store_password is for a PostgreSQL store (operator.store: postgresql+psycopg://...)")
        return self


class OperatorApi(Frozen):
    """The operator API (bot/operator_api.py): a separate app, on its own address, never on the public one."""

    enabled: bool = False
    host: str = "127.0.0.1"  # reach it through a VPN or an SSH tunnel, not the public proxy
    port: Annotated[int, Field(ge=1, le=65535)] = 8081
    workers: Annotated[int, Field(ge=1, le=16)] = 1
    max_message_chars: Annotated[int, Field(ge=10, le=5000)] = 1000
    notify_status_changes: bool = True  # tell the worker (on their channel, while the address is held)


class OperatorClient(Frozen):
    """The operator's machine: where the operator API is and where its token comes from."""

    url: Annotated[str, Field(pattern=r"^https?://[^/\s]+(/[^\s]*)?$")] = "http://127.0.0.1:8081"
    token: SecretSource = SecretSource(env="GRIEVANCE_OPERATOR_API_TOKEN")
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0
