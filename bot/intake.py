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
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from nlu import Understander

from . import text_work
from .case_record import build_case_record, grants_contact, validate_case_record
from .config import Settings
from .draft import STEP_DIALOGUE, Draft
from .engine import AlertFailed, CaseStatus, Engine, StatusThrottled, Turn
from .i18n import Catalogs
from .messages import InboundMessage, Reply, ReplyAddress
from storage import crypto
from storage.cases import CaseStore
from storage.conversations import ConversationStore
from storage.db import utcnow
from storage.opt_outs import OptOuts
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
        contact_allowed = grants_contact(settings, draft)
        record = build_case_record(
            settings,
            draft,
            case_id=case_id,
            code=code,
            channel=self.message.channel,
            confirmed_at=now,
            contact_address=self.message.sender if contact_allowed else None,
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
            contact_allowed=contact_allowed,
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
        # The slow part of a turn, reading a description, is done here, before the write
        # transaction, on the draft as it is now; the turn inside uses it only if its input is
        # still the same (bot/text_work.py), so other workers do not wait for it.
        prepared = self._prepare(lookup, message)
        with text_work.using(prepared), self.sessions.begin() as session:
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
            # Media join a report in progress before the turn, so a photo sent with the last answer
            # is sealed with the case; a first message's media once the turn made a draft.
            media = _MediaTally(refused=list(message.refused_media))
            if _takes_media(loaded.draft):
                self._keep_media(conversations, lookup, message, media, now)
            turn = self._turn(loaded.draft, message, desk, now)
            if turn.draft is None:
                conversations.erase(lookup)
            else:
                if message.provider_ref:
                    turn.draft.message_refs.append(message.provider_ref)
                if not _takes_media(loaded.draft):
                    self._keep_media(conversations, lookup, message, media, now, draft=turn.draft)
                conversations.save(lookup, turn.draft, reply_address, now)
            if turn.draft is not None or turn.case_code:
                turn.replies[0:0] = self._media_notes(turn.draft or loaded.draft, media)
            if turn.erase_messages and message.chat_stays_on_phone:
                # Honest about what DELETE cannot do: the provider keeps the chat on the phone.
                lang = (turn.draft or loaded.draft).language if (turn.draft or loaded.draft) else None
                turn.replies.append(self.engine.t(lang, "erase.on_phone"))
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

    def _prepare(self, lookup: str, message: InboundMessage) -> text_work.Prepared:
        """Read what this message would add to the worker's description, outside the write transaction."""
        if not any(char.isalpha() for char in message.text):  # menu numbers, yes/no digits: nothing to read
            return text_work.Prepared()
        # A short read of one row, no row lock (on SQLite it passes the write gate like any
        # transaction, for a select and no fsync: far shorter than the reading it saves).
        with self.sessions.begin() as session:
            draft = ConversationStore(session, self.secrets, self.idle_expiry).peek(lookup, utcnow())
        return text_work.prepare(self.understander, draft, message.text, self.settings.limits.max_message_chars)

    def _turn(self, draft: Draft | None, message: InboundMessage, desk: _Desk, now: datetime) -> Turn:
        # Hints name SMS-safe command words on channels that reserve opt-out words (SMS).
        engine = self.engine.for_channel(reserves_opt_out_words=message.reserves_opt_out_words)
        if (message.media or message.refused_media) and not message.text.strip() and draft is not None:
            # A photo or voice note alone is no answer: keep it and ask the same question again.
            return Turn([engine.prompt(draft)], draft, events=["media"])
        return engine.handle(draft, message.text, desk, now=now)

    def _keep_media(self, conversations: ConversationStore, lookup: str, message: InboundMessage,
                    tally: _MediaTally, now: datetime, draft: Draft | None = None) -> None:
        """Keep the message's media with the report, within the per-report caps; refuse the rest."""
        if not message.media:
            return
        if draft is not None and draft.step == STEP_DIALOGUE:
            # An answer into a sealed case is text only: say so rather than keep what nobody would see.
            tally.refused += ["answer"] * len(message.media)
            return
        limits = self.settings.limits
        count, size = conversations.media_usage(lookup)
        for item in message.media:
            if count + 1 > limits.max_attachments_per_report:
                tally.refused.append("limit")
            elif size + len(item.data) > limits.max_attachment_bytes_per_report:
                tally.refused.append("too_large")
            else:
                conversations.add_media(lookup, item, now)
                count, size = count + 1, size + len(item.data)
                tally.kept += 1

    def _media_notes(self, draft: Draft | None, tally: _MediaTally) -> list[str]:
        """What the worker is told about their attachments: kept, and each reason one was not."""
        language = draft.language if draft else None
        notes = [self.engine.t(language, "media.received")] if tally.kept else []
        for reason in dict.fromkeys(tally.refused):
            key = f"media.refused.{reason if reason in REFUSAL_REASONS else 'unreadable'}"
            notes.append(self.engine.t(language, key, max=self.settings.limits.max_attachments_per_report))
        return notes

    def left_channel(self, channel: str, sender: str) -> None:
        """The worker blocked the hotline on their channel: erase the conversation in progress, and
        send nothing more to that address (an opt-out, as STOP on SMS) until they come back.

        Confirmed cases are untouched: their messages stay readable with STATUS and the code.
        """
        lookup = crypto.conversation_lookup(self.secrets, channel, sender)
        with self.sessions.begin() as session:
            ConversationStore(session, self.secrets, self.idle_expiry).erase(lookup)
            OptOuts(session, self.secrets).opt_out(channel, sender, utcnow())
        log.info("the worker left the channel: conversation erased, nothing more sent", extra={"channel": channel})

    def came_back(self, channel: str, sender: str) -> None:
        """The worker followed the hotline again: messages may reach them again."""
        with self.sessions.begin() as session:
            OptOuts(session, self.secrets).opt_in(channel, sender)


REFUSAL_REASONS = ("type", "too_large", "unreadable", "limit", "answer")


@dataclass
class _MediaTally:
    """Of one message's attachments: how many were kept, and why each other one was not."""

    kept: int = 0
    refused: list[str] = field(default_factory=list)


def _takes_media(draft: Draft | None) -> bool:
    """A report in progress (not an answer into a sealed case) takes the worker's media as they come."""
    return draft is not None and draft.step != STEP_DIALOGUE
