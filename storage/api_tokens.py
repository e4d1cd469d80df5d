"""Operator API tokens: created, listed, revoked, and checked on every operator API request.

A token is shown once, when it is created. The server keeps only a keyed hash
of it (crypto.api_token_hash, a subkey of the pepper), its name, and when it was
created, expires and was revoked: a copied database gives no usable token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from . import crypto
from .db import as_utc, utcnow
from .models import ApiToken

NAME_MAX = 60


class TokenError(Exception):
    """A token cannot be created or revoked as asked (the message says why; it never holds a token)."""


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a token: never the token or its hash."""

    id: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and as_utc(self.expires_at) <= now:
            return "expired"
        return "active"


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(row.id, row.name, row.created_at, row.expires_at, row.revoked_at)


class ApiTokens:
    """The token table; each call is its own short transaction."""

    def __init__(self, sessions: sessionmaker[Session], secrets: crypto.ServerSecrets) -> None:
        self.sessions = sessions
        self.secrets = secrets

    def create(self, name: str, expires_in: timedelta | None = None) -> tuple[TokenInfo, str]:
        """A new token named `name`; returns its info and the token itself (shown once, never stored)."""
        name = name.strip()
        if not name or len(name) > NAME_MAX or not name.isprintable():
            raise TokenError(f"a token name is 1 to {NAME_MAX} printable characters")
        token_id, token = crypto.new_api_token()
        now = utcnow()
        row = ApiToken(
            id=token_id, name=name, token_hash=crypto.api_token_hash(self.secrets, token), created_at=now,
            expires_at=now + expires_in if expires_in else None, revoked_at=None,
        )
        try:
            with self.sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            raise TokenError(f"a token named '{name}' exists already (revoke it or choose another name)") from None
        return _info(row), token

    def list(self) -> list[TokenInfo]:
        with self.sessions.begin() as session:
            return [_info(row) for row in session.execute(select(ApiToken).order_by(ApiToken.created_at, ApiToken.name)).scalars()]

    def revoke(self, name_or_id: str) -> TokenInfo:
        """Revoke a token by its name or id; revoking twice is harmless."""
        with self.sessions.begin() as session:
            row = session.execute(
                select(ApiToken).where((ApiToken.name == name_or_id) | (ApiToken.id == name_or_id))
            ).scalar_one_or_none()
            if row is None:
                raise TokenError(f"no token named '{name_or_id}'")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            return _info(row)

    def authenticate(self, token: str) -> TokenInfo | None:
        """The active token this is, or None (unknown, wrong, revoked or expired: the caller cannot tell which)."""
        token_id = crypto.api_token_id(token)
        if token_id is None:
            return None
        with self.sessions.begin() as session:
            row = session.get(ApiToken, token_id)
            stored = row.token_hash if row is not None else "0" * 64
            # Hash and compare even for an unknown id, so the answer takes the same time.
            matches = crypto.constant_time_equal(crypto.api_token_hash(self.secrets, token), stored)
            if row is None or not matches:
                return None
            info = _info(row)
        return info if info.state(utcnow()) == "active" else None
