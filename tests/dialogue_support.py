"""Helpers for the dialogue tests: confirmed cases, the operator API on a real loopback port, tokens."""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta

from sqlalchemy import select, update
from werkzeug.serving import make_server

from bot.messages import InboundMessage, ReplyAddress
from bot.operator_api import create_operator_app
from storage import crypto
from storage.api_tokens import ApiTokens
from storage.models import Case
from worker_scripts import ENGLISH_INTAKE

CODE_SHOWN = re.compile(r"\d{4} \d{3} \d{3} \d{4}")


def confirm_case(services, sender: str, channel: str = "sms", adapter: str = "console", contact: str = "no") -> tuple[str, str]:
    """A whole English intake from `sender`, answering `contact` to "may we contact you?", confirmed; (case id, code digits)."""
    replies: tuple[str, ...] = ()
    assert ENGLISH_INTAKE[-2:] == ["no", "no"]  # the answers to contact and to telling the company
    for text in [*ENGLISH_INTAKE[:-2], contact, "no", "1"]:
        replies = services.intake.receive(InboundMessage(channel=channel, sender=sender, text=text, adapter=adapter)).texts
    (code,) = CODE_SHOWN.findall(replies[-1])
    digits = code.replace(" ", "")
    with services.sessions.begin() as session:
        case_id = session.execute(
            select(Case.case_id).where(Case.code_lookup == crypto.case_code_lookup(services.secrets, digits))
        ).scalar_one()
    return case_id, digits


def new_token(services, name: str = "desk", expires_in: timedelta | None = None) -> str:
    return ApiTokens(services.sessions, services.secrets).create(name, expires_in)[1]


def set_last_inbound(services, case_id: str, when: datetime | None) -> None:
    """Pretend the worker last wrote at `when` (WhatsApp's 24-hour window)."""
    with services.sessions.begin() as session:
        case = session.get(Case, case_id)
        held = ReplyAddress.from_json(crypto.decrypt_reply_address(services.secrets, case_id, case.reply_address))
        moved = ReplyAddress(held.adapter, held.channel, held.address, last_inbound_at=when)
        case.reply_address = crypto.encrypt_reply_address(services.secrets, case_id, moved.to_json())


def expire_reply_address(services, case_id: str, now: datetime) -> None:
    with services.sessions.begin() as session:
        session.execute(update(Case).where(Case.case_id == case_id).values(reply_address_expires_at=now - timedelta(minutes=1)))


class LiveOperatorApi:
    """The real operator API app served over HTTP on 127.0.0.1 (werkzeug's server, in a thread)."""

    def __init__(self, services) -> None:
        self.server = make_server("127.0.0.1", 0, create_operator_app(services), threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)
