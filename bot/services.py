"""Everything the bot needs, built once from validated settings (no globals, no import-time config)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from nlu import Understander, builtin_understander

from .config import Settings
from .i18n import Catalogs
from .intake import Intake
from storage import crypto
from storage.db import make_engine, migrate, session_factory
from storage.embedded_queue import EmbeddedQueue
from storage.keys import load_server_secrets
from storage.outbox import CaseSink


@dataclass
class Services:
    settings: Settings
    secrets: crypto.ServerSecrets
    db: Engine
    sessions: sessionmaker[Session]
    catalogs: Catalogs
    understander: Understander
    intake: Intake
    sink: CaseSink

    def close(self) -> None:
        self.db.dispose()


def make_sink(settings: Settings, sessions: sessionmaker[Session]) -> CaseSink:
    """The configured case sink (only the embedded queue so far)."""
    return EmbeddedQueue(sessions)


def build_services(settings: Settings, *, run_migrations: bool = True) -> Services:
    """Load secrets, open the database (migrating it), load catalogs and the NLU."""
    secrets = load_server_secrets(settings)
    catalogs = Catalogs(settings.deployment.languages)
    db = make_engine(settings.database_url)
    if run_migrations:
        migrate(db)
    sessions = session_factory(db)
    understander = builtin_understander()
    intake = Intake(settings, secrets, sessions, catalogs, understander)
    return Services(settings, secrets, db, sessions, catalogs, understander, intake, make_sink(settings, sessions))
