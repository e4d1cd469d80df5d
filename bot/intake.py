"""The intake service: one inbound message, handled in one database transaction.

Path of a message: a channel adapter makes an `InboundMessage` and calls
`Intake.receive`. Here a provider's retry is recognised by its receipt, the
sender's blind index finds the encrypted draft, the `Conversation` decides the
replies and the next state, and the new draft (or the sealed case and its
outbox entry, and replies queued for channels that answer by API) is written
before the transaction commits. Only then does the adapter answer, so a worker
is never told "received" about something that was not stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from nlu import Understander

from . import text_work
from .case_desk import IntakeCaseDesk, asks_feedback
from .config import Settings
from .draft import ANSWER_STEPS, STEP_DIALOGUE, STEP_FEEDBACK, Draft
from .conversation.contract import Turn
from .conversation.message import Message
from .conversation.turns import Conversation
from .i18n import Catalogs
from .messages import InboundMessage, MediaItem, Reply, ReplyAddress
from storage import crypto
from storage.answer_windows import AnswerWindows
from storage.cases import CaseStore
from storage.conversations import ConversationStore
from storage.mutes import MuteList
from storage.db import utcnow
from storage.opt_outs import OptOuts
from storage.outbound import cancel_queued, enqueue
from storage.receipts import first_receipt

log = logging.getLogger(__name__)


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
        self.conversation = Conversation(settings, catalogs, understander)
        self.idle_expiry = timedelta(hours=settings.session.idle_expiry_hours)
        self.description_sizes = text_work.DescriptionSizes()
        self.mutes = MuteList(sessions, secrets)  # senders the desk muted (storage/mutes.py), checked in memory

    def receive(self, message: InboundMessage, *, queue_replies: bool = False) -> Reply:
        """Handle one message from a worker and return what to answer.

        With `queue_replies` the replies go to the outbound queue in the same transaction
        (for channels that answer through an API call), and `Reply.outbound_ids` names them.
        """
        lookup = crypto.conversation_lookup(self.secrets, message.channel, message.sender)
        text = self.conversation.message(message.text)  # normalised once, here, for the whole turn
        # The slow part of a turn, reading a description, is done here, before the write
        # transaction, on the draft as it is now; the turn inside uses it only if its input is
        # still the same (bot/text_work.py), so other workers do not wait for it.
        prepared = self._prepare(lookup, text)
        muted = self.mutes.is_muted(message.channel, message.sender, utcnow())  # in memory: before the write gate
        with text_work.using(prepared), self.sessions.begin() as session:
            now = utcnow()
            if message.provider_id:
                receipt = crypto.inbound_receipt_key(self.secrets, message.adapter, message.provider_id)
                if not first_receipt(session, receipt, now):
                    log.info("duplicate delivery ignored", extra={"channel": message.channel})
                    return Reply((), duplicate=True)
            if muted:
                return self._muted(session, message, text, queue_replies)
            conversations = ConversationStore(session, self.secrets, self.idle_expiry)
            loaded = conversations.load(lookup, now)
            known_refs = tuple(loaded.draft.message_refs) if loaded.draft else ()
            draft, in_window = self._answer_window(session, lookup, loaded.draft, now)
            reply_address = ReplyAddress(message.adapter, message.channel, message.sender, last_inbound_at=now)
            desk = IntakeCaseDesk(self.settings, self.secrets, self.understander.name, session, message, conversations, lookup, reply_address)
            # Media join a report in progress before the turn, so a photo sent with the last answer
            # is sealed with the case; a first message's media once the turn made a draft.
            media = _MediaTally(refused=list(message.refused_media))
            if _takes_media(draft):
                self._keep_media(conversations, lookup, message, media, now)
            turn = self._turn(draft, message, text, desk, now, media)
            if in_window and (turn.draft is None or not turn.draft.window):  # NEW, STOP, DELETE, feedback given
                AnswerWindows(session, self.secrets).close(lookup)
            if turn.draft is None or _held_by_window(turn.draft):
                if loaded.draft is not None:
                    conversations.erase(lookup)
            else:
                if message.provider_ref:
                    turn.draft.message_refs.append(message.provider_ref)
                if not _takes_media(draft):
                    self._keep_media(conversations, lookup, message, media, now, draft=turn.draft)
                conversations.save(lookup, turn.draft, reply_address, now)
            if turn.draft is not None or turn.case_code:
                turn.replies[0:0] = self._media_notes(turn.draft or draft, media)
            if turn.erase_messages and message.chat_stays_on_phone:
                # Honest about what DELETE cannot do: the provider keeps the chat on the phone.
                lang = (turn.draft or draft).language if (turn.draft or draft) else None
                turn.replies.append(self.conversation.t(lang, "erase.on_phone"))
            texts = list(turn.replies)
            if loaded.expired:
                hours = f"{self.settings.session.idle_expiry_hours:g}"
                texts.insert(0, self.conversation.t(loaded.expired_language, "expired", hours=hours))
            if turn.erase_messages or (turn.draft is not None and turn.draft.confirm_erase == "delete"):
                # DELETE, asked or done: nothing queued for this chat before it goes out after its answer.
                cancel_queued(session, self.secrets, reply_address, chat_erased=turn.erase_messages)
            outbound_ids: tuple[str, ...] = ()
            if queue_replies and texts:
                outbound_ids = (enqueue(session, self.secrets, reply_address, "\n\n".join(texts), turn.choices),)
        self.description_sizes.note(lookup, turn.draft)
        log.info("message handled", extra={"channel": message.channel, "events": ",".join(turn.events)})
        erase_refs = (*known_refs, *([message.provider_ref] if message.provider_ref else [])) if turn.erase_messages else ()
        language = (turn.draft or draft).language if (turn.draft or draft) else None
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

    def _muted(self, session: Session, message: InboundMessage, text: Message, queue_replies: bool) -> Reply:
        """A sender the desk muted (storage/mutes.py): no draft, no case, no answer (an answer would cost
        an SMS each time and tell them the hotline reads them), except danger words, which still get
        the emergency contacts: a shared phone may be in other hands now."""
        if not text.urgent:
            log.info("message from a muted sender: no answer", extra={"channel": message.channel})
            return Reply(())
        language = self.settings.deployment.default_language
        texts = (self.conversation.urgent_contacts_text(language),)
        outbound_ids: tuple[str, ...] = ()
        if queue_replies:
            address = ReplyAddress(message.adapter, message.channel, message.sender, last_inbound_at=utcnow())
            outbound_ids = (enqueue(session, self.secrets, address, texts[0]),)
        log.warning("danger words from a muted sender: emergency contacts sent", extra={"channel": message.channel})
        return Reply(texts, queued=queue_replies, outbound_ids=outbound_ids, language=language)

    def _answer_window(self, session: Session, lookup: str, draft: Draft | None, now: datetime) -> tuple[Draft | None, bool]:
        """With no report in progress, a chat the team wrote to answers into that case (or says
        whether the outcome helped): the draft of that answer-back, and whether it is one."""
        if draft is not None and not _held_by_window(draft):
            return draft, draft.window
        windows = AnswerWindows(session, self.secrets)
        found = windows.find(lookup, now)
        case = CaseStore(session, self.secrets).get(found.case_id) if found else None
        if found is not None and (
            case is None
            or (found.asks == "answer" and case.status == "closed")
            or (found.asks == "feedback" and not asks_feedback(case.status, case.feedback))
        ):
            windows.close(lookup)
            found = None
        if found is None:
            return None, False
        languages = self.settings.deployment.languages
        language = draft.language if draft is not None else found.language if found.language in languages else None
        step = STEP_FEEDBACK if found.asks == "feedback" else STEP_DIALOGUE
        return Draft(step=step, language=language, dialogue_case=found.case_id, window=True), True

    def _prepare(self, lookup: str, text: Message) -> text_work.Prepared:
        """Read what this message would add to the worker's description, outside the write transaction."""
        if text.too_long or not text.has_words:  # menu numbers, yes/no digits: nothing to read
            return text_work.Prepared()
        if not self.description_sizes.worth_reading_ahead(lookup, len(text.text)):
            return text_work.Prepared()  # short, or nothing, to read: inside the turn, no second transaction
        # A short read of one row, no row lock (on SQLite it passes the write gate like any
        # transaction, for a select and no fsync: far shorter than the reading it saves).
        with self.sessions.begin() as session:
            draft = ConversationStore(session, self.secrets, self.idle_expiry).peek(lookup, utcnow())
        return text_work.prepare(self.understander, draft, text.text, self.settings.limits.max_message_chars)

    def _turn(self, draft: Draft | None, message: InboundMessage, text: Message, desk: IntakeCaseDesk, now: datetime,
              media: _MediaTally) -> Turn:
        # Hints name SMS-safe command words on channels that reserve opt-out words (SMS).
        conversation = self.conversation.for_channel(reserves_opt_out_words=message.reserves_opt_out_words)
        if (message.media or message.refused_media) and not message.text.strip() and draft is not None:
            if media.voice_seconds:  # a voice note kept, at "What happened?": it is the story
                story = conversation.voice_story(draft, sum(media.voice_seconds), now=now)
                if story is not None:
                    return story
            # A photo or voice note alone is no answer: keep it and ask the same question again.
            return Turn([conversation.prompt(draft)], draft, events=["media"])
        return conversation.handle(draft, text, desk, now=now)

    def _keep_media(self, conversations: ConversationStore, lookup: str, message: InboundMessage,
                    tally: _MediaTally, now: datetime, draft: Draft | None = None) -> None:
        """Keep the message's media with the report, within the per-report caps; refuse the rest."""
        if not message.media:
            return
        if draft is not None and draft.step in ANSWER_STEPS:
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
                if item.voice:
                    tally.voice_seconds.append(item.seconds or 0.0)
                if item.original is not None and size + len(item.original) <= limits.max_attachment_bytes_per_report:
                    # The undisguised voice, where the deployment keeps it: for the operator's admins only.
                    conversations.add_media(lookup, MediaItem(item.content_type, item.original, seconds=item.seconds, voice="original"), now)
                    count, size = count + 1, size + len(item.original)

    def _media_notes(self, draft: Draft | None, tally: _MediaTally) -> list[str]:
        """What the worker is told about their attachments: kept, and each reason one was not."""
        language = draft.language if draft else None
        notes = [self.conversation.t(language, "media.received")] if tally.kept else []
        for reason in dict.fromkeys(tally.refused):
            key = f"media.refused.{reason if reason in REFUSAL_REASONS else 'unreadable'}"
            notes.append(self.conversation.t(language, key, max=self.settings.limits.max_attachments_per_report))
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
    voice_seconds: list[float] = field(default_factory=list)  # the length of each recording kept


def _held_by_window(draft: Draft) -> bool:
    """An answer-back the chat's answer window starts afresh each time: nothing to keep of it."""
    return draft.window and draft.step in (STEP_DIALOGUE, STEP_FEEDBACK) and not draft.kept


def _takes_media(draft: Draft | None) -> bool:
    """A report in progress (not an answer into a sealed case) takes the worker's media as they come."""
    return draft is not None and draft.step not in ANSWER_STEPS
