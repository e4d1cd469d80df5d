"""RabbitMQ as case queue: durable queues, persistent messages, publisher confirms, manual acks.

Urgent cases go to `<queue>.urgent`, which the consumer empties before `<queue>`.
Every publish waits for the broker's confirm; a message the broker returns as
unroutable or does not confirm is a retryable `SinkError`, so the case stays in
the outbox. The message id is the case id. RabbitMQ has no producer-side
deduplication without a plugin, so a redelivery after a crash can put a case in
the queue twice; the operator's store keeps it once (its add is idempotent on
the case id). The consumer acknowledges a message only after the case is kept;
an unacknowledged message goes back to the queue when the consumer's
connection ends, however it ends.
"""

from __future__ import annotations

import pika
from pika.exceptions import AMQPChannelError, AMQPError, ChannelClosedByBroker, NackError, UnroutableError

from ..outbox import SinkError
from .source import QueuedItem, SourceError

_ERRORS = (AMQPError, OSError)


def _kind_of(error: Exception) -> tuple[str, str]:
    if isinstance(error, UnroutableError):
        return "unroutable", "rabbitmq returned the case as unroutable"
    if isinstance(error, NackError):
        return "nacked", "rabbitmq did not confirm the case"
    if isinstance(error, ChannelClosedByBroker):
        return f"amqp_{error.reply_code}", "rabbitmq closed the channel"
    if isinstance(error, AMQPChannelError):
        return "channel_error", "rabbitmq channel error"
    return "unreachable", "rabbitmq is unreachable"


class RabbitQueue:
    """Case sink (confirmed, persistent publish) and case source (basic_get, manual ack)."""

    kind = "rabbitmq"

    def __init__(self, parameters: pika.ConnectionParameters, queue: str = "grievance.cases") -> None:
        self._parameters = parameters
        self.queues = (f"{queue}.urgent", queue)  # read in this order
        self._connection: pika.BlockingConnection | None = None
        self._channel: pika.adapters.blocking_connection.BlockingChannel | None = None

    @classmethod
    def from_url(cls, url: str, *, password: str | None, queue: str, timeout_seconds: float) -> RabbitQueue:
        """`url` carries no password (config rule); the user is taken from it, `password` from a SecretSource."""
        from urllib.parse import unquote, urlsplit, urlunsplit

        parts = urlsplit(url)
        user = unquote(parts.username) if parts.username else None
        host = parts.hostname or "127.0.0.1"
        netloc = f"[{host}]" if ":" in host else host
        if parts.port:
            netloc += f":{parts.port}"
        parameters = pika.URLParameters(urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")))
        if user is not None or password is not None:
            parameters.credentials = pika.PlainCredentials(user or "guest", password or "")
        parameters.socket_timeout = timeout_seconds
        parameters.stack_timeout = timeout_seconds
        parameters.blocked_connection_timeout = timeout_seconds
        parameters.connection_attempts = 1
        return cls(parameters, queue)

    def _open(self):
        if self._channel is not None and self._channel.is_open and self._connection and self._connection.is_open:
            return self._channel
        self._reset()
        self._connection = pika.BlockingConnection(self._parameters)
        channel = self._connection.channel()
        channel.confirm_delivery()
        for queue in self.queues:
            channel.queue_declare(queue, durable=True)
        self._channel = channel
        return channel

    def _reset(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except _ERRORS:
                pass  # already broken; the broker requeues anything unacknowledged

    # ---------------------------------------------------------------- producer

    def deliver(self, case_id: str, sealed: bytes, urgent: bool) -> None:
        properties = pika.BasicProperties(
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=case_id,
            content_type="application/octet-stream",
            headers={"urgent": urgent},
        )
        for attempt in (1, 2):
            reused = self._channel is not None
            try:
                channel = self._open()
                channel.basic_publish("", self.queues[0] if urgent else self.queues[1], sealed, properties, mandatory=True)
                return
            except _ERRORS as error:
                self._reset()
                # A connection idle since the last delivery may have been dropped: one fresh try.
                if attempt == 1 and reused and not isinstance(error, (UnroutableError, NackError)):
                    continue
                kind, message = _kind_of(error)
                raise SinkError(message, retryable=True, kind=kind) from None

    # ---------------------------------------------------------------- consumer

    def fetch(self, limit: int) -> list[QueuedItem]:
        items: list[QueuedItem] = []
        try:
            channel = self._open()
            for queue in self.queues:
                while len(items) < limit:
                    method, properties, body = channel.basic_get(queue, auto_ack=False)
                    if method is None:
                        break
                    # A message without a case id is not one of ours: handed out all the same (case id ""),
                    # for the pull to quarantine it instead of meeting it again on every pull.
                    items.append(QueuedItem(properties.message_id or "", body, queue == self.queues[0], method.delivery_tag))
        except _ERRORS as error:
            self._reset()
            kind, message = _kind_of(error)
            raise SourceError(message, kind) from None
        return items

    def ack(self, item: QueuedItem) -> None:
        channel = self._channel
        if channel is None or not channel.is_open:
            # Its delivery tag died with the channel; the broker has requeued the case already.
            raise SourceError("rabbitmq connection lost before the acknowledgement", "unreachable")
        try:
            channel.basic_ack(item.receipt)
        except _ERRORS as error:
            self._reset()
            kind, message = _kind_of(error)
            raise SourceError(message, kind) from None

    def release(self, item: QueuedItem) -> None:
        """Held unacknowledged until `close`, then requeued by the broker for another operator."""

    def depth(self) -> tuple[int, int]:
        """(cases ready in the queues, of which urgent); unacknowledged ones are not counted."""
        try:
            channel = self._open()
            urgent, normal = (channel.queue_declare(queue, durable=True, passive=True).method.message_count for queue in self.queues)
        except _ERRORS as error:
            self._reset()
            kind, message = _kind_of(error)
            raise SourceError(message, kind) from None
        return urgent + normal, urgent

    def close(self) -> None:
        self._reset()
