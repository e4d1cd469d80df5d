"""Referrals to the company concerned (operator's machine only): how long the company has to answer,
how the referral reaches it, and the mail server it goes through.

Where each company is reached (its webhook, its e-mail address) is data in the desk, per
company (`grievance desk company contact`); what is here is the same for every company. The
SMTP password, like every secret, comes from a file or the environment, never from this file.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import Frozen, SecretSource


class ReferralWebhook(Frozen):
    """POSTs of a sealed referral to a company's HTTPS endpoint, signed with the company's own secret."""

    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10
    ca_file: str | None = None  # trust this CA (PEM) instead of the system's, e.g. a company's private CA


class ReferralEmail(Frozen):
    """The mail server referrals are sent through: STARTTLS (port 587) or TLS from the start (465), never plain."""

    host: Annotated[str, Field(min_length=1, max_length=253)]
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    security: Literal["starttls", "tls"] = "starttls"
    username: str | None = None
    password: SecretSource | None = None  # {env: ...} or {file: ...}; required with a username
    from_address: Annotated[str, Field(pattern=r"^[^@\s<>]+@[^@\s<>]+$")]
    ca_file: str | None = None  # trust this CA (PEM) instead of the system's
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 20

    @model_validator(mode="after")
    def _password_with_username(self) -> ReferralEmail:
        if (self.username is None) != (self.password is None):
            raise ValueError("give username and password together (password as {env: ...} or {file: ...}), or neither")
        return self


class Referral(Frozen):
    """`referral`: the company's time to answer, and the delivery of referrals."""

    response_days: Annotated[int, Field(ge=1, le=365)] = 45  # the FLA gives a brand 45 days for a remediation plan
    # How the company answers the mechanism (an address, a portal), written into every referral.
    reply_to: Annotated[str, Field(max_length=200)] = ""
    # Tries of one delivery (webhook or e-mail) before it is marked failed; waits grow from a minute to 12 hours.
    delivery_attempts: Annotated[int, Field(ge=1, le=20)] = 6
    webhook: ReferralWebhook = ReferralWebhook()
    email: ReferralEmail | None = None  # None: no e-mail delivery
