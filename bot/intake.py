"""The intake service: one inbound message, handled in one database transaction.

Path of a message: a channel adapter makes an `InboundMessage` and calls
`Intake.receive`. Here a provider's retry is recognised by its receipt, the
sender's blind index finds the encrypted draft, the `Engine` decides the
replies and the next state, and the new draft (or the sealed case and its
outbox entry, and replies queued for channels that answer by API) is written
before the transaction commits. Only then does the adapter answer, so a worker
is never told "received" about something that was not stored.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from nlu import Understander

from .case_record import build_case_record, grants_contact, validate_case_record
from .config import Settings
from .draft import Draft
from .engine import AlertFailed, CaseStatus, Engine, StatusThrottled, Turn
from .i18n import Catalogs
from .messages import InboundMessage, Reply, ReplyAddress
from storage import crypto
from storage.cases import CaseStore
from storage.conversations import ConversationStore
from storage.db import utcnow
from storage.outbound import enqueue
from storage.receipts import first_receipt
from storage.status_throttle import StatusThrottleStore

log = logging.getLogger(__name__)


@dataclass
class _Desk:
    """The engine's `CaseDesk`, bound to one transaction and one sender."""

    intake: Intake
    session: Session
    message: InboundMessage
    conversations: ConversationStore
    lookup: str
    reply_address: ReplyAddress

    def submit(self, draft: Draft) -> str:
        settings, now = self.intake.settings, utcnow()
        cases = CaseStore(self.session, self.intake.secrets)
        if draft.alert_case and draft.alert_code:  # an urgent alert went first: same case, same code
            case_id, code = draft.alert_case, draft.alert_code
        else:
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
        self._attach_media(record)
        cases.add(
            case_id=case_id,
            code=code,
            record=record,
            urgent=record["urgent"],
            reply_address=self.reply_address,
            now=now,
            reply_retention=timedelta(days=settings.session.reply_address_retention_days),
            language=draft.language,
        )
        log.info("case confirmed", extra={"urgent": record["urgent"], "channel": self.message.channel})
        return code

    def alert(self, draft: Draft) -> tuple[str, str]:
        settings, now = self.intake.settings, utcnow()
        cases = CaseStore(self.session, self.intake.secrets)
        try:
            # A savepoint: should the alert fail, the rest of the turn (the draft, the replies with
            # the emergency contacts) is still written.
            with self.session.begin_nested():
                if draft.alert_case and draft.alert_code:  # danger again after CHANGE: a newer alert, same case
                    case_id, code = draft.alert_case, draft.alert_code
                else:
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
                    kind="alert",
                )
                self._attach_media(record)
                validate_case_record(record)  # a record the operator's pull would refuse is no alert
                cases.add_alert(
                    case_id=case_id,
                    code=code,
                    record=record,
                    reply_address=self.reply_address,
                    now=now,
                    reply_retention=timedelta(days=settings.session.reply_address_retention_days),
                    language=record["language"],
                )
        except Exception as error:
            # Whatever went wrong (the database, sealing, a record the schema refuses), the worker
            # in danger must still get an answer with the emergency contacts: the engine gives it.
            log.error("urgent alert not queued", extra={"error": type(error).__name__, "channel": self.message.channel})
            raise AlertFailed() from None
        log.warning("urgent alert queued", extra={"channel": self.message.channel})
        return case_id, code

    def _attach_media(self, record: dict) -> None:
        media = self.conversations.media(self.lookup)
        if media:
            record["attachments"] = [
                {
                    "content_type": item.content_type,
                    "size": len(item.data),
                    "sha256": hashlib.sha256(item.data).hexdigest(),
                    "data_base64": base64.b64encode(item.data).decode(),
                }
                for item in media
            ]

    def status(self, code: str) -> CaseStatus | None:
        throttle = StatusThrottleStore(self.session, self.intake.settings.status_throttle)
        pseudonym = crypto.sender_pseudonym(self.intake.secrets, self.message.channel, self.message.sender)
        if not throttle.allowed(pseudonym):
            log.warning("status look-up refused: too many failed attempts", extra={"channel": self.message.channel})
            raise StatusThrottled()
        cases = CaseStore(self.session, self.intake.secrets)
        found = cases.find_by_code(code)
        if found is None:
            throttle.record_failure(pseudonym)
            log.info("status look-up found no case", extra={"channel": self.message.channel})
            return None
        case, messages = found
        cases.refresh_address(case, self.reply_address, utcnow())
        return CaseStatus(case.status, tuple(messages), case_ref=case.case_id, language=case.language)

    def answer(self, case_ref: str, text: str) -> bool:
        cases = CaseStore(self.session, self.intake.secrets)
        case = cases.get(case_ref)
        if case is None:
            return False
        now = utcnow()
        cases.add_answer(case.case_id, text, now)
        cases.refresh_address(case, self.reply_address, now)
        log.info("worker answer sealed for the operator", extra={"channel": self.message.channel})
        return True


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

    def receive(self, message: InboundMessage, *, queue_replies: bool = False) -> Reply:
        """Handle one message from a worker and return what to answer.

        With `queue_replies` the replies go to the outbound queue in the same transaction
        (for channels that answer through an API call), and `Reply.outbound_ids` names them.
        """
        lookup = crypto.conversation_lookup(self.secrets, message.channel, message.sender)
        with self.sessions.begin() as session:
            now = utcnow()
            if message.provider_id:
                receipt = crypto.inbound_receipt_key(self.secrets, message.adapter, message.provider_id)
                if not first_receipt(session, receipt, now):
                    log.info("duplicate delivery ignored", extra={"channel": message.channel})
                    return Reply((), duplicate=True)
            conversations = ConversationStore(session, self.secrets, self.idle_expiry)
            loaded = conversations.load(lookup, now)
            known_refs = tuple(loaded.draft.message_refs) if loaded.draft else ()
            reply_address = ReplyAddress(message.adapter, message.channel, message.sender, last_inbound_at=now)
            desk = _Desk(self, session, message, conversations, lookup, reply_address)
            turn = self._turn(loaded.draft, message, desk)
            if turn.draft is None:
                conversations.erase(lookup)
            else:
                if message.provider_ref:
                    turn.draft.message_refs.append(message.provider_ref)
                for item in message.media:
                    conversations.add_media(lookup, item, now)
                conversations.save(lookup, turn.draft, reply_address, now)
            texts = list(turn.replies)
            if loaded.expired:
                hours = f"{self.settings.session.idle_expiry_hours:g}"
                texts.insert(0, self.engine.t(loaded.expired_language, "expired", hours=hours))
            outbound_ids: tuple[str, ...] = ()
            if queue_replies and texts:
                outbound_ids = (enqueue(session, self.secrets, reply_address, "\n\n".join(texts), turn.choices),)
        log.info("message handled", extra={"channel": message.channel, "events": ",".join(turn.events)})
        erase_refs = (*known_refs, *([message.provider_ref] if message.provider_ref else [])) if turn.erase_messages else ()
        language = (turn.draft or loaded.draft).language if (turn.draft or loaded.draft) else None
        return Reply(
            tuple(texts),
            case_code=turn.case_code,
            erase_messages=turn.erase_messages,
            erase_refs=erase_refs,
            queued=queue_replies,
            outbound_ids=outbound_ids,
            language=language,
            choices=turn.choices,
        )

    def _turn(self, draft: Draft | None, message: InboundMessage, desk: _Desk) -> Turn:
        if message.media and not message.text.strip() and draft is not None:
            # A photo or voice note alone is no answer: keep it and ask the same question again.
            return Turn([self.engine.t(draft.language, "media.received"), self.engine.prompt(draft)], draft, events=["media"])
        turn = self.engine.handle(draft, message.text, desk)
        if message.media and turn.draft is not None:
            turn.replies.insert(0, self.engine.t(turn.draft.language, "media.received"))
        return turn
