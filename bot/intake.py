"""The intake service: one inbound message, handled in one database transaction.

Path of a message: a channel adapter makes an `InboundMessage` and calls
`Intake.receive`. Here the sender's blind index finds the encrypted draft, the
`Engine` decides the replies and the next state, and the new draft (or the
sealed case and its outbox entry) is written before the transaction commits.
Only then are the replies returned to the adapter, so a worker is never told
"received" about something that was not stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from nlu import Understander

from .case_record import build_case_record, grants_contact
from .config import Settings
from .draft import Draft
from .engine import CaseStatus, Engine
from .i18n import Catalogs
from .messages import InboundMessage, Reply
from storage import crypto
from storage.cases import CaseStore
from storage.conversations import ConversationStore
from storage.db import utcnow

log = logging.getLogger(__name__)


@dataclass
class _Desk:
    """The engine's `CaseDesk`, bound to one transaction and one sender."""

    intake: Intake
    session: Session
    message: InboundMessage

    def submit(self, draft: Draft) -> str:
        settings, now = self.intake.settings, utcnow()
        cases = CaseStore(self.session, self.intake.secrets)
        case_id, code = cases.new_identity()
        record = build_case_record(
            settings,
            draft,
            case_id=case_id,
            code=code,
            channel=self.message.channel,
            confirmed_at=now,
            contact_address=self.message.sender if grants_contact(settings, draft) else None,
            nlu_backend=self.intake.understander.name,
        )
        cases.add(
            case_id=case_id,
            code=code,
            record=record,
            urgent=draft.urgent,
            channel=self.message.channel,
            address=self.message.sender,
            now=now,
            reply_retention=timedelta(days=settings.session.reply_address_retention_days),
        )
        log.info("case confirmed", extra={"urgent": draft.urgent, "channel": self.message.channel})
        return code

    def status(self, code: str) -> CaseStatus | None:
        found = CaseStore(self.session, self.intake.secrets).find_by_code(code)
        if found is None:
            return None
        case, messages = found
        return CaseStatus(case.status, tuple(messages))


class Intake:
    """Receives channel-neutral messages and answers them."""

    def __init__(
        self,
        settings: Settings,
        secrets: crypto.ServerSecrets,
        sessions: sessionmaker[Session],
        catalogs: Catalogs,
        understander: Understander,
    ) -> None:
        self.settings = settings
        self.secrets = secrets
        self.sessions = sessions
        self.catalogs = catalogs
        self.understander = understander
        self.engine = Engine(settings, catalogs, understander)
        self.idle_expiry = timedelta(hours=settings.session.idle_expiry_hours)

    def receive(self, message: InboundMessage) -> Reply:
        """Handle one message from a worker and return what to answer."""
        lookup = crypto.conversation_lookup(self.secrets, message.channel, message.sender)
        with self.sessions.begin() as session:
            now = utcnow()
            conversations = ConversationStore(session, self.secrets, self.idle_expiry)
            loaded = conversations.load(lookup, now)
            turn = self.engine.handle(loaded.draft, message.text, _Desk(self, session, message))
            if turn.draft is None:
                conversations.erase(lookup)
            else:
                conversations.save(lookup, turn.draft, message.channel, message.sender, now)
        texts = list(turn.replies)
        if loaded.expired:
            hours = self.settings.session.idle_expiry_hours
            texts.insert(0, self.engine.t(loaded.expired_language, "expired", hours=f"{hours:g}"))
        log.info("message handled", extra={"channel": message.channel, "events": ",".join(turn.events)})
        return Reply(tuple(texts), case_code=turn.case_code, erase_messages=turn.erase_messages)
