"""The conversation's `CaseDesk` on the intake server: sealing a case or an alert, STATUS,
and what a worker sends into a sealed case (answers, contact after an alert, feedback).

It is bound to the transaction of one inbound message and to its sender, so everything a
turn seals is written with the turn, or not at all.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from storage import crypto
from storage.cases import CaseStore
from storage.conversations import ConversationStore
from storage.db import utcnow
from storage.duty import page_duty
from storage.mutes import SenderMutes
from storage.status_throttle import StatusThrottleStore

from .case_record import build_case_record, grants_contact, validate_case_record
from .config import Settings
from .conversation.contract import AlertFailed, CaseStatus, StatusThrottled
from .draft import Draft
from .messages import InboundMessage, MediaItem, ReplyAddress

log = logging.getLogger(__name__)


@dataclass
class IntakeCaseDesk:
    """The conversation's `CaseDesk`, bound to one transaction and one sender."""

    settings: Settings
    secrets: crypto.ServerSecrets
    nlu_backend: str  # the understander's name, recorded in each case
    session: Session
    message: InboundMessage
    conversations: ConversationStore
    lookup: str
    reply_address: ReplyAddress

    def submit(self, draft: Draft) -> str:
        settings, now = self.settings, utcnow()
        cases = CaseStore(self.session, self.secrets)
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
            nlu_backend=self.nlu_backend,
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
        self._remember_sender(case_id, now)
        log.info("case confirmed", extra={"urgent": record["urgent"], "channel": self.message.channel})
        return code

    def alert(self, draft: Draft) -> tuple[str, str]:
        settings, now = self.settings, utcnow()
        cases = CaseStore(self.session, self.secrets)
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
                    nlu_backend=self.nlu_backend,
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
                self._remember_sender(case_id, now)
                page_duty(self.session, settings.duty, case_id=case_id, reason="alert", now=now)  # the person on duty, same commit
        except Exception as error:
            # Whatever went wrong (the database, sealing, a record the schema refuses), the worker
            # in danger must still get an answer with the emergency contacts: the conversation gives it.
            log.error("urgent alert not queued", extra={"error": type(error).__name__, "channel": self.message.channel})
            raise AlertFailed() from None
        log.warning("urgent alert queued", extra={"channel": self.message.channel})
        return case_id, code

    def _remember_sender(self, case_id: str, now) -> None:
        """The case's sender as a keyed pseudonym, for a while, so the desk can mute them (storage/mutes.py)."""
        keep = timedelta(days=self.settings.retention.case_sender_days)
        SenderMutes(self.session, self.secrets).remember(case_id, self.message.channel, self.message.sender, now, keep)

    def _attach_media(self, record: dict) -> None:
        media = self.conversations.media(self.lookup)
        if media:
            record["attachments"] = _attachments(media)

    def status(self, code: str) -> CaseStatus | None:
        throttle = StatusThrottleStore(self.session, self.settings.status_throttle)
        pseudonym = crypto.sender_pseudonym(self.secrets, self.message.channel, self.message.sender)
        if not throttle.allowed(pseudonym):
            log.warning("status look-up refused: too many failed attempts", extra={"channel": self.message.channel})
            raise StatusThrottled()
        cases = CaseStore(self.session, self.secrets)
        found = cases.find_by_code(code)
        if found is None:
            throttle.record_failure(pseudonym)
            log.info("status look-up found no case", extra={"channel": self.message.channel})
            return None
        case, messages = found
        cases.refresh_address(case, self.reply_address, utcnow())
        return CaseStatus(
            case.status, tuple(messages), case_ref=case.case_id, language=case.language, asks_feedback=asks_feedback(case.status, case.feedback)
        )

    def answer(self, case_ref: str, text: str, *, urgent: bool = False, media: tuple[MediaItem, ...] = ()) -> bool:
        """Seal a worker's answer into the case; `media`: a recorded answer (the voice line), cleaned."""
        cases = CaseStore(self.session, self.secrets)
        case = cases.get(case_ref)
        if case is None:
            return False
        now = utcnow()
        # A recording disguised carries its original where the deployment keeps it: sealed beside it, as for a report.
        originals = tuple(MediaItem(item.content_type, item.original, seconds=item.seconds, voice="original")
                          for item in media if item.original is not None)
        extra = {"attachments": _attachments(media + originals)} if media else {}
        cases.add_answer(case.case_id, text, now, urgent=urgent, **extra)
        cases.refresh_address(case, self.reply_address, now)
        if urgent:  # a danger answer pages the person on duty like an alert, in the same commit
            page_duty(self.session, self.settings.duty, case_id=case.case_id, reason="answer", now=now)
            log.warning("urgent worker answer sealed for the operator", extra={"channel": self.message.channel})
        else:
            log.info("worker answer sealed for the operator", extra={"channel": self.message.channel})
        return True

    def allow_contact(self, case_ref: str, allowed: bool) -> None:
        """After an alert: the case keeps this chat's address (YES) or none (NO), and the operator
        learns the answer at once (a sealed answer of kind "contact")."""
        cases, now = CaseStore(self.session, self.secrets), utcnow()
        retention = timedelta(days=self.settings.session.reply_address_retention_days)
        if cases.allow_contact(case_ref, allowed, self.reply_address, now, retention):
            cases.add_answer(case_ref, "", now, kind="contact", contact_allowed=allowed)
            log.info("contact after an alert recorded", extra={"channel": self.message.channel, "allowed": allowed})

    def feedback(self, case_ref: str, helped: str | None, comment: str | None) -> bool:
        cases = CaseStore(self.session, self.secrets)
        case = cases.get(case_ref)
        if case is None:
            return False
        cases.add_answer(case.case_id, comment or "", utcnow(), kind="feedback", helped=helped)
        case.feedback = "given"
        log.info("worker feedback sealed for the operator", extra={"channel": self.message.channel})
        return True


def _attachments(media) -> list[dict]:
    """Media as a case record (or an answer) carries them."""
    return [_attachment(item) for item in media]


def asks_feedback(status: str, feedback: str | None) -> bool:
    """A resolved or closed case asks its worker, once, whether it helped."""
    return status in ("resolved", "closed") and feedback != "given"


def _attachment(item: MediaItem) -> dict:
    """One photo or recording as the case record carries it (a recording with its voice and length)."""
    entry = {
        "content_type": item.content_type,
        "size": len(item.data),
        "sha256": hashlib.sha256(item.data).hexdigest(),
        "data_base64": base64.b64encode(item.data).decode(),
    }
    if item.voice:
        entry["voice"] = item.voice
    if item.seconds is not None:
        entry["seconds"] = item.seconds
    return entry
