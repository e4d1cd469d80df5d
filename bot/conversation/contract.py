"""What the conversation's parts agree on: a turn's result, the desk it seals into, and a step.

A `Step` is one place of the conversation (the language menu, the privacy notice, a
question, the summary...). Every step answers the same few questions: what it asks
(`prompt`, and the `choices` a channel with buttons shows), how it takes an answer
(`take`, which also moves the draft to where the worker goes next), where words that
answer nothing but must not be lost go (`keep`: what a worker in danger wrote at this
step), and whether a yes or no answers it (`asks_yes_no`). The rules that apply at
every step (bot/conversation/rules.py) run before a step's own `take`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from bot.draft import Draft

from .message import Message

Choices = tuple[tuple[str, str], ...]  # (what to send, label) of the question asked, for buttons


@dataclass(frozen=True)
class CaseStatus:
    """What a worker may learn about a case from its code."""

    status: str
    messages: tuple[str, ...] = ()
    case_ref: str | None = None  # what `CaseDesk.answer` needs to find the case again
    language: str | None = None  # the language the case was reported in
    asks_feedback: bool = False  # resolved or closed, and the worker has not said yet whether it helped


class AlertFailed(Exception):
    """The urgent alert could not be sealed and queued; the worker still gets the emergency contacts."""


class StatusThrottled(Exception):
    """Too many STATUS look-ups found no case (from this sender, or overall): none is done now."""


class CaseDesk(Protocol):
    """Where confirmed cases go and where STATUS looks; implemented by `bot.intake`."""

    def submit(self, draft: Draft) -> str:
        """Seal and queue the case; return its code (digits)."""

    def status(self, code: str) -> CaseStatus | None:
        """The case with this code (digits), or None. Raises `StatusThrottled` instead of looking."""

    def answer(self, case_ref: str, text: str, *, urgent: bool = False) -> bool:
        """Add the worker's answer to the case (sealed to the operator); False when the case is gone.
        `urgent`: it spoke of danger (the case becomes urgent and the person on duty is told)."""

    def allow_contact(self, case_ref: str, allowed: bool) -> None:
        """The worker answered, after an alert, whether the team may write to them on this chat."""

    def feedback(self, case_ref: str, helped: str | None, comment: str | None) -> bool:
        """The worker's view of the outcome ("yes", "partly", "no" or None when they only wrote a
        comment, and the comment or None), sealed to the operator; False when the case is gone."""

    def alert(self, draft: Draft) -> tuple[str, str]:
        """Seal and queue an urgent alert of what the draft holds so far, first in every queue.

        Returns (case id, code digits): a new case, or the draft's `alert_case` again. The full
        report is later submitted under the same case. Raises `AlertFailed` when nothing was queued.
        """


@dataclass
class Turn:
    """The result of one message: replies to send and what to keep."""

    replies: list[str]
    draft: Draft | None  # None: erase the conversation
    case_code: str | None = None
    erase_messages: bool = False  # DELETE: also remove the bot's messages where the channel allows
    urgent_now: bool = False  # the worker just said someone is in danger
    choices: Choices = ()  # (answer to send, label) of the question asked, for buttons
    events: list[str] = field(default_factory=list)  # names only, never content, for logs and metrics


class Step(Protocol):
    """One step of the conversation; the table of steps is in bot/conversation/steps/."""

    def prompt(self, draft: Draft) -> str:
        """The question the worker is asked at this step."""

    def choices(self, draft: Draft) -> Choices:
        """The answers offered at this step, for channels with buttons (empty: free text)."""

    def take(self, draft: Draft, message: Message, desk: CaseDesk) -> Turn:
        """Take the worker's message as the answer to this step, and move on (or ask again)."""

    def keep(self, draft: Draft, message: Message, desk: CaseDesk) -> list[str] | Turn:
        """Keep a message that spoke of danger where it belongs at this step (aside before consent,
        in the description, as an answer into a case): the notes to send before the alert
        question, or a whole `Turn` when the conversation cannot go on."""

    def asks_yes_no(self, draft: Draft) -> bool:
        """A yes or no answers this step (so "yes" after a pause is an answer, not small talk)."""
