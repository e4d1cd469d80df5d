"""Case sinks and sources, one module each, chosen by `queue.kind` in the config.

| kind       | module           | producer dedup by case id     | operator pulls with       |
|------------|------------------|-------------------------------|---------------------------|
| embedded   | embedded.py      | unique insert                 | the same database         |
| redis      | redis_streams.py | SET NX key + XADD in one Lua  | consumer group, XAUTOCLAIM|
| rabbitmq   | rabbitmq.py      | none (no plugin assumed)      | basic_get, manual ack     |
| webhook    | webhook.py       | the receiver (Idempotency-Key)| nothing: its own system   |

Everywhere delivery is at least once, and the operator's store keeps a case id
once. Cases for the queues the operator pulls from are signed by the server
(signing.py) and checked by the pull. Secrets (passwords, the webhook key) are read here from their SecretSource;
connections open lazily, so a broker that is down only delays delivery.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from bot.config import ConfigError, Settings

from ..keys import load_signing_key, read_secret
from ..outbox import CaseSink
from .embedded import EmbeddedQueue
from .signing import SignedSink
from .source import CaseSource, QueuedItem, SourceError

__all__ = ["CaseSource", "QueuedItem", "SourceError", "PULLABLE_KINDS", "make_sink", "make_source"]

PULLABLE_KINDS = ("embedded", "redis", "rabbitmq")
WEBHOOK_SECRET_MIN_CHARS = 32


def _redis(settings: Settings, sessions: sessionmaker[Session]):
    from .redis_streams import RedisStreamsQueue

    config = settings.queue.redis
    password = read_secret(settings, config.password, "queue.redis.password").strip() if config.password else None
    consumer = config.consumer or re.sub(r"[^A-Za-z0-9_.:-]", "-", socket.gethostname())[:100] or "operator"
    return RedisStreamsQueue(
        config.url,
        password=password,
        stream=config.stream,
        group=config.group,
        consumer=consumer,
        dedup_seconds=config.dedup_days * 86400,
        claim_idle_seconds=config.claim_idle_seconds,
        timeout_seconds=config.timeout_seconds,
    )


def _rabbitmq(settings: Settings, sessions: sessionmaker[Session]):
    from urllib.parse import urlsplit

    from .rabbitmq import RabbitQueue

    config = settings.queue.rabbitmq
    password = read_secret(settings, config.password, "queue.rabbitmq.password").strip() if config.password else None
    if urlsplit(config.url).username and password is None:
        raise ConfigError("config error: queue.rabbitmq.password: required when queue.rabbitmq.url names a user")
    return RabbitQueue.from_url(config.url, password=password, queue=config.queue, timeout_seconds=config.timeout_seconds)


def _webhook(settings: Settings, sessions: sessionmaker[Session]):
    from .webhook import WebhookSink

    config = settings.queue.webhook
    if config is None:  # the config validation requires it already; an assert would vanish under python -O
        raise ConfigError("config error: queue.webhook: required when queue.kind is webhook (url and secret)")
    secret = read_secret(settings, config.secret, "queue.webhook.secret").strip()
    if len(secret) < WEBHOOK_SECRET_MIN_CHARS:
        raise ConfigError(
            f"config error: queue.webhook.secret: too short (at least {WEBHOOK_SECRET_MIN_CHARS} characters, "
            "e.g. `openssl rand -hex 32`)"
        )
    ca_file = str(settings.path(config.ca_file)) if config.ca_file else None
    if ca_file:
        try:
            open(ca_file, "rb").close()
        except OSError as error:
            raise ConfigError(f"config error: queue.webhook.ca_file: cannot read {ca_file}: {error.strerror}") from None
    return WebhookSink(config.url, secret, ca_file=ca_file, timeout_seconds=config.timeout_seconds)


_BUILDERS: dict[str, Callable[[Settings, sessionmaker[Session]], object]] = {
    "embedded": lambda settings, sessions: EmbeddedQueue(sessions),
    "redis": _redis,
    "rabbitmq": _rabbitmq,
    "webhook": _webhook,
}


def make_sink(settings: Settings, sessions: sessionmaker[Session]) -> CaseSink:
    """The sink `queue.kind` names, signing what it delivers to a pullable queue; a missing secret
    (the signing key included) stops start-up with one line (ConfigError)."""
    if settings.queue.kind not in PULLABLE_KINDS:
        return _BUILDERS[settings.queue.kind](settings, sessions)  # type: ignore[return-value]
    signing_key = load_signing_key(settings)  # before connecting: a missing key is a config error, not an outage
    return SignedSink(_BUILDERS[settings.queue.kind](settings, sessions), signing_key)  # type: ignore[return-value]


def make_source(settings: Settings, sessions: sessionmaker[Session]) -> CaseSource:
    """The queue the operator pulls from: the same `queue` section as the server's."""
    if settings.queue.kind not in PULLABLE_KINDS:
        raise SourceError("queue.kind is webhook: cases go straight to the operator's own system", "not_pullable")
    return _BUILDERS[settings.queue.kind](settings, sessions)  # type: ignore[return-value]
