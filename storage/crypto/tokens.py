"""Operator API tokens: made here, kept by the server only as a keyed hash (storage/api_tokens.py)."""

from __future__ import annotations

import hashlib
import hmac
import os

from .server_keys import ServerSecrets, subkey

API_TOKEN_PREFIX = "grv"  # noqa: S105  the public prefix of every API token, not a secret
_API_TOKEN_SECRET_BYTES = 32


def new_api_token() -> tuple[str, str]:
    """A fresh operator API token: (token id, full token). The id is not secret; it finds the row."""
    # The stdlib module is imported here under another name: `secrets` is a parameter all over this module.
    import secrets as stdlib_secrets

    token_id = os.urandom(6).hex()
    return token_id, f"{API_TOKEN_PREFIX}_{token_id}_{stdlib_secrets.token_urlsafe(_API_TOKEN_SECRET_BYTES)}"


def api_token_id(token: str) -> str | None:
    """The id part of a token as the operator sends it, or None when it has not the token's shape."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != API_TOKEN_PREFIX or len(parts[1]) != 12 or len(parts[2]) < 43:
        return None
    try:
        int(parts[1], 16)
    except ValueError:
        return None
    return parts[1]


def api_token_hash(secrets: ServerSecrets, token: str) -> str:
    """Keyed hash of an operator API token: what the server stores instead of the token."""
    return hmac.new(subkey(secrets, "api-token"), token.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
