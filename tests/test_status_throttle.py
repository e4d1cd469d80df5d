"""STATUS <code> guessing: failed look-ups counted per sender pseudonym and overall, refused at the limit.

Counters are real rows updated by atomic upserts; the same tests run on SQLite and
(GRIEVANCE_TEST_DB=postgresql) on PostgreSQL, and several threads with their own
connections count exactly.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.casecode import new_case_code
from bot.cli import cli
from bot.config import StatusThrottle
from bot.services import build_services
from dialogue_support import confirm_case
from storage import crypto
from storage.cases import CaseStore
from storage.models import StatusAttempts
from storage.status_throttle import GLOBAL, SENDER_PREFIX, StatusThrottleStore, attempt_counts

DAY = timedelta(hours=24)


def wrong_code() -> str:
    return new_case_code()  # a well-formed code (Luhn digit right) that no case has


@pytest.fixture
def strict(settings_with, settings):
    """Services with small limits: 3 failures per sender an hour, 5 overall a minute."""
    built = build_services(settings_with(status_throttle={"per_sender_failures": 3, "global_failures": 5}))
    yield built
    built.close()


def ask(services, sender: str, code: str, channel: str = "sms") -> str:
    from bot.messages import InboundMessage

    return services.intake.receive(InboundMessage(channel=channel, sender=sender, text=f"STATUS {code}")).texts[0]


def test_a_sender_is_refused_after_too_many_wrong_codes_even_with_the_right_one(strict, monkeypatch):
    _, code = confirm_case(strict, "+8801711000700")
    t = strict.catalogs.text
    for _ in range(3):
        assert ask(strict, "guesser", wrong_code()) == t("en", "status.not_found")
    looked = []
    real = CaseStore.find_by_code
    monkeypatch.setattr(CaseStore, "find_by_code", lambda self, c: looked.append(c) or real(self, c))
    assert ask(strict, "guesser", code) == t("en", "status.throttled")
    assert ask(strict, "guesser", wrong_code()) == t("en", "status.throttled")
    assert looked == []  # while throttled no look-up is done at all
    assert ask(strict, "guesser", code, channel="telegram").startswith("Case ")  # another channel: another pseudonym
    assert ask(strict, "honest worker", code).startswith("Case ")
    counts = attempt_counts(strict.sessions, strict.settings.status_throttle, datetime.now(UTC) - DAY)
    assert (counts.failed, counts.refused, counts.senders_over_limit) == (3, 2, 1)


def test_while_the_global_limit_is_reached_only_senders_who_failed_are_refused(strict):
    """A few guessers reaching the global limit must not block STATUS for everyone: a sender
    with no failed look-up in their window is still served; one who failed waits."""
    _, code = confirm_case(strict, "+8801711000701")
    t = strict.catalogs.text
    for number in range(5):
        assert ask(strict, f"phone-{number}", wrong_code()) == t("en", "status.not_found")
    assert ask(strict, "phone-0", code) == t("en", "status.throttled")  # failed once, and the global limit holds
    assert ask(strict, "an honest worker", code).startswith("Case ")  # no failure of their own: served
    assert ask(strict, "a new guesser", wrong_code()) == t("en", "status.not_found")  # one try...
    assert ask(strict, "a new guesser", code) == t("en", "status.throttled")  # ...then waits like the others
    counts = attempt_counts(strict.sessions, strict.settings.status_throttle, datetime.now(UTC) - DAY)
    assert counts.failed == 6 and counts.refused == 2 and counts.senders_over_limit == 0


def test_only_keyed_pseudonyms_are_stored_never_the_sender_or_the_code(strict):
    sender, code = "+8801711000702", wrong_code()
    ask(strict, sender, code)
    with strict.sessions.begin() as session:
        scopes = set(session.execute(select(StatusAttempts.scope)).scalars())
    pseudonym = crypto.sender_pseudonym(strict.secrets, "sms", sender)
    assert scopes == {GLOBAL, SENDER_PREFIX + pseudonym}
    assert sender not in str(scopes) and code not in str(scopes)
    assert pseudonym != crypto.conversation_lookup(strict.secrets, "sms", sender)[:32]


def test_windows_pass_and_old_counters_are_dropped(services):
    limits = StatusThrottle(per_sender_failures=2, per_sender_window_minutes=60, global_failures=100, global_window_seconds=60)
    start = datetime(2026, 1, 5, 10, 0, 30, tzinfo=UTC)
    with services.sessions.begin() as session:
        store = StatusThrottleStore(session, limits)
        store.record_failure("p1", start)
        store.record_failure("p1", start + timedelta(minutes=5))
        assert not store.allowed("p1", start + timedelta(minutes=10))
        assert store.allowed("p2", start + timedelta(minutes=10))
        assert store.allowed("p1", start + timedelta(minutes=61))  # the next hour's window
        store.record_failure("p3", start + timedelta(days=3))  # prunes pseudonym rows no window needs
        scopes = set(session.execute(select(StatusAttempts.scope).where(StatusAttempts.scope != GLOBAL)).scalars())
    assert scopes == {SENDER_PREFIX + "p3"}


def test_counting_is_exact_across_concurrent_connections(services):
    limits = StatusThrottle(per_sender_failures=1000, global_failures=100_000)
    now = datetime.now(UTC)
    errors = []

    def hammer() -> None:
        try:
            for _ in range(10):
                with services.sessions.begin() as session:
                    StatusThrottleStore(session, limits).record_failure("shared", now)
        except Exception as error:  # reported below; a lost update shows as a wrong count
            errors.append(type(error).__name__)

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with services.sessions.begin() as session:
        rows = dict(session.execute(select(StatusAttempts.scope, StatusAttempts.failed)).all())
    assert rows == {GLOBAL: 60, SENDER_PREFIX + "shared": 60}


def test_grievance_stats_shows_the_counts(strict):
    for number in range(4):
        ask(strict, "guesser", wrong_code())
    result = CliRunner().invoke(cli, ["stats"], obj={"settings": strict.settings}, catch_exceptions=False)
    assert result.exit_code == 0
    assert "3 found no case, 1 refused while throttled" in result.output
    assert "senders that reached their limit: 1" in result.output
