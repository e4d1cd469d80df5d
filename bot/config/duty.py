"""The duty roster: who is paged when an urgent alert arrives, how, and when the next person is.

The policy (minutes before escalating, what happens after the last person, the texts, the mail
server) is in `config.yaml`. The people and their addresses are staff's personal data: they never
are. `duty.roster` names a file (mode 0600) or an environment variable, like a secret, holding
the ordered list of `DutyPerson`s (YAML or JSON); `load_roster` reads and checks it.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import yaml
from pydantic import Field, TypeAdapter, ValidationError, field_validator, model_validator

from .base import ConfigError, Frozen, SecretSource

DUTY_WAYS = ("sms", "whatsapp", "telegram", "email")
_E164 = r"^\+[1-9]\d{6,14}$"
_EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")


class DutyPerson(Frozen):
    """One person on the roster: a name the team knows (shown in the desk's audit log, never an
    address), their language for the page, and at least one way to reach them. A page goes to
    every way the person has, at once: an SMS that does not arrive may be an e-mail that does."""

    name: Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[^\x00-\x1f\x7f]+$")]
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}$")] = "en"
    sms: Annotated[str, Field(pattern=_E164)] | None = None  # through the hotline's Twilio number
    whatsapp: Annotated[str, Field(pattern=_E164)] | None = None  # through the hotline's Twilio WhatsApp sender
    telegram: int | None = None  # a chat id with the hotline's bot (a person, or the team's group: negative)
    email: str | None = None  # through duty.smtp

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError("not an e-mail address")
        return value

    @model_validator(mode="after")
    def _reachable(self) -> DutyPerson:
        if not self.ways():
            raise ValueError(f"no way to reach them: give at least one of {', '.join(DUTY_WAYS)}")
        return self

    def ways(self) -> list[tuple[str, str]]:
        """(way, address) for every way this person has, in a fixed order."""
        return [(way, str(getattr(self, way))) for way in DUTY_WAYS if getattr(self, way) is not None]


class DutySmtp(Frozen):
    """The mail server pages by e-mail go through (the NGO's own, or its provider's)."""

    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    # starttls (port 587) or ssl (port 465); none only to a mail relay on this machine.
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: SecretSource | None = None
    from_address: str
    ca_file: str | None = None  # PEM of a private CA to trust instead of the system's
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 15.0

    @field_validator("from_address")
    @classmethod
    def _from(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError("not an e-mail address")
        return value

    @model_validator(mode="after")
    def _plain_only_here(self) -> DutySmtp:
        if self.security == "none" and self.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("security none (no TLS) is allowed only to a mail relay on this machine (127.0.0.1)")
        if (self.username is None) != (self.password is None):
            raise ValueError("give both username and password, or neither")
        return self


class Duty(Frozen):
    """Paging the person on duty (storage/duty.py, channels/duty_pager.py)."""

    enabled: bool = False
    # The ordered roster (a file, mode 0600, or an environment variable): see `DutyPerson`.
    roster: SecretSource = SecretSource(file="var/keys/duty-roster.yaml")
    # Nobody acknowledged in the desk within this many minutes: the next person is paged.
    escalate_after_minutes: Annotated[float, Field(gt=0, le=24 * 60)] = 10
    # After the last person: start again from the first (`repeat`, at most `rounds` times through
    # the roster in all), or `stop` (the page is left unanswered, and the server log says so).
    after_last: Literal["repeat", "stop"] = "repeat"
    rounds: Annotated[int, Field(ge=1, le=20)] = 3
    # A page a provider refused for now is tried again this many times (30 s apart), then the next
    # person is paged at once: a page nobody could receive waits for no one.
    send_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    retry_seconds: Annotated[float, Field(gt=0, le=600)] = 30
    # Pages and their events (no content, no address) are erased this many days after the page ended.
    keep_days: Annotated[float, Field(ge=1, le=365)] = 30
    # ContentSid (HX...) of an approved WhatsApp template with one variable, the reference
    # ("Urgent case waiting at the hotline. Open the desk. Ref {{1}}"): WhatsApp allows free text
    # only within 24 hours of the person's own last message to the hotline.
    whatsapp_template_sid: str | None = None
    # Page texts by language, replacing the built-in ones (storage/duty_texts.py); `{ref}` is the reference.
    texts: dict[Annotated[str, Field(pattern=r"^[a-z]{2,3}$")], Annotated[str, Field(min_length=10, max_length=300)]] = {}
    smtp: DutySmtp | None = None

    @field_validator("texts")
    @classmethod
    def _texts_name_the_reference(cls, value: dict[str, str]) -> dict[str, str]:
        for language, text in value.items():
            if "{ref}" not in text or re.search(r"\{(?!ref\})", text):
                raise ValueError(f"{language}: a page text holds {{ref}} (the reference) and no other {{...}}")
        return value


_PEOPLE = TypeAdapter(tuple[DutyPerson, ...])


def parse_roster(text: str) -> tuple[DutyPerson, ...]:
    """The roster from its YAML or JSON text; `ConfigError` naming the entry and field, never a value."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError("config error: duty.roster: not valid YAML or JSON") from None
    if isinstance(data, dict) and "people" in data:
        data = data["people"]
    if not isinstance(data, list) or not data:
        raise ConfigError("config error: duty.roster: expected a list of people (name, language, sms/whatsapp/telegram/email)")
    try:
        people = _PEOPLE.validate_python(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        # The message only: pydantic's own text would repeat the value (an address).
        raise ConfigError(f"config error: duty.roster: [{where}]: {first['msg'].removeprefix('Value error, ')}") from None
    names = [person.name for person in people]
    if len(set(names)) != len(names):
        raise ConfigError("config error: duty.roster: two people have the same name")
    return people
