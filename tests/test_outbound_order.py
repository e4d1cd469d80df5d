"""Per-chat order of outbound messages, and DELETE cancelling what is still queued for the chat.

The audit's reproductions, over the real webhook path of Telegram against its fake Bot API:
answers sent by two web workers (two `Services` on one database, as two gunicorn processes)
overtook each other, a retried answer arrived after a newer one, and answers queued before
DELETE went out after its answer. Then the same rules at the dispatcher itself, with a fake
adapter: one message of a chat out at a time across dispatchers, a retry holding back only
its own chat, a dead message letting the next go, DELETE erasing what waits.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.messages import InboundMessage, ReplyAddress
from bot.services import build_services
from channels.base import SendError
from channels.dispatcher import Dispatcher
from channel_support import make_due, settle
from fake_telegram import FakeTelegramServer
from storage import crypto
from storage.keys import init_keys
from storage.models import ChatMessageRefs, OutboundMessage
from storage.outbound import OutboundQueue, enqueue
from test_channel_telegram import CHAT, FAST, TOKEN, WEBHOOK_SECRET, Chat

WELCOME = "Test hotline"  # the welcome names the deployment
NOTICE = "Only the hotline team reads your report"  # the privacy notice, the answer to "1" (English)
ASK_DESCRIPTION = "What happened?"
ADDED = "Added to your report."
SUGGESTION = "Is this about"  # the answer to the first words of a story: a category to confirm
ERASE_QUESTION = "Erase your unfinished report?"
ERASED = "Erased."


@pytest.fixture
def fake():
    with FakeTelegramServer(TOKEN) as server:
        yield server


@pytest.fixture
def workers(settings_with, fake, monkeypatch):
    """workers(n) -> n web workers (services and a test client each) on one database, as under gunicorn."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)
    built = []

    def make(count: int = 2):
        telegram = {"enabled": True, "base_url": fake.url + "/bot", "base_file_url": fake.url + "/file/bot", "rate": FAST}
        settings = settings_with(channels={"telegram": telegram})
        init_keys(settings, dev_operator_key=True)
        for _ in range(count):
            built.append(build_services(settings))
        return [(services, create_app(services).test_client()) for services in built[-count:]]

    yield make
    for services in built:
        services.close()


def new_chat(fake, client, chat_id: int = CHAT) -> Chat:
    """A worker's chat; update ids of its own (Telegram's are unique per bot, and the intake skips a repeated one)."""
    chat = Chat(fake, client, chat_id)
    chat.update_id = chat_id * 1000
    return chat


def texts(chat: Chat) -> list[str]:
    return chat.replies()


def pending(services) -> int:
    with services.sessions.begin() as session:
        return session.execute(select(func.count()).select_from(OutboundMessage)
                               .where(OutboundMessage.state.in_(("pending", "cancelled")))).scalar_one()


# ---------------------------------------------------------------- the audit's reproductions, on Telegram


def test_answers_from_two_workers_arrive_in_the_order_of_the_messages(workers, fake):
    """The audit: "yes", then the story 0.3 s later; "Added to your report" came before "What happened?"."""
    (first, first_client), (second, second_client) = workers(2)
    chat = new_chat(fake, first_client)
    chat.say("hi")
    chat.say("1")
    fake.send_delay = lambda params: 0.8 if ASK_DESCRIPTION in params["text"] else 0.0  # a slow call to Telegram
    assert chat.deliver(chat.text("yes")).status_code == 200  # worker 1: its answer is on its way
    time.sleep(0.3)
    chat.client = second_client  # the next update reaches the other worker
    assert chat.deliver(chat.text("The supervisor has not paid our wages for two months")).status_code == 200
    fake.wait_for(lambda: len(texts(chat)) >= 4, what="both answers")
    settle(first, second)
    answers = texts(chat)[2:]
    assert len(answers) == 2
    assert ASK_DESCRIPTION in answers[0] and SUGGESTION in answers[1], answers


def _expected(fake, client, chat_id: int, first: str, second: str) -> list[str]:
    """The two answers when `first` is handled before `second` (a chat of their own, one at a time)."""
    control = new_chat(fake, client, chat_id)
    control.say("hi")
    control.say(first)
    control.say(second)
    return texts(control)[1:]


