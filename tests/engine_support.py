"""Helpers the engine tests share: which text a question contains, and the state a test inspects."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from bot.case_record import validate_case_record
from nlu import fold, phrases
from nlu.keywords import SMS_RESERVED_WORDS
from storage import crypto
from storage.embedded_queue import EmbeddedQueue
from storage.models import Conversation
from storage.outbox import forward_outbox


def prompt_part(services, lang: str, step: str) -> str:
    """A catalog text the bot's question at `step` must contain, in `lang`."""
    t = services.catalogs.text
    if step == "language":
        return t(services.settings.deployment.default_language, "language.menu")
    if step == "suggest":
        return t(lang, "ask.suggestion", category=t(lang, "category.wages"))
    if step == "summary":
        return t(lang, "summary.check", summary="\x00").split("\x00")[0]
    if step == "consent":  # the privacy notice, with "What happened?"
        return t(lang, "privacy", no="\x00").split("\x00")[0]
    return t(lang, f"ask.{step}")


def shown_word(kind: str, lang: str, channel: str = "sms") -> str:
    """How the bot names a keyword in its hints ("send HELP"); on SMS never a word the gateway
    acts on itself (STOP, CANCEL, HELP, INFO...) nor a sign ("?"), the first other phrase of the
    kind instead ("EXIT", "MENU")."""
    candidates = phrases(kind, lang)
    if channel == "sms":
        safe = [p for p in candidates if fold(p) not in SMS_RESERVED_WORDS and any(c.isalpha() for c in p)]
        candidates = safe or candidates
    return candidates[0].upper()


def conversations(services) -> int:
    """How many conversations are stored."""
    with services.sessions.begin() as session:
        return session.execute(select(func.count()).select_from(Conversation)).scalar_one()


def sealed_cases(services) -> list[dict]:
    """Forward the outbox, then open (and validate) every queued case with the operator's private key."""
    forward_outbox(services.sessions, services.sink, max_attempts=3)
    identity = services.settings.path(services.settings.operator.identity_file).read_text(encoding="utf-8").splitlines()[0]
    cases = [json.loads(crypto.open_case([identity], item.sealed)) for item in EmbeddedQueue(services.sessions).peek()]
    for case in cases:
        validate_case_record(case)
    return cases


def the_case(services) -> dict:
    """The one case queued so far."""
    cases = sealed_cases(services)
    assert len(cases) == 1, f"expected one case, found {len(cases)}"
    return cases[0]
