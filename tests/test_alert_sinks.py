"""An urgent alert and the report that completes it, through every sink (embedded, Redis, RabbitMQ, webhook).

The alert is queued under a delivery id of its own and the report under the case id, so no
sink's deduplication (the embedded table's unique id, Redis SET NX, RabbitMQ message_id, the
webhook's Idempotency-Key) takes the report for a redelivery of the alert; the operator's
store then keeps one case: the report, carrying its alert. The harness is the sink contract's.
"""

from __future__ import annotations

import json

import pytest

from bot.messages import InboundMessage
from storage import crypto
from storage.keys import load_operator_identity
from storage.outbox import forward_outbox

from test_sink_contract import ALL_KINDS, build_harness

DANGER = "FIRE in factory doors locked people trapped help"


@pytest.fixture
def harness(request, services, settings_with, tmp_path):
    built = build_harness(request.param, services, settings_with, tmp_path)
    yield built
    for cleanup in built.cleanups:
        cleanup()


def say(services, text: str) -> list[str]:
    return list(services.intake.receive(InboundMessage(channel="sms", sender="+8801711000444", text=text)).texts)


def finish_report(services) -> None:
    """After the alert: English, consent, more description, then every question answered plainly."""
    for text in ["1", "1", "The exit on the second floor is always locked", "done"]:
        replies = say(services, text)
    t = lambda key: services.catalogs.text("en", key)  # noqa: E731
    summary = services.catalogs.text("en", "summary.check", summary="\x00").split("\x00")[0]
    for _ in range(20):
        last = replies[-1]
        if last.startswith(summary):
            say(services, "1")
            return
        if t("hint.yes_no") in last:
            replies = say(services, "2" if t("ask.urgent") in last or t("ask.contact_consent") in last else "1")
        elif t("ask.category") in last:
            replies = say(services, "1")
        elif t("ask.people_affected") in last:
            replies = say(services, "30")
        else:
            replies = say(services, "skip" if "SKIP" in last else "Gazipur")
    raise AssertionError(replies)


@pytest.mark.parametrize("harness", ALL_KINDS, indirect=True)
def test_the_alert_then_its_report_both_reach_the_consumer_as_one_case(harness, services):
    say(services, DANGER)
    say(services, "1")  # YES: alert the team now
    assert forward_outbox(services.sessions, harness.sink, max_attempts=3).delivered == 1
    (alert_delivery,) = harness.consume()
    finish_report(services)
    assert forward_outbox(services.sessions, harness.sink, max_attempts=3).delivered == 1
    (report_delivery,) = harness.consume()
    assert report_delivery != alert_delivery, "the report is not a redelivery of the alert"
    identity = load_operator_identity(services.settings.path(services.settings.operator.identity_file))
    if harness.kind == "webhook":  # the operator's own system gets both sealed items; they name one case
        kept = harness.kept()
        assert kept == [alert_delivery, report_delivery]
        receiver = next(c.__self__ for c in harness.cleanups if type(getattr(c, "__self__", None)).__name__ == "WebhookReceiver")
        alert, report = (json.loads(crypto.open_case([identity], receiver.kept[key])) for key in kept)
        assert (alert["kind"], report["kind"]) == ("alert", "report")
        assert alert["case_id"] == report["case_id"] and alert["code"] == report["code"]
    else:
        (case_id,) = harness.kept()
        assert case_id == report_delivery
    assert harness.consume() == []
