"""Configuration: `config.yaml` read and validated once, into immutable objects.

Everything a deployment can change without code (languages, questions, their
order, categories, emergency contacts, time limits, paths) lives here. Secrets
never do: the config only names the file or environment variable that holds
each one. Any problem stops start-up with `ConfigError`, whose message is one
line naming the key and what is wrong.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

TAXONOMY = (
    "wages",
    "hours",
    "safety",
    "harassment",
    "discrimination",
    "forced_labour",
    "child_labour",
    "association",
    "dismissal",
    "retaliation",
    "living_conditions",
    "environment_community",
    "other",
)
CHANNEL_TYPES = ("console", "sms", "whatsapp", "telegram", "messenger", "line")
QUESTION_KINDS = ("text", "yes_no", "number", "category")


class ConfigError(Exception):
    """The configuration is unusable; the message is one line that names the key."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SecretSource(_Frozen):
    """Where a secret comes from: a file (mode 0600) or an environment variable."""

    file: str | None = None
    env: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SecretSource:
        if bool(self.file) == bool(self.env):
            raise ValueError("give exactly one of 'file' or 'env'")
        return self


class Deployment(_Frozen):
    name: str = "Worker hotline"
    default_language: str = "en"
    languages: tuple[str, ...] = ("en", "bn", "vi", "es")
    acknowledge_within_days: Annotated[int, Field(ge=1, le=90)] = 7
    emergency_contacts: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _default_is_offered(self) -> Deployment:
        if self.default_language not in self.languages:
            raise ValueError(f"default_language '{self.default_language}' is not in languages")
        return self


class Paths(_Frozen):
    data_dir: str = "var/data"
    database_url: str | None = None  # default: SQLite in data_dir
    # SQLite only. "full": an fsync per commit, a stored message survives a power loss.
    # "normal" (WAL): survives a crash of the process, but a power loss may undo the last commits.
    sqlite_synchronous: Literal["full", "normal"] = "full"


class Secrets(_Frozen):
    pepper: SecretSource = SecretSource(file="var/keys/pepper")
    data_keys: SecretSource = SecretSource(file="var/keys/data-keys.json")
    # Ed25519 key the server signs each sealed case with before it enters a queue (`grievance init`).
    signing_key: SecretSource = SecretSource(file="var/keys/signing-key")


class ServiceLevels(_Frozen):
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


