"""Building Cloud API message bodies: text within Meta's limits, buttons, lists, the template.

Free-form messages may go out only within 24 hours of the worker's last
message. Inside the window a reply is text (split above 4096 characters) and,
when the question has a few fixed answers, reply buttons (up to 3) or a list
(up to 10); the text itself always holds the numbered menu too, so typing the
number works on every phone. Outside the window only the deployment's approved
template goes out: it tells the worker to reply, and never carries the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from channels.base import is_bsuid

TEXT_LIMIT = 4096
BODY_LIMIT = 1024  # body of an interactive message
BUTTON_TITLE_LIMIT = 20
ROW_TITLE_LIMIT = 24
ROW_DESCRIPTION_LIMIT = 72
MAX_BUTTONS = 3
MAX_ROWS = 10
# Meta's clock and ours may differ, and the stored time is to the minute: stop free-form a little early.
WINDOW = timedelta(hours=24) - timedelta(minutes=5)


def within_window(last_inbound_at: datetime | None, now: datetime | None = None) -> bool:
    """True while a free-form message may still be sent (24 hours after the worker's last message)."""
    if last_inbound_at is None:
        return False
    seen = last_inbound_at if last_inbound_at.tzinfo else last_inbound_at.replace(tzinfo=UTC)
    return (now or datetime.now(UTC)) - seen < WINDOW


def shorten(label: str, limit: int) -> str:
    """A label cut to `limit` characters, at a word boundary where one is near, with an ellipsis."""
    label = " ".join(label.split())
    if len(label) <= limit:
        return label
    cut = label[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut between paragraphs, else lines, else words."""
    pieces, rest = [], text.strip()
    while len(rest) > limit:
        cut = _cut_point(rest[: limit + 1], limit)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return [*pieces, rest] if rest else pieces


def _cut_point(window: str, limit: int) -> int:
    for separator in ("\n\n", "\n", " "):
        at = window.rfind(separator)
        if at > limit // 4:  # not so early that the piece would be tiny
            return at
    return limit


def _tail(text: str, limit: int) -> tuple[str, str]:
    """(head, tail): the tail is the longest run of last paragraphs (else lines, words) within `limit`."""
    text = text.strip()
    if len(text) <= limit:
        return "", text
    for separator in ("\n\n", "\n", " "):
        # What follows a separator at `at` fits when at >= len(text) - limit - len(separator).
        at = text.find(separator, max(len(text) - limit - len(separator), 1))
        if at > 0:
            return text[:at].rstrip(), text[at:].strip()
    return text[:-limit].rstrip(), text[-limit:]


def text_bodies(text: str) -> list[dict]:
    return [{"type": "text", "text": {"preview_url": False, "body": piece}} for piece in split_text(text)]


def reply_bodies(text: str, choices: Sequence[tuple[str, str]]) -> list[dict]:
    """The message bodies (without recipient) for a reply inside the 24-hour window."""
    if not choices or len(choices) > MAX_ROWS:
        return text_bodies(text)  # the 13 categories: the numbered menu is in the text
    head, body = _tail(text, BODY_LIMIT)
    if len(choices) <= MAX_BUTTONS:
        titles = [shorten(label, BUTTON_TITLE_LIMIT) for _, label in choices]
        if len(set(titles)) < len(titles):
            return text_bodies(text)  # titles must differ; the text still has the menu
        buttons = [{"type": "reply", "reply": {"id": value, "title": title}} for (value, _), title in zip(choices, titles)]
        action: dict = {"buttons": buttons}
        kind = "button"
    else:
        rows = []
        for value, label in choices:
            row = {"id": value, "title": shorten(label, ROW_TITLE_LIMIT)}
            if row["title"] != " ".join(label.split()):
                row["description"] = shorten(label, ROW_DESCRIPTION_LIMIT)
            rows.append(row)
        # The list's opening button needs a label: digits read the same in every language.
        action = {"button": f"☰ {choices[0][0]}–{choices[-1][0]}"[:BUTTON_TITLE_LIMIT], "sections": [{"rows": rows}]}
        kind = "list"
    interactive = {"type": "interactive", "interactive": {"type": kind, "body": {"text": body}, "action": action}}
    return [*(text_bodies(head) if head else []), interactive]


def template_body(name: str, language: str) -> dict:
    """The approved template: "there is an update, reply to see it" (no parameters: never the text)."""
    return {"type": "template", "template": {"name": name, "language": {"code": language}}}


def addressed(body: dict, address: str) -> dict:
    """A body with its recipient: a number in digits as `to`; a username's BSUID as `recipient`, as Graph takes it."""
    field = "recipient" if is_bsuid(address) else "to"
    value = address if field == "recipient" else address.lstrip("+")
    return {"messaging_product": "whatsapp", "recipient_type": "individual", field: value, **body}
