"""A draft the server's keys no longer open is treated as expired: the worker is told and starts over.

That happens when data keys are retired while a server on another machine still
wrote with the old ones (on one machine `keys rotate` refuses while the server
runs: tests/test_cli.py). Before, every later message of that worker failed.
"""

from __future__ import annotations

from sqlalchemy import update

from bot.messages import InboundMessage
from storage import crypto
from storage.models import Conversation


def test_an_undecryptable_draft_is_erased_and_the_worker_starts_again(services, send):
    send("+15550801", "hi")
    send("+15550801", "1")
    lookup = crypto.conversation_lookup(services.secrets, "sms", "+15550801")
    retired = crypto.DataKeyring({7: crypto.new_data_key()}, 7)  # a key this server no longer has
    blob = crypto._aead_encrypt(retired, "draft", lookup, b'{"step": "consent"}')
    with services.sessions.begin() as session:
        session.execute(update(Conversation).where(Conversation.lookup == lookup).values(draft=blob))
    replies = list(services.intake.receive(InboundMessage(channel="sms", sender="+15550801", text="yes")).texts)
    assert replies and "72" in replies[0]  # "... unfinished report was erased after 72 hours ..."
    with services.sessions.begin() as session:
        (draft,) = session.execute(
            Conversation.__table__.select().with_only_columns(Conversation.draft).where(Conversation.lookup == lookup)
        ).scalars()
    assert crypto.data_key_id_of(draft) == services.secrets.data_keys.active_id  # a fresh conversation, current key


def test_an_undecryptable_outbound_message_is_dead_lettered_and_the_others_still_go(services):
    from bot.messages import ReplyAddress
    from storage.models import OutboundMessage
    from storage.outbound import OutboundQueue, enqueue

    address = ReplyAddress("telegram", "telegram", "chat-1")
    with services.sessions.begin() as session:
        lost = enqueue(session, services.secrets, address, "written with a retired key")
        kept = enqueue(session, services.secrets, address, "written with the current key")
    retired = crypto.DataKeyring({7: crypto.new_data_key()}, 7)
    with services.sessions.begin() as session:
        session.execute(update(OutboundMessage).where(OutboundMessage.id == lost).values(
            payload=crypto._aead_encrypt(retired, "outbound", lost, b"{}")))
    queue = OutboundQueue(services.sessions, services.secrets)
    assert [item.id for item in queue.claim_due({"telegram"})] == [kept]
    with services.sessions.begin() as session:
        row = session.get(OutboundMessage, lost)
        assert (row.state, row.last_error) == ("dead", "undecryptable")


def test_rotation_erases_what_no_key_opens_and_rewraps_the_rest(services, send):
    from storage.models import OutboundMessage
    from storage.rotation import reencrypt_all

    send("+15550802", "hi")
    send("+15550803", "hi")
    lookup = crypto.conversation_lookup(services.secrets, "sms", "+15550802")
    retired = crypto.DataKeyring({7: crypto.new_data_key()}, 7)
    with services.sessions.begin() as session:
        session.execute(update(Conversation).where(Conversation.lookup == lookup).values(
            draft=crypto._aead_encrypt(retired, "draft", lookup, b"{}")))
    result = reencrypt_all(services.sessions, services.secrets)
    assert result.unreadable_erased == 1
    with services.sessions.begin() as session:
        lookups = session.execute(Conversation.__table__.select().with_only_columns(Conversation.lookup)).scalars().all()
        assert lookup not in lookups and len(lookups) == 1
        assert session.query(OutboundMessage).count() == 0
