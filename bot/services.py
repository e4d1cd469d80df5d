"""Everything the bot needs, built once from validated settings (no globals, no import-time config)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from nlu import Understander
from nlu.backends import make_understander

from .config import Settings, check_deployment
from .i18n import Catalogs
from .intake import Intake
from .messages import ReplyAddress
from channels.dispatcher import Dispatcher
from channels.duty_pager import Pager, build_pager
from channels.registry import build_adapters
from storage.chat_refs import ChatRefStore
from storage.conversations import ConversationStore
from storage.outbound import OutboundQueue
from storage import crypto
from storage.db import make_engine, migrate, session_factory, utcnow
from storage.keys import load_server_secrets, read_secret
from storage.outbox import CaseSink

log = logging.getLogger(__name__)


@dataclass
class Services:
    """The running bot's parts. `adapters` and `dispatcher` are set by `build_services`.

    The adapters are built from it: it is the `channels.base.RunningBot` they are given."""

    settings: Settings
    secrets: crypto.ServerSecrets
    db: Engine
    sessions: sessionmaker[Session]
    catalogs: Catalogs
    understander: Understander
    intake: Intake
    sink: CaseSink
    adapters: dict = field(default_factory=dict)
    dispatcher: Dispatcher | None = None
    pager: Pager | None = None  # pages the person on duty (`duty.enabled`); run by the maintenance loop

    def close(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.close()
        for adapter in self.adapters.values():
            adapter.close()
        close_sink = getattr(self.sink, "close", None)
        if close_sink is not None:
            close_sink()
        self.db.dispose()

    def record_message_ref(self, address: ReplyAddress, ref: str, session: Session | None = None) -> None:
        """Remember a message the bot sent into a conversation, for DELETE (in `session`'s transaction if given)."""
        if session is None:
            with self.sessions.begin() as own:
                self.record_message_ref(address, ref, own)
            return
        lookup = crypto.conversation_lookup(self.secrets, address.channel, address.address)
        # The conversation's lock first (the outbound queue relies on it: storage/outbound.py).
        ConversationStore(session, self.secrets, self.intake.idle_expiry).add_message_ref(lookup, ref)
        # Also beyond the conversation: the summary, the case code and operator messages come after it.
        keep = timedelta(days=self.settings.retention.chat_message_refs_days)
        ChatRefStore(session, self.secrets, keep).add(address.channel, address.address, ref, utcnow(), sent_by_bot=True)


def make_sink(settings: Settings, sessions: sessionmaker[Session]) -> CaseSink:
    """The case sink `queue.kind` names (storage/sinks/): embedded, redis, rabbitmq or webhook."""
    from storage.sinks import make_sink as build_sink

    return build_sink(settings, sessions)


def build_services(settings: Settings, *, run_migrations: bool = True, warn: bool = True) -> Services:
    """Load secrets, open the database (migrating it), load catalogs and the NLU.

    `warn=False` checks the config as strictly but logs none of its warnings: for the processes a
    server starts (gunicorn workers, the forwarder), whose start-up printed them once already."""
    secrets = load_server_secrets(settings)
    catalogs = Catalogs(settings.deployment.languages)
    warnings = check_deployment(settings, catalogs)  # raises ConfigError on a fatal problem
    for warning in warnings if warn else ():
        log.warning(warning)
    db = make_engine(settings.database_url, sqlite_synchronous=settings.paths.sqlite_synchronous,
                     wal_erase_within=settings.paths.sqlite_wal_erase_within_seconds)
    if run_migrations:
        migrate(db)
    sessions = session_factory(db)
    rasa_token = read_secret(settings, settings.nlu.rasa_token, "nlu.rasa_token").strip() if settings.nlu.backend == "rasa" else None
    e5_token = read_secret(settings, settings.nlu.e5_token, "nlu.e5_token").strip() if settings.nlu.backend == "e5" else None
    understander = make_understander(settings.nlu, rasa_token, e5_token)
    intake = Intake(settings, secrets, sessions, catalogs, understander)
    try:
        sink = make_sink(settings, sessions)
    except Exception:
        db.dispose()
        raise
    services = Services(settings, secrets, db, sessions, catalogs, understander, intake, sink)
    try:
        services.adapters = build_adapters(services)
    except Exception:
        services.close()
        raise
    # The console's messages are read by `grievance chat` itself (channels/console.py), never sent.
    sending = {kind: adapter for kind, adapter in services.adapters.items() if not getattr(adapter, "reader_delivered", False)}
    services.dispatcher = Dispatcher(OutboundQueue(sessions, secrets), sending, record_ref=services.record_message_ref)
    try:
        services.pager = build_pager(settings, sessions, services.adapters)  # a bad roster stops start-up, one line
    except Exception:
        services.close()
        raise
    return services