class Operator(_Frozen):
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
    service_levels: ServiceLevels = ServiceLevels()

    @field_validator("store")
    @classmethod
    def _store(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a file path (SQLite) or a postgresql+psycopg:// URL")
        if is_database_url(value):
            return _broker_url(value, ("postgresql+psycopg",), "operator.store_password")
        return value

    @model_validator(mode="after")
    def _password_needs_a_database(self) -> Operator:
        if self.store_password is not None and not is_database_url(self.store):
            raise ValueError("store_password is for a PostgreSQL store (operator.store: postgresql+psycopg://...)")
        return self


def is_database_url(value: str) -> bool:
    """True when a store setting is a database URL rather than a file path."""
    return "://" in value


class Session(_Frozen):
    idle_expiry_hours: Annotated[float, Field(gt=0, le=24 * 30)] = 72
    reply_address_retention_days: Annotated[int, Field(ge=0, le=3650)] = 90
    # After this long without a message, the next one is greeted "welcome back" with the question
    # the worker was at; small talk then is never taken for an answer.
    resume_after_minutes: Annotated[float, Field(gt=0, le=24 * 60)] = 30
    # After STATUS <code> the worker's messages are answers into that case; after this long
    # without one, the next message starts afresh instead of being filed into the old case.
    status_dialogue_idle_minutes: Annotated[float, Field(gt=0, le=24 * 60)] = 30


class Retention(_Frozen):
    """How long the intake server keeps what it needs only for a while (purged by `grievance purge`).

    Drafts and reply addresses stay under `session` (`idle_expiry_hours`,
    `reply_address_retention_days`), where existing configs have them.
    """

    # Keyed hashes of provider message ids, so a provider's retry is not handled twice. Telegram
    # re-sends updates for 24 hours and Twilio and Meta within minutes: less than a day would let a
    # late retry through as a new message.
    receipts_days: Annotated[float, Field(ge=1, le=365)] = 7
    # Messages a provider accepted but never confirmed (many SMS carriers never do), encrypted:
    # kept so a late failure report can still trigger a retry.
    sent_outbound_hours: Annotated[float, Field(ge=0, le=24 * 30)] = 48
    # Messages to workers that could not be sent (encrypted), kept for `grievance queue status`.
    dead_outbound_days: Annotated[float, Field(ge=0, le=365)] = 7
    # The marker "case <id> was delivered to the queue" (the sealed case itself is dropped on
    # delivery); 0 erases it at the next purge.
    delivered_outbox_hours: Annotated[float, Field(ge=0, le=24 * 30)] = 0
    # Telegram message ids of a chat (encrypted, under a keyed hash of the chat), kept this long
    # after its last message so DELETE can remove the summary, the case code and the operator's
    # messages (Telegram allows it for 48 hours) and say how many older ones the worker must delete.
    chat_message_refs_days: Annotated[float, Field(ge=2, le=90)] = 7


class Limits(_Frozen):
    max_message_chars: Annotated[int, Field(ge=100, le=100_000)] = 5000
    max_description_chars: Annotated[int, Field(ge=100, le=200_000)] = 20_000
    # Photos and voice notes one report can carry, and their cleaned bytes in all: a sealed case
    # must stay small enough to deliver and open (25 photos once made an 87 MB case). 0 takes none.
    max_attachments_per_report: Annotated[int, Field(ge=0, le=20)] = 5
    max_attachment_bytes_per_report: Annotated[int, Field(ge=0, le=50_000_000)] = 15_000_000


class Question(_Frozen):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    kind: Literal["text", "yes_no", "number", "category"] = "text"
    optional: bool = False
    marks_urgent: bool = False  # a YES here marks the case urgent and sends the emergency contacts
    grants_contact: bool = False  # a YES here lets the operator contact the worker (sealed in the case)
    grants_referral: bool = False  # a YES here lets the desk refer the problem to the company (never the worker's identity)
    # What the NLU may have found in the description for this question; the worker is then
    # asked to confirm it ("We understood: Gazipur. Is that right?") instead of typing it again.
    entity: Literal["people", "time", "workplace", "place"] | None = None

    @model_validator(mode="after")
    def _flags_need_yes_no(self) -> Question:
        if (self.marks_urgent or self.grants_contact or self.grants_referral) and self.kind != "yes_no":
            raise ValueError("marks_urgent, grants_contact and grants_referral need kind yes_no")
        return self


DEFAULT_QUESTIONS = (
    Question(id="category", kind="category"),
    Question(id="workplace", entity="workplace"),
    Question(id="location", entity="place"),
    Question(id="brand", optional=True),
    Question(id="when", entity="time"),  # "When did it happen? Is it still going on?": one turn, not two
    Question(id="people_affected", kind="number", entity="people"),
    Question(id="urgent", kind="yes_no", marks_urgent=True),
    Question(id="contact_consent", kind="yes_no", grants_contact=True),
    Question(id="referral_consent", kind="yes_no", grants_referral=True),
)


class Flow(_Frozen):
    categories: tuple[str, ...] = TAXONOMY
    questions: tuple[Question, ...] = DEFAULT_QUESTIONS

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [c for c in value if c not in TAXONOMY]
        if unknown:
            raise ValueError(f"unknown category '{unknown[0]}' (codes: {', '.join(TAXONOMY)})")
        if "other" not in value:
            raise ValueError("the category 'other' must stay in the list")
        return value

    @field_validator("questions")
    @classmethod
    def _sound_questions(cls, value: tuple[Question, ...]) -> tuple[Question, ...]:
        ids = [q.id for q in value]
        duplicates = {i for i in ids if ids.count(i) > 1}
        if duplicates:
            raise ValueError(f"question id '{sorted(duplicates)[0]}' is used twice")
        if "description" in ids:
            raise ValueError("'description' is asked by the engine itself before these questions; remove it")
        if sum(q.kind == "category" for q in value) != 1:
            raise ValueError("exactly one question must be of kind 'category'")
        return value


def _broker_url(value: str, schemes: tuple[str, ...], password_key: str) -> str:
    """A connection URL with one of `schemes` and no password in it (passwords come from a SecretSource)."""
    from urllib.parse import urlsplit

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


_QUEUE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"


class RedisQueue(_Frozen):
    """Redis Streams: urgent cases in `<stream>:urgent`, the others in `<stream>`."""

    url: str = "redis://127.0.0.1:6379/0"  # rediss:// for TLS; never a password here
    password: SecretSource | None = None
    stream: Annotated[str, Field(pattern=_QUEUE_NAME)] = "grievance:cases"
    group: Annotated[str, Field(pattern=_QUEUE_NAME)] = "operators"
    consumer: Annotated[str, Field(pattern=_QUEUE_NAME)] | None = None  # default: this machine's host name
    # A case id seen by the producer this recently is not added again (a redelivery after a crash).
    dedup_days: Annotated[int, Field(ge=1, le=3650)] = 30
    # A pending case nobody acknowledged for this long is taken over (its consumer died mid-pull).
    claim_idle_seconds: Annotated[float, Field(ge=0, le=86400)] = 300
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 5

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _broker_url(value, ("redis", "rediss"), "queue.redis.password")


class RabbitQueue(_Frozen):
    """RabbitMQ: durable queues `<queue>.urgent` (read first) and `<queue>`."""

    # amqps:// for TLS. No user: RabbitMQ's guest/guest, which it accepts from localhost only.
    url: str = "amqp://127.0.0.1:5672/%2F"
    password: SecretSource | None = None
    queue: Annotated[str, Field(pattern=_QUEUE_NAME)] = "grievance.cases"
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 5

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _broker_url(value, ("amqp", "amqps"), "queue.rabbitmq.password")


class WebhookQueue(_Frozen):
    """HTTPS POST of each sealed case into the operator's own case system, signed with HMAC-SHA256."""

    url: str
    secret: SecretSource
    ca_file: str | None = None  # trust this CA (PEM) instead of the system's, e.g. a private CA
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _broker_url(value, ("https",), "queue.webhook.secret")


class Queue(_Frozen):
    """Where sealed cases go (storage/sinks/); only the section of the chosen kind is used."""

    kind: Literal["embedded", "redis", "rabbitmq", "webhook"] = "embedded"
    max_attempts: Annotated[int, Field(ge=1, le=1000)] = 20
    redis: RedisQueue = RedisQueue()
    rabbitmq: RabbitQueue = RabbitQueue()
    webhook: Annotated[WebhookQueue | None, Field(validate_default=True)] = None

    @field_validator("webhook")
    @classmethod
    def _webhook_when_chosen(cls, value: WebhookQueue | None, info) -> WebhookQueue | None:
        if value is None and info.data.get("kind") == "webhook":
            raise ValueError("required when queue.kind is webhook (url and secret)")
        return value


class Nlu(_Frozen):
    """Category suggestion: the built-in n-gram model, or a Rasa server (`nlu/rasa/`)
    with the built-in model answering whenever Rasa is slow or down."""

    backend: Literal["builtin", "rasa"] = "builtin"
    suggestion_min_confidence: Annotated[float, Field(ge=0, le=1)] = 0.34
    rasa_url: Annotated[str, Field(pattern=r"^https?://[^/]")] = "http://127.0.0.1:5005"  # urllib would open file: too
    # A worker never waits longer than this on Rasa before the built-in model answers.
    rasa_timeout_seconds: Annotated[float, Field(gt=0, le=10)] = 0.5
    # The token Rasa was started with (`rasa run --auth-token`, see `make rasa-run`).
    rasa_token: SecretSource = SecretSource(file="var/keys/rasa-token")


class Logging(_Frozen):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: str | None = "var/data/logs/grievance.log"


class Server(_Frozen):
    # The public HTTPS address providers call (behind the reverse proxy). Twilio signs the full
    # public URL, so signatures can only be checked against it: required with Twilio.
    public_url: Annotated[str, Field(pattern=r"^https?://[^/\s]+(/[^\s]*)?$")] | None = None
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    forward_interval_seconds: Annotated[float, Field(gt=0, le=3600)] = 2.0
    purge_interval_seconds: Annotated[float, Field(gt=0, le=86400)] = 600.0
    threads: Annotated[int, Field(ge=1, le=64)] = 4  # gunicorn threads per worker process (`serve --workers`)


class ChannelSettings(_Frozen):
    enabled: bool = False


class RateLimit(_Frozen):
    """How fast a channel may send: overall, and to any one chat or number."""

    messages_per_second: Annotated[float, Field(gt=0, le=1000)]
    per_address_interval_seconds: Annotated[float, Field(ge=0, le=3600)] = 0.0


class ProviderSettings(_Frozen):
    """What every provider channel has: a switch and a size limit for photos and voice notes."""

    enabled: bool = False
    media_max_bytes: Annotated[int, Field(ge=0, le=20_000_000)] = 5_000_000  # 0 turns media off


class TwilioSettings(ProviderSettings):
    """SMS and WhatsApp through Twilio, on one webhook (`POST /webhooks/twilio`)."""

    account_sid: SecretSource = SecretSource(env="TWILIO_ACCOUNT_SID")
    auth_token: SecretSource = SecretSource(env="TWILIO_AUTH_TOKEN")
    sms_from: str | None = None  # the hotline's SMS number, E.164 ("+15550100000")
    whatsapp_from: str | None = None  # the hotline's WhatsApp sender ("whatsapp:+15550100000")
    whatsapp_template_sid: str | None = None  # ContentSid of the approved "send STATUS and your code" template
    api_base_url: str = "https://api.twilio.com"
    max_segments_per_message: Annotated[int, Field(ge=1, le=10)] = 3
    # Languages whose SMS replies go without tone marks and accents (GSM-7: 160 characters a
    # segment instead of 70), for communities that already write that way: e.g. [vi, es].
    gsm7_fold: tuple[Annotated[str, Field(pattern=r"^[a-z]{2,3}$")], ...] = ()
    rate: RateLimit = RateLimit(messages_per_second=1.0)


class WhatsAppCloudSettings(ProviderSettings):
    """WhatsApp through Meta's Cloud API (`GET|POST /webhooks/whatsapp`)."""

    app_secret: SecretSource = SecretSource(env="WHATSAPP_APP_SECRET")
    verify_token: SecretSource = SecretSource(env="WHATSAPP_VERIFY_TOKEN")
    access_token: SecretSource = SecretSource(env="WHATSAPP_ACCESS_TOKEN")
    phone_number_id: str | None = None
    graph_base_url: str = "https://graph.facebook.com/v21.0"
    template_name: str = "case_update"  # approved template: "There is an update. Send STATUS and your code."
    template_language: str = "en"
    rate: RateLimit = RateLimit(messages_per_second=20.0)


class TelegramSettings(ProviderSettings):
    """Telegram through python-telegram-bot, by webhook (`POST /webhooks/telegram`) or polling."""

    bot_token: SecretSource = SecretSource(env="TELEGRAM_BOT_TOKEN")
    webhook_secret: SecretSource = SecretSource(env="TELEGRAM_WEBHOOK_SECRET")
    mode: Literal["webhook", "polling"] = "webhook"
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    rate: RateLimit = RateLimit(messages_per_second=25.0, per_address_interval_seconds=1.0)


class MessengerSettings(ProviderSettings):
    """Facebook Messenger, a Page's inbox, through the Graph API (`GET|POST /webhooks/messenger`)."""

    app_secret: SecretSource = SecretSource(env="MESSENGER_APP_SECRET")
    verify_token: SecretSource = SecretSource(env="MESSENGER_VERIFY_TOKEN")
    page_access_token: SecretSource = SecretSource(env="MESSENGER_PAGE_ACCESS_TOKEN")
    page_id: str | None = None
    graph_base_url: str = "https://graph.facebook.com/v21.0"
    human_agent_tag: bool = False  # the Page has Meta's Human Agent permission: a person may answer for 7 days
    rate: RateLimit = RateLimit(messages_per_second=20.0)


class LineSettings(ProviderSettings):
    """LINE, a LINE Official Account, through the Messaging API (`POST /webhooks/line`)."""

    channel_secret: SecretSource = SecretSource(env="LINE_CHANNEL_SECRET")
    channel_access_token: SecretSource = SecretSource(env="LINE_CHANNEL_ACCESS_TOKEN")
    api_base_url: str = "https://api.line.me"
    data_api_base_url: str = "https://api-data.line.me"
    monthly_push_quota: Annotated[int, Field(ge=0)] | None = None  # lower than LINE's own (the plan's) to keep a reserve
    quota_warning_share: Annotated[float, Field(gt=0, le=1)] = 0.8
    rate: RateLimit = RateLimit(messages_per_second=20.0)


class Channels(_Frozen):
    console: ChannelSettings = ChannelSettings(enabled=True)
    twilio: TwilioSettings = TwilioSettings()
    whatsapp_cloud: WhatsAppCloudSettings = WhatsAppCloudSettings()
    telegram: TelegramSettings = TelegramSettings()
    messenger: MessengerSettings = MessengerSettings()
    line: LineSettings = LineSettings()


class OperatorApi(_Frozen):
    """The operator API (bot/operator_api.py): a separate app, on its own address, never on the public one."""

    enabled: bool = False
    host: str = "127.0.0.1"  # reach it through a VPN or an SSH tunnel, not the public proxy
    port: Annotated[int, Field(ge=1, le=65535)] = 8081
    workers: Annotated[int, Field(ge=1, le=16)] = 1
    max_message_chars: Annotated[int, Field(ge=10, le=5000)] = 1000
    notify_status_changes: bool = True  # tell the worker (on their channel, while the address is held)


class StatusThrottle(_Frozen):
    """Limits on STATUS look-ups that find no case: per sender (keyed pseudonym) and overall."""

    per_sender_failures: Annotated[int, Field(ge=1, le=1000)] = 5
    per_sender_window_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)] = 60
    global_failures: Annotated[int, Field(ge=1, le=1_000_000)] = 30
    global_window_seconds: Annotated[int, Field(ge=1, le=3600)] = 60
    keep_counts_days: Annotated[int, Field(ge=1, le=365)] = 30  # global counters, for `grievance stats`


