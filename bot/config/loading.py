"""The whole configuration (`Settings`) and how it is read: from a YAML file or a mapping, with
any problem turned into one `ConfigError` line that names the key."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import ValidationError, model_validator

from .base import ConfigError, Frozen
from .channels import Channels
from .conversation import Deployment, Flow, Limits, Nlu, Session
from .duty import Duty
from .operator_side import Operator, OperatorApi, OperatorClient
from .queues import Queue
from .referrals import Referral
from .server import Logging, MediaCleaning, Paths, Retention, Secrets, Server, StatusThrottle


class Settings(Frozen):
    """The whole validated configuration. `base_dir` anchors relative paths."""

    base_dir: str = "."
    deployment: Deployment = Deployment()
    paths: Paths = Paths()
    secrets: Secrets = Secrets()
    operator: Operator = Operator()
    session: Session = Session()
    retention: Retention = Retention()
    limits: Limits = Limits()
    media: MediaCleaning = MediaCleaning()
    flow: Flow = Flow()
    queue: Queue = Queue()
    nlu: Nlu = Nlu()
    logging: Logging = Logging()
    server: Server = Server()
    channels: Channels = Channels()
    operator_api: OperatorApi = OperatorApi()
    status_throttle: StatusThrottle = StatusThrottle()
    operator_client: OperatorClient = OperatorClient()
    duty: Duty = Duty()
    referral: Referral = Referral()

    @model_validator(mode="after")
    def _public_url_for_twilio(self) -> Settings:
        if self.channels.twilio.enabled and not self.server.public_url:
            raise ValueError("server.public_url: required when channels.twilio is enabled (Twilio signs the public URL)")
        if self.channels.voice.enabled and not self.server.public_url:
            raise ValueError("server.public_url: required when channels.voice is enabled (Twilio signs the public URL)")
        return self

    def path(self, relative: str) -> Path:
        """A path from the config, made absolute against the config file's folder."""
        candidate = Path(relative).expanduser()
        return candidate if candidate.is_absolute() else Path(self.base_dir) / candidate

    @property
    def data_dir(self) -> Path:
        return self.path(self.paths.data_dir)

    @property
    def database_url(self) -> str:
        if self.paths.database_url:
            return self.paths.database_url
        return f"sqlite:///{self.data_dir / 'grievance.db'}"


def _error_line(error: ValidationError) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    # A check across sections names its key itself ("server.public_url: ...").
    if not first["loc"] and ": " in message and " " not in message.split(": ", 1)[0]:
        key, message = message.split(": ", 1)
    return f"config error: {key}: {message}"


def settings_from_mapping(data: dict, base_dir: str | Path = ".") -> Settings:
    """Validate a config mapping (as read from YAML) into `Settings`."""
    if not isinstance(data, dict):
        raise ConfigError("config error: (top level): expected a mapping of sections")
    try:
        return Settings.model_validate({**data, "base_dir": str(Path(base_dir).resolve())})
    except ValidationError as error:
        raise ConfigError(_error_line(error)) from None


def load_settings(path: str | Path | None = None) -> Settings:
    """Read and validate the config file (`--config`, `$GRIEVANCE_CONFIG`, or ./config.yaml)."""
    config_path = Path(path or os.environ.get("GRIEVANCE_CONFIG") or "config.yaml")
    try:
        text = config_path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"config error: cannot read {config_path}: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"config error: {config_path} is not valid YAML{where}") from None
    return settings_from_mapping(data or {}, base_dir=config_path.parent)
