"""Channel plumbing with a fake adapter: receipts, queued replies, the dispatcher, DELETE refs, media."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

from sqlalchemy import func, select, update

from bot.messages import InboundMessage, MediaItem
from channels.base import SendError
from channels.dispatcher import Dispatcher, RateLimiter
from bot.config import RateLimit
from storage import crypto
from storage.keys import load_operator_identity
from storage.models import Conversation, InboundReceipt, OutboundMessage
from storage.outbound import OutboundQueue, exact_now
from storage.outbox import forward_outbox
from databases import ON_POSTGRES, needles_in_database
from worker_scripts import ENGLISH_INTAKE


class FakeAdapter:
    """Records what it sends; fails as told."""

    type = "fake"
    keeps_message_refs = True

    def __init__(self, rate=None, failures=()):
        self.rate = rate
        self.failures = list(failures)  # SendError instances raised in order before succeeding
        self.sent: list[tuple[str, str, tuple]] = []

    def send(self, address, text, choices=()):
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((address.address, text, tuple(choices)))
        return f"ref-{len(self.sent)}"


def message(text, sender="chat-1", provider_id=None, ref=None, media=()):
    return InboundMessage(channel="telegram", sender=sender, text=text, adapter="fake", provider_id=provider_id, provider_ref=ref, media=media)


def count(services, model):
    with services.sessions.begin() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def dispatcher(services, adapter, **kwargs):
    return Dispatcher(OutboundQueue(services.sessions, services.secrets), {"fake": adapter}, record_ref=services.record_message_ref, **kwargs)


def test_a_redelivered_message_is_answered_once(services):
    first = services.intake.receive(message("hi", provider_id="update-1"))
    again = services.intake.receive(message("hi", provider_id="update-1"))
    assert first.texts and not first.duplicate
    assert again.duplicate and again.texts == ()
    assert count(services, InboundReceipt) == 1
    with services.sessions.begin() as session:
        key = session.execute(select(InboundReceipt.key)).scalar_one()
    assert "update-1" not in key  # only a keyed hash of the provider id is kept


def test_a_failed_handling_rolls_the_receipt_back_so_the_retry_is_handled(services, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services.intake.conversation, "handle", broken)
    try:
        services.intake.receive(message("hi", provider_id="update-2"))
    except RuntimeError:
        pass
    monkeypatch.undo()
    assert count(services, InboundReceipt) == 0
    assert services.intake.receive(message("hi", provider_id="update-2")).texts


def test_queued_replies_are_encrypted_and_sent_once_with_buttons(services):
    reply = services.intake.receive(message("hi"), queue_replies=True)
    assert reply.queued and len(reply.outbound_ids) == 1
    with services.sessions.begin() as session:
        payload = session.execute(select(OutboundMessage.payload)).scalar_one()
    assert b"chat-1" not in payload and b"English" not in payload
    adapter = FakeAdapter()
    first = dispatcher(services, adapter).run_once()
    assert first.sent == 1 and dispatcher(services, adapter).run_once().sent == 0
    address, text, choices = adapter.sent[0]
    assert address == "chat-1" and services.catalogs.text("en", "language.menu") in text
    assert choices[:2] == (("1", "English"), ("2", "বাংলা"))
    assert count(services, OutboundMessage) == 0  # nothing of a sent message is kept


def test_retryable_failure_backs_off_and_permanent_failure_is_dead(services):
    services.intake.receive(message("hi", sender="a"), queue_replies=True)
    services.intake.receive(message("hi", sender="b"), queue_replies=True)
    adapter = FakeAdapter(failures=[SendError("429", retryable=True), SendError("403 blocked", retryable=False)])
    result = dispatcher(services, adapter).run_once()
    assert (result.retried, result.dead, result.sent) == (1, 1, 0)
    assert dispatcher(services, adapter).run_once().sent == 0  # the retry is not due yet
    with services.sessions.begin() as session:
        session.execute(update(OutboundMessage).where(OutboundMessage.state == "pending").values(next_attempt_at=exact_now()))
    assert dispatcher(services, adapter).run_once().sent == 1
    assert OutboundQueue(services.sessions, services.secrets).counts() == {"dead": 1}


def test_a_claimed_message_is_not_sent_by_a_second_dispatcher(services):
    services.intake.receive(message("hi"), queue_replies=True)
    queue = OutboundQueue(services.sessions, services.secrets)
    claimed = queue.claim_due({"fake"})
    assert len(claimed) == 1
    assert queue.claim_due({"fake"}) == []  # leased to the first
    with services.sessions.begin() as session:
        session.execute(update(OutboundMessage).values(claimed_until=exact_now() - timedelta(seconds=1)))
    assert len(queue.claim_due({"fake"})) == 1  # the first died: its lease ran out


def test_rate_limits_overall_and_per_chat():
    clock = [0.0]
    limiter = RateLimiter(clock=lambda: clock[0])
    rate = RateLimit(messages_per_second=2, per_address_interval_seconds=1.0)
    assert limiter.wait("fake", rate, "a") == 0
    assert limiter.wait("fake", rate, "a") > 0  # same chat within a second
    assert limiter.wait("fake", rate, "b") == 0
    assert limiter.wait("fake", rate, "c") > 0  # bucket of 2 per second is empty
    clock[0] = 1.0
    assert limiter.wait("fake", rate, "a") == 0


def test_deferred_by_rate_limit_is_sent_later_not_lost(services):
    for sender in ("a", "b", "c"):
        services.intake.receive(message("hi", sender=sender), queue_replies=True)
    adapter = FakeAdapter(rate=RateLimit(messages_per_second=1))
    result = dispatcher(services, adapter).run_once()
    assert result.sent == 1 and result.deferred == 2
    assert OutboundQueue(services.sessions, services.secrets).counts() == {"pending": 2}


def test_delete_returns_every_message_id_of_the_chat(services):
    services.intake.receive(message("hi", ref="w1"), queue_replies=True)
    dispatcher(services, FakeAdapter()).run_once()  # the bot's reply: ref-1, remembered
    services.intake.receive(message("1", ref="w2"), queue_replies=True)
    reply = services.intake.receive(message("delete", ref="w3"), queue_replies=True)
    assert reply.erase_messages
    assert set(reply.erase_refs) == {"w1", "ref-1", "w2", "w3"}
    assert count(services, Conversation) == 0


def test_media_waits_encrypted_and_is_sealed_with_the_case(services):
    photo = MediaItem("image/jpeg", b"\xff\xd8 fake jpeg bytes \xff\xd9")
    for text in ENGLISH_INTAKE[:3]:
        services.intake.receive(message(text))
    with_media = services.intake.receive(message("", media=(photo,)))
    assert with_media.texts[0] == services.catalogs.text("en", "media.received")
    assert services.catalogs.text("en", "ask.description") in with_media.texts[1]  # same question again
    for text in ENGLISH_INTAKE[3:] + ["1"]:
        services.intake.receive(message(text))
    forward_outbox(services.sessions, services.sink, max_attempts=3)
    identity = load_operator_identity(services.settings.path(services.settings.operator.identity_file))
    record = json.loads(crypto.open_case([identity], services.sink.peek()[0].sealed))
    (attachment,) = record["attachments"]
    assert base64.b64decode(attachment["data_base64"]) == photo.data
    assert attachment["content_type"] == "image/jpeg" and attachment["size"] == len(photo.data)
    if ON_POSTGRES:
        assert needles_in_database(services.settings.database_url, [b"fake jpeg bytes"]) == []
    else:
        assert b"fake jpeg bytes" not in (services.settings.data_dir / "grievance.db").read_bytes()


def test_media_of_an_erased_conversation_is_erased(services):
    from storage.models import DraftMedia

    services.intake.receive(message("hi"))
    services.intake.receive(message("", media=(MediaItem("audio/ogg", b"OggS voice"),)))
    assert count(services, DraftMedia) == 1
    services.intake.receive(message("delete"))
    assert count(services, DraftMedia) == 0


def test_purge_erases_old_dead_and_unconfirmed_outbound_messages(services):
    from storage.retention import purge_expired

    for sender in ("a", "b", "c"):
        services.intake.receive(message("hi", sender=sender), queue_replies=True)
    long_ago = exact_now() - timedelta(days=8)
    with services.sessions.begin() as session:
        ids = session.execute(select(OutboundMessage.id).order_by(OutboundMessage.id)).scalars().all()
        session.execute(update(OutboundMessage).where(OutboundMessage.id == ids[0]).values(state="dead", created_at=long_ago))
        session.execute(update(OutboundMessage).where(OutboundMessage.id == ids[1]).values(state="sent", created_at=long_ago))
    assert purge_expired(services.sessions).dead_outbound == 2
    assert OutboundQueue(services.sessions, services.secrets).counts() == {"pending": 1}