class OperatorClient(_Frozen):
    """The operator's machine: where the operator API is and where its token comes from."""

    url: Annotated[str, Field(pattern=r"^https?://[^/\s]+(/[^\s]*)?$")] = "http://127.0.0.1:8081"
    token: SecretSource = SecretSource(env="GRIEVANCE_OPERATOR_API_TOKEN")
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0


class Settings(_Frozen):
    """The whole validated configuration. `base_dir` anchors relative paths."""

    base_dir: str = "."
    deployment: Deployment = Deployment()
    paths: Paths = Paths()
    secrets: Secrets = Secrets()
    operator: Operator = Operator()
    session: Session = Session()
    retention: Retention = Retention()
    limits: Limits = Limits()
    flow: Flow = Flow()
    queue: Queue = Queue()
    nlu: Nlu = Nlu()
    logging: Logging = Logging()
    server: Server = Server()
    channels: Channels = Channels()
    operator_api: OperatorApi = OperatorApi()
    status_throttle: StatusThrottle = StatusThrottle()
    operator_client: OperatorClient = OperatorClient()

    @model_validator(mode="after")
    def _public_url_for_twilio(self) -> Settings:
        if self.channels.twilio.enabled and not self.server.public_url:
            raise ValueError("server.public_url: required when channels.twilio is enabled (Twilio signs the public URL)")
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


