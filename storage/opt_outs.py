"""Addresses that opted out at their provider: nothing more is sent to them until they opt back in.

On Twilio numbers a message that is only STOP (or CANCEL, END, QUIT, UNSUBSCRIBE...)
opts the sender out at Twilio itself: every later message to them fails with error
21610 until they send START. The hotline learns it from the webhook's `OptOutType`
(STOP / START) or from a 21610 on a send, and records it here under a keyed hash of
channel and address (crypto.opt_out_lookup), never the address. Their cases stay
readable with STATUS and the case code.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.messages import ReplyAddress

from . import crypto
from .models import OptedOut


class OptOuts:
    """Opt-outs inside the caller's transaction."""

    def __init__(self, session: Session, secrets: crypto.ServerSecrets) -> None:
        self.session = session
        self.secrets = secrets

    def _lookup(self, channel: str, address: str) -> str:
        return crypto.opt_out_lookup(self.secrets, channel, address)

    def opt_out(self, channel: str, address: str, now: datetime) -> None:
        """Record that this address wants nothing more from the hotline (idempotent)."""
        values = {"lookup": self._lookup(channel, address), "created_at": now.replace(second=0, microsecond=0)}
        insert = pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        self.session.execute(insert(OptedOut).values(**values).on_conflict_do_nothing(index_elements=["lookup"]))

    def opt_in(self, channel: str, address: str) -> bool:
        """START: the address may be written to again; False when it had not opted out."""
        return bool(self.session.execute(delete(OptedOut).where(OptedOut.lookup == self._lookup(channel, address))).rowcount)

    def is_opted_out(self, address: ReplyAddress) -> bool:
        lookup = self._lookup(address.channel, address.address)
        return self.session.execute(select(OptedOut.lookup).where(OptedOut.lookup == lookup)).first() is not None
