"""Recovery codes: one-time codes that stand in for the authenticator app when the phone is lost.

Ten are made when the second step is set up (and again on request, which voids the old ones); they
are shown once and kept only as Argon2id hashes, as passwords are (desk/store.py). Each signs in
once instead of a TOTP code: the sign-in counts it like a code (desk/signin.py) and audits its use.
A code is 10 letters and digits without look-alikes (about 49 bits), shown as `xxxxx-xxxxx`;
spaces, hyphens and capitals are ignored when it is typed.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Column, Integer, MetaData, String, Table, and_, delete, func, insert, select, update

from desk.operator_store import serialize
from desk.store import DeskStore, stamp

COUNT = 10
LENGTH = 10
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no i, l, o, 0, 1: read off paper without doubt

_metadata = MetaData()
desk_recovery_codes = Table(
    "desk_recovery_codes", _metadata,
    Column("username", String(64), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("code_hash", String(200), nullable=False),  # Argon2id of the code; the code itself is never kept
    Column("used_at", String(20), nullable=True),
)


def normalise(typed: str) -> str:
    """The code as typed, without spaces, hyphens or capitals."""
    return "".join(char for char in typed.lower() if char not in " -\t")


class RecoveryCodes:
    """The recovery codes of the accounts of one desk store."""

    def __init__(self, store: DeskStore) -> None:
        self.engine = store.engine
        self.hasher = PasswordHasher()  # Argon2id with the library's current parameters, as for passwords
        with self.engine.begin() as connection:
            serialize(connection, "schema")
            _metadata.create_all(connection)

    def replace(self, username: str) -> list[str]:
        """New codes for `username` (the old ones no longer work): returned once, to be shown, and kept as hashes."""
        codes = ["".join(secrets.choice(ALPHABET) for _ in range(LENGTH)) for _ in range(COUNT)]
        rows = [{"username": username, "number": number, "code_hash": self.hasher.hash(code), "used_at": None}
                for number, code in enumerate(codes)]
        with self.engine.begin() as connection:
            connection.execute(delete(desk_recovery_codes).where(desk_recovery_codes.c.username == username))
            connection.execute(insert(desk_recovery_codes), rows)
        return [f"{code[:5]}-{code[5:]}" for code in codes]

    def use(self, username: str, typed: str, now: datetime) -> int | None:
        """Spend the code `typed` if it is one of `username`'s unused codes: how many are left; None if it is not."""
        code = normalise(typed)
        if len(code) != LENGTH or any(char not in ALPHABET for char in code):
            return None
        table = desk_recovery_codes.c
        with self.engine.connect() as connection:
            unused = connection.execute(select(table.number, table.code_hash).where(
                table.username == username, table.used_at.is_(None))).all()
        for number, code_hash in unused:
            try:
                self.hasher.verify(code_hash, code)
            except (VerificationError, InvalidHashError):
                continue
            with self.engine.begin() as connection:  # once only, even for two sign-ins at the same moment
                spent = connection.execute(update(desk_recovery_codes).where(
                    table.username == username, table.number == number, table.used_at.is_(None)).values(used_at=stamp(now))).rowcount
            return self.left(username) if spent == 1 else None
        return None

    def left(self, username: str) -> int:
        table = desk_recovery_codes.c
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(desk_recovery_codes).where(
                and_(table.username == username, table.used_at.is_(None)))).scalar_one()
