"""Where sealed cases go: the embedded queue, Redis, RabbitMQ or a signed webhook (storage/sinks/)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from .base import Frozen, SecretSource, connection_url

_QUEUE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"


class RedisQueue(Frozen):
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
        return connection_url(value, ("redis", "rediss"), "queue.redis.password")


class RabbitQueue(Frozen):
    """RabbitMQ: durable queues `<queue>.urgent` (read first) and `<queue>`."""

    # amqps:// for TLS. No user: RabbitMQ's guest/guest, which it accepts from localhost only.
    url: str = "amqp://127.0.0.1:5672/%2F"
    password: SecretSource | None = None
    queue: Annotated[str, Field(pattern=_QUEUE_NAME)] = "grievance.cases"
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 5

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return connection_url(value, ("amqp", "amqps"), "queue.rabbitmq.password")


class WebhookQueue(Frozen):
    """HTTPS POST of each sealed case into the operator's own case system, signed with HMAC-SHA256."""

    url: str
    secret: SecretSource
    ca_file: str | None = None  # trust this CA (PEM) instead of the system's, e.g. a private CA
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return connection_url(value, ("https",), "queue.webhook.secret")


class Queue(Frozen):
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