# ---------------------------------------------------------------- checks across config and catalogs, once at start-up

# Channels that reach real workers; with any of them enabled the emergency contacts must be real.
REAL_CHANNELS = ("twilio", "whatsapp_cloud", "telegram")
# A placeholder number: six or more digits that are all zeros, however spaced ("+000 0000 0000").
_PLACEHOLDER_NUMBER = re.compile(r"(?<![0-9])0(?:[ .-]*0){5,}(?![0-9])")


class _HasTexts(Protocol):
    def has(self, language: str, key: str) -> bool: ...


def _placeholder_contact(contact: str) -> bool:
    return not contact.strip() or bool(_PLACEHOLDER_NUMBER.search(contact))


def check_deployment(settings: Settings, catalogs: _HasTexts) -> list[str]:
    """What pydantic cannot see alone, checked once at start-up: raise `ConfigError` or return warnings.

    - every configured question has its texts (`ask.<id>`, `label.<id>`) in every offered
      language: otherwise the first worker to reach it would get an error, or another language;
    - the emergency contacts are there and none is a placeholder ("+000 0000 0000") once a
      channel that reaches real workers is enabled; with the console alone, a warning;
    - a warning when no question grants contact (the hotline could then never write first).
    """
    for index, question in enumerate(settings.flow.questions):
        for kind in ("ask", "label"):
            for language in settings.deployment.languages:
                if not catalogs.has(language, f"{kind}.{question.id}"):
                    raise ConfigError(
                        f'config error: flow.questions[{index}] ({question.id}): no text "{kind}.{question.id}" in catalog "{language}"'
                        f" (add it to bot/locales/{language}/LC_MESSAGES/messages.po)"
                    )
    warnings = []
    if not any(question.grants_contact for question in settings.flow.questions):
        warnings.append(
            "config warning: flow.questions: no question has grants_contact, so no worker can agree to be"
            " contacted: nothing is ever sent to a worker first (they read news with STATUS and their code)"
        )
    contacts = settings.deployment.emergency_contacts
    placeholders = [index for index, contact in enumerate(contacts) if _placeholder_contact(contact)]
    problem = None
    if not contacts:
        problem = "deployment.emergency_contacts: empty; a worker in danger would get no number to call"
    elif placeholders:
        problem = (
            f"deployment.emergency_contacts[{placeholders[0]}]: a placeholder or empty entry;"
            " put the deployment's own numbers there"
        )
    if problem is None:
        return warnings
    enabled = [name for name in REAL_CHANNELS if getattr(settings.channels, name).enabled]
    if enabled:
        raise ConfigError(f"config error: {problem} (required with channels.{enabled[0]} enabled)")
    return [*warnings, f"config warning: {problem} (fine for trying it locally, not for workers)"]