def test_two_updates_of_one_chat_posted_at_once_are_answered_in_the_order_they_were_handled(workers, fake):
    (first, first_client), (second, second_client) = workers(2)
    one_then_two = _expected(fake, first_client, 900_001, "1", "yes")
    two_then_one = _expected(fake, first_client, 900_002, "yes", "1")
    assert one_then_two != two_then_one
    chats = [new_chat(fake, first_client, 910_000 + n) for n in range(6)]
    for chat in chats:
        chat.say("hi")
    jitter = iter([0.25, 0.0, 0.1, 0.3, 0.0, 0.2] * 10)
    lock = threading.Lock()

    def slow(_params) -> float:
        with lock:
            return next(jitter, 0.0)

    fake.send_delay = slow
    start = threading.Barrier(2 * len(chats))
    results = []

    def post(chat: Chat, client, text: str) -> None:
        update = chat.text(text)
        start.wait(10)
        results.append(client.post("/webhooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}).status_code)

    threads = []
    for chat in chats:
        threads.append(threading.Thread(target=post, args=(chat, first_client, "1")))
        threads.append(threading.Thread(target=post, args=(chat, second_client, "yes")))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [200] * len(threads)
    for chat in chats:
        fake.wait_for(lambda chat=chat: len(texts(chat)) >= 3, what="both answers")
    settle(first, second)
    for chat in chats:
        assert texts(chat)[1:] in (one_then_two, two_then_one), texts(chat)[1:]


def test_an_answer_waiting_for_a_retry_holds_back_the_newer_ones_of_its_chat(workers, fake):
    ((services, client),) = workers(1)
    chat, other = new_chat(fake, client), new_chat(fake, client, 920_001)
    chat.say("hi")
    fake.fail_next("sendMessage", 502, "Bad Gateway")
    chat.deliver(chat.text("1"))  # its answer fails and waits for a retry
    chat.deliver(chat.text("yes"))
    other.say("hi")  # another chat is not held up
    settle(services)
    assert len(texts(chat)) == 1, texts(chat)  # "What happened?" waits for the notice
    make_due(services)
    services.dispatcher.run_once()
    answers = texts(chat)[1:]
    assert NOTICE in answers[0] and ASK_DESCRIPTION in answers[1], answers


def test_delete_cancels_the_answers_still_queued_for_the_chat(workers, fake):
    """The audit: answers queued before DELETE were sent after "Erase your unfinished report?"."""
    ((services, client),) = workers(1)
    chat = new_chat(fake, client)
    for text in ("hi", "1", "yes", "The supervisor has not paid our wages for two months"):
        chat.say(text)
    fake.fail_next("sendMessage", 502, "Bad Gateway")
    chat.deliver(chat.text("He also shouts at the women on the line"))  # "Added to your report" waits
    settle(services)
    before = len(texts(chat))
    assert chat.say("delete").startswith(ERASE_QUESTION)
    make_due(services)
    services.dispatcher.run_once()
    settle(services)
    assert texts(chat)[before:] == [texts(chat)[-1]] and texts(chat)[-1].startswith(ERASE_QUESTION)
    assert chat.say("yes").startswith(ERASED)
    make_due(services)
    services.dispatcher.run_once()
    settle(services)
    assert texts(chat)[-1].startswith(ERASED) and pending(services) == 0


def test_an_answer_in_flight_when_delete_erases_the_chat_goes_first_and_is_deleted_too(workers, fake):
    (first, first_client), (second, second_client) = workers(2)
    chat = new_chat(fake, first_client)
    fake.send_delay = lambda params: 0.8 if WELCOME in params["text"] else 0.0
    chat.deliver(chat.text("hi"))  # worker 1 is sending the welcome, slowly
    time.sleep(0.2)
    chat.client = second_client
    chat.deliver(chat.text("delete"))  # nothing written yet: erased at once, on worker 2
    fake.wait_for(lambda: len(texts(chat)) >= 2, what="both answers")
    settle(first, second)
    welcome, erased = texts(chat)
    assert WELCOME in welcome and erased.startswith(ERASED)
    welcome_id = fake.sent(chat.chat_id)[0]["message_id"]

    def deleted() -> list[int]:
        return [i for call in fake.called("deleteMessages") for i in call["message_ids"]] + [
            call["message_id"] for call in fake.called("deleteMessage")]

    fake.wait_for(lambda: welcome_id in deleted(), what="the welcome deleted")
    with first.sessions.begin() as session:
        assert session.execute(select(func.count()).select_from(ChatMessageRefs)).scalar_one() == 0
    assert pending(first) == 0


# ---------------------------------------------------------------- the dispatcher's rules, with a fake adapter


class SlowAdapter:
    """Records what it sends, in order; a send can be slow (`delay` of its text), or fail as told."""

    type = "fake"
    keeps_message_refs = False
    rate = None

    def __init__(self, delay=lambda text: 0.0) -> None:
        self.delay = delay
        self.failures: list[SendError] = []
        self.sent: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def send(self, address, text, choices=()):
        time.sleep(self.delay(text))
        with self.lock:
            if self.failures:
                raise self.failures.pop(0)
            self.sent.append((address.address, text))
        return None

    def texts(self, chat: str) -> list[str]:
        with self.lock:
            return [text for address, text in self.sent if address == chat]


def queue(services, chat: str, *texts: str) -> list[str]:
    address = ReplyAddress("fake", "telegram", chat)
    ids = []
    for text in texts:
        with services.sessions.begin() as session:
            ids.append(enqueue(session, services.secrets, address, text))
    return ids


def dispatcher(services, adapter) -> Dispatcher:
    return Dispatcher(OutboundQueue(services.sessions, services.secrets), {"fake": adapter})


def test_two_dispatchers_never_send_two_messages_of_one_chat_at_once(services):
    adapter = SlowAdapter(delay=lambda text: 0.15 if text.endswith(("0", "2")) else 0.0)
    for chat in ("a", "b", "c"):
        queue(services, chat, *[f"{chat}{n}" for n in range(5)])
    dispatchers = [dispatcher(services, adapter) for _ in range(3)]

    def run(each: Dispatcher) -> None:
        for _ in range(30):
            each.run_once(limit=1)

    threads = [threading.Thread(target=run, args=(each,)) for each in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for chat in ("a", "b", "c"):
        assert adapter.texts(chat) == [f"{chat}{n}" for n in range(5)]


def test_a_retry_holds_back_only_its_own_chat_and_a_dead_message_lets_the_next_go(services):
    adapter = SlowAdapter()
    queue(services, "a", "a1", "a2")
    queue(services, "b", "b1", "b2")
    adapter.failures = [SendError("busy", retryable=True)]  # a1
    assert dispatcher(services, adapter).run_once().sent == 2  # b1 and b2; a2 waits behind a1
    assert adapter.texts("a") == [] and adapter.texts("b") == ["b1", "b2"]
    make_due(services)
    adapter.failures = [SendError("blocked", retryable=False)]  # a1 again: dead
    result = dispatcher(services, adapter).run_once()
    assert (result.dead, result.sent) == (1, 1) and adapter.texts("a") == ["a2"]


def test_delete_erases_every_message_queued_for_the_chat_and_no_other(services):
    adapter = SlowAdapter()
    queue(services, "chat-1", "queued before DELETE")
    queue(services, "chat-2", "another chat")
    services.intake.receive(InboundMessage(channel="telegram", sender="chat-1", text="hi", adapter="fake"))
    services.intake.receive(InboundMessage(channel="telegram", sender="chat-1", text="delete", adapter="fake"), queue_replies=True)
    dispatcher(services, adapter).run_once()
    assert adapter.texts("chat-2") == ["another chat"]
    (erased,) = adapter.texts("chat-1")
    assert erased.startswith(ERASED)


def test_a_queued_message_names_its_chat_by_a_keyed_hash_of_its_own(services):
    address = ReplyAddress("telegram", "telegram", "555000111")
    with services.sessions.begin() as session:
        enqueue(session, services.secrets, address, "hello")
        chat = session.execute(select(OutboundMessage.chat)).scalar_one()
    assert len(chat) == 64 and "555000111" not in chat
    other_indexes = {crypto.conversation_lookup(services.secrets, "telegram", "555000111"),
                     crypto.chat_refs_lookup(services.secrets, "telegram", "555000111"),
                     crypto.opt_out_lookup(services.secrets, "telegram", "555000111")}
    assert chat not in other_indexes  # nothing links a queued message to a conversation by its index
