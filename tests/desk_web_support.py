"""The desk's web console under test: a store of real cases, accounts of each role, a clock the test moves.

Cases are confirmed through the real intake (tests/dialogue_support.py) and pulled with
the operator's key, so the desk shows what a mechanism would really receive. The test
client talks HTTPS to the app (the session cookie is `__Host-`, Secure); `sign_in` goes
through the real forms, with the CSRF token taken from the page and a TOTP code made
from the account's own secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pyotp

from desk.audit import heads_file_of
from desk.store import DeskStore
from desk.web import create_desk_app
from desk.web.context import DeskContext
from storage.keys import intake_signing_public_keys, load_operator_identity
from desk.operator_store import OperatorStore, store_location
from storage.outbox import forward_outbox
from desk.pull import pull_cases

PASSWORDS = {"ada": "admin-passphrase-0001", "cai": "caseworker-pass-0002", "ana": "analyst-passphrase-03"}
ROLES = {"ada": "admin", "cai": "caseworker", "ana": "analyst"}
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 20, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has a CSRF token"
    return found.group(1) or found.group(2)


class Desk:
    """A desk over the operator store of `services`' deployment."""

    def __init__(self, services, clock: Clock, operator_client=None) -> None:
        settings = services.settings
        self.services, self.settings, self.clock = services, settings, clock
        self.identity = load_operator_identity(settings.path(settings.operator.identity_file))
        self.cases_store = OperatorStore(store_location(settings), self.identity)
        self.store = DeskStore(self.cases_store, heads_file_of(settings))
        self.context = DeskContext(settings, self.cases_store, self.store, self.identity, clock=clock,
                                   pull=self.pull_from_intake, operator_client=operator_client)
        self.app = create_desk_app(self.context)
        self.secrets: dict[str, str] = {}

    def pull_from_intake(self) -> int:
        forward_outbox(self.services.sessions, self.services.sink, max_attempts=3)
        return pull_cases(self.services.sink, self.cases_store, self.identity,
                          signing_keys=intake_signing_public_keys(self.settings)).pulled

    def add_accounts(self) -> None:
        for name, role in ROLES.items():
            self.store.add_user(name, PASSWORDS[name], role)
            if role == "admin":
                self.secrets[name] = pyotp.random_base32()
                self.store.enroll_totp(name, self.secrets[name])

    def client(self):
        client = self.app.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"  # the desk sits behind TLS: its cookie is Secure
        return client

    def code(self, name: str, step_offset: int = 0) -> str:
        return pyotp.TOTP(self.secrets[name]).at(self.clock().timestamp() + 30 * step_offset)

    def sign_in(self, client, name: str):
        """The real forms: password, then the code when the account has a second step. The last response."""
        page = client.get("/login")
        response = client.post("/login", data={"username": name, "password": PASSWORDS[name], "csrf_token": csrf_of(page.text)})
        if response.status_code == 302 and response.location.endswith("/login/code"):
            page = client.get("/login/code")
            response = client.post("/login/code", data={"code": self.code(name), "csrf_token": csrf_of(page.text)})
        return response

    def close(self) -> None:
        self.store.close()  # a head of the lines written goes to the heads file, then the store is closed
