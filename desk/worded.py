"""The team's words as the worker will receive them, and what that costs by SMS.

The intake server does not send the team's words alone: it wraps them in the worker's
language (who writes, and how to answer: `bot.operator_api.worker_message`, the catalog
text `dialogue.operator_message`), folds them to GSM-7 where the deployment chose that for
the language (`channels.twilio.gsm7_fold`) and splits them within
`channels.twilio.max_segments_per_message`. The desk counts what comes out of that, so an
English sentence to a Bengali-speaking worker is counted as the UCS-2 message it becomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from bot.config import Settings
from bot.conversation.wording import Wording
from bot.i18n import Catalogs
from bot.operator_api import worker_message
from channels.sms_segments import count_segments, sms_messages


@dataclass(frozen=True)
class SmsCost:
    """What one message to the worker costs by SMS: paid segments, in how many messages, in which encoding."""

    segments: int
    messages: int
    encoding: str  # "GSM-7" or "UCS-2" (the costlier one when the messages differ)
    units: int  # characters as the encoding counts them, over all the messages
    parts: tuple[str, ...]  # what the worker reads, message by message (folded where the deployment folds)


@cache
def _catalogs(languages: tuple[str, ...]) -> Catalogs:
    return Catalogs(languages)


def worded(settings: Settings, language: str | None, text: str) -> str:
    """`text` as the worker reads it, in the case's `language` (the deployment's default when unknown)."""
    languages = tuple(settings.deployment.languages)
    if language not in languages:
        language = None  # a catalog the deployment does not offer: its default language, as the server does
    wording = Wording(settings, _catalogs(languages), sms_safe=True)
    return worker_message(wording, language, text.strip().replace("\r\n", "\n"))


def sms_cost(settings: Settings, language: str | None, text: str) -> SmsCost:
    """The SMS cost of `text` once worded for the worker, folded and split as the hotline sends it."""
    whole = worded(settings, language, text)
    twilio = settings.channels.twilio
    parts = sms_messages(whole, language, twilio.gsm7_fold, twilio.max_segments_per_message)
    counts = [count_segments(part) for part in parts]
    encoding = "UCS-2" if any(c.encoding == "UCS-2" for c in counts) else "GSM-7"
    return SmsCost(sum(c.segments for c in counts), len(parts), encoding, sum(c.units for c in counts), tuple(parts))
