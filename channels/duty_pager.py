"""The pager: sends pages to the person on duty, escalates along the roster, in the always-running process.

It runs in the maintenance process beside `grievance serve` (`grievance forward --loop`), on a
thread of its own (every `server.forward_interval_seconds`, at most every second), because the
intake server is the part that is sure to be up at 3 a.m.; a desk on an office computer may not be. Each round claims the open
pages whose time has come (storage/duty.py) and:

- sends a page due now to every way the person at its step has (SMS or WhatsApp through the
  hotline's Twilio account, a Telegram chat through the hotline's bot, e-mail through
  `duty.smtp`), then waits `duty.escalate_after_minutes` for an acknowledgement from the desk;
- when nobody acknowledged in time, pages the next person on the roster (after the last: again
  from the first, `duty.rounds` times through it in all, or stops, as `duty.after_last` says);
- when no way reached the person (a provider down), tries again `duty.send_attempts` times,
  `duty.retry_seconds` apart, then pages the next person at once.

Every send, failure, escalation and the end is an event for the desk's audit log; the server log
says what happened with the page reference, the roster position and the kind of error, never an
address or a text. A page's text is only "an urgent case is waiting, open the desk" and the
reference (channels/duty_texts.py).
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

import requests
from sqlalchemy.orm import Session, sessionmaker
from twilio.base.exceptions import TwilioException, TwilioRestException

from bot.config import ConfigError, Duty, DutyPerson, DutySmtp, Settings, parse_roster
from storage.duty import ClaimedPage, PageStore, exact_now, shown_ref
from storage.keys import read_secret

from .base import SendError
from .duty_texts import page_text
from .twilio_inbound import WHATSAPP_PREFIX
from .twilio_outbound import send_error_for

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 3600


class PageSender(Protocol):
    """One way of reaching a person: sends `text` to `address`, or raises `SendError` (no address in it)."""

    def send(self, address: str, text: str, ref: str, language: str) -> None: ...


# ---------------------------------------------------------------- the ways


class TwilioPages:
    """SMS or WhatsApp from the hotline's own Twilio number (the client of the Twilio channel)."""

    def __init__(self, client, from_: str, *, whatsapp: bool, template_sid: str | None = None) -> None:
        self.client, self.whatsapp, self.template_sid = client, whatsapp, template_sid
        self.from_ = (from_ if from_.startswith(WHATSAPP_PREFIX) else WHATSAPP_PREFIX + from_) if whatsapp else from_

    def send(self, address: str, text: str, ref: str, language: str) -> None:
        fields: dict = {"to": WHATSAPP_PREFIX + address if self.whatsapp else address, "from_": self.from_}
        if self.whatsapp and self.template_sid:  # outside WhatsApp's 24-hour window only a template goes
            fields.update(content_sid=self.template_sid, content_variables=json.dumps({"1": ref}))
        else:
            fields["body"] = text
        try:
            self.client.messages.create(**fields)
        except TwilioRestException as error:
            raise send_error_for(int(error.status or 0), error.code if isinstance(error.code, int) else None) from None
        except requests.Timeout:
            raise SendError("twilio timeout", retryable=True) from None
        except requests.RequestException as error:
            raise SendError(f"twilio network error {type(error).__name__}", retryable=True) from None
        except TwilioException as error:
            raise SendError(f"twilio client error {type(error).__name__}", retryable=True) from None


class TelegramPages:
    """A message from the hotline's bot to the person's (or the team's) chat."""

    def __init__(self, api) -> None:
        self.api = api  # channels.telegram_api.TelegramApi of the Telegram channel

    def send(self, address: str, text: str, ref: str, language: str) -> None:
        from .telegram_api import TelegramCallError

        try:
            self.api.send_message(int(address), text, None)
        except TelegramCallError as error:
            raise SendError(f"telegram {error.kind}", retryable=error.retryable) from None


class SmtpPages:
    """E-mail through the deployment's mail server, over TLS unless it is a relay on this machine."""

    def __init__(self, smtp: DutySmtp, password: str | None, ca_file: str | None) -> None:
        self.smtp, self.password, self.ca_file = smtp, password, ca_file

    def send(self, address: str, text: str, ref: str, language: str) -> None:
        message = EmailMessage()
        message["From"] = self.smtp.from_address
        message["To"] = address
        message["Subject"] = text
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.smtp.from_address.rsplit("@", 1)[1])
        message["Content-Language"] = language
        message.set_content(text + "\n")
        try:
            with self._connect() as server:
                if self.smtp.username and self.password is not None:
                    server.login(self.smtp.username, self.password)
                server.send_message(message)
        except smtplib.SMTPAuthenticationError:
            raise SendError("smtp authentication refused", retryable=False) from None
        except smtplib.SMTPRecipientsRefused:
            raise SendError("smtp recipient refused", retryable=False) from None
        except smtplib.SMTPResponseException as error:  # 4xx: try later; 5xx: it will not work
            raise SendError(f"smtp {error.smtp_code}", retryable=400 <= error.smtp_code < 500) from None
        except (smtplib.SMTPException, OSError) as error:  # refused, timed out, TLS failed, disconnected
            raise SendError(f"smtp {type(error).__name__}", retryable=True) from None

    def _connect(self) -> smtplib.SMTP:
        smtp = self.smtp
        context = ssl.create_default_context(cafile=self.ca_file)
        if smtp.security == "ssl":
            return smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout_seconds, context=context)
        server = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
        try:
            if smtp.security == "starttls":
                server.starttls(context=context)
        except BaseException:
            server.close()
            raise
        return server


# ---------------------------------------------------------------- the roster


class Roster:
    """The roster from `duty.roster`, read again when its file changes (a new week's order needs no
    restart); a file that became unreadable or invalid keeps the last good roster, and says so."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.source = settings.duty.roster
        self._stamp = self._file_stamp()
        self.people = parse_roster(read_secret(settings, self.source, "duty.roster"))  # at start: a problem stops it

    def _file_stamp(self) -> tuple[float, int] | None:
        if not self.source.file:
            return None
        try:
            info = os.stat(self.settings.path(self.source.file))
        except OSError:
            return None
        return info.st_mtime, info.st_size

    def current(self) -> tuple[DutyPerson, ...]:
        stamp = self._file_stamp()
        if stamp is not None and stamp != self._stamp:
            self._stamp = stamp
            try:
                self.people = parse_roster(read_secret(self.settings, self.source, "duty.roster"))
                log.warning("duty roster read again", extra={"count": len(self.people)})
            except ConfigError as error:
                log.error("duty roster changed but cannot be used; the previous one stays: %s", str(error))
        return self.people


def check_ways(people: tuple[DutyPerson, ...], senders: dict[str, PageSender]) -> None:
    """Every way the roster uses has a sender, else one line naming the entry and what it needs."""
    needs = {"sms": "channels.twilio enabled with sms_from", "whatsapp": "channels.twilio enabled with whatsapp_from",
             "telegram": "channels.telegram enabled (the hotline's bot sends it)", "email": "duty.smtp"}
    for index, person in enumerate(people):
        for way, _address in person.ways():
            if way not in senders:
                raise ConfigError(f"config error: duty.roster: [{index}.{way}]: paging by {way} needs {needs[way]}")


def build_senders(settings: Settings, adapters: dict) -> dict[str, PageSender]:
    """The ways this deployment can page by, from the channels it runs and `duty.smtp`."""
    senders: dict[str, PageSender] = {}
    twilio = adapters.get("twilio")
    if twilio is not None:
        client = twilio.sender.client
        if settings.channels.twilio.sms_from:
            senders["sms"] = TwilioPages(client, settings.channels.twilio.sms_from, whatsapp=False)
        if settings.channels.twilio.whatsapp_from:
            senders["whatsapp"] = TwilioPages(client, settings.channels.twilio.whatsapp_from, whatsapp=True,
                                              template_sid=settings.duty.whatsapp_template_sid)
    telegram = adapters.get("telegram")
    if telegram is not None:
        senders["telegram"] = TelegramPages(telegram.api)
    smtp = settings.duty.smtp
    if smtp is not None:
        password = read_secret(settings, smtp.password, "duty.smtp.password").strip() if smtp.password else None
        senders["email"] = SmtpPages(smtp, password, str(settings.path(smtp.ca_file)) if smtp.ca_file else None)
    return senders


# ---------------------------------------------------------------- the pager


@dataclass(frozen=True)
class PagerResult:
    sent: int = 0
    retried: int = 0
    escalated: int = 0
    ended: int = 0


class Pager:
    """Sends and escalates the open pages whose time has come; one `run_once` per maintenance round."""

    def __init__(self, sessions: sessionmaker[Session], duty: Duty, roster: Roster | Callable[[], tuple[DutyPerson, ...]],
                 senders: dict[str, PageSender]) -> None:
        self.sessions, self.duty, self.senders = sessions, duty, senders
        self.roster = roster.current if isinstance(roster, Roster) else roster
        self._last_purge = float("-inf")

    def run_once(self, now: datetime | None = None) -> PagerResult:
        """Act on every page due at `now` (the exact time; tests pass theirs). Never raises for one page."""
        now = now or exact_now()
        with self.sessions.begin() as session:
            claimed = PageStore(session).claim_due(now)
        totals = [0, 0, 0, 0]
        for page in claimed:
            try:
                for index, count in enumerate(self._act(page, now)):
                    totals[index] += count
            except Exception as error:  # one page's trouble must not stop the others, nor the loop
                log.error("duty page %s: pager failed, will try again", page.ref, extra={"reason": type(error).__name__})
        if time.monotonic() - self._last_purge >= PURGE_EVERY_SECONDS:
            self._last_purge = time.monotonic()
            with self.sessions.begin() as session:
                erased = PageStore(session).purge(now - timedelta(days=self.duty.keep_days))
            if erased:
                log.info("ended duty pages erased", extra={"count": erased})
        return PagerResult(*totals)

    def run_in_background(self, stop: threading.Event, every_seconds: float) -> threading.Thread:
        """Run `run_once` every `every_seconds` on a thread of its own until `stop` is set, so a page
        never waits behind a slow round of the rest of the maintenance loop (a sink timing out case
        after case). A database that is down only delays it: the error's type is logged, and it goes on."""

        def loop() -> None:
            while not stop.is_set():
                try:
                    self.run_once()
                except Exception as error:
                    log.error("duty pager: round failed, will try again", extra={"reason": type(error).__name__})
                stop.wait(every_seconds)

        thread = threading.Thread(target=loop, name="duty-pager", daemon=True)
        thread.start()
        return thread

    def _act(self, page: ClaimedPage, now: datetime) -> tuple[int, int, int, int]:
        people = self.roster()
        if page.phase == "wait":  # sent, and nobody acknowledged in time
            return self._escalate(page, people, now, "no_acknowledgement")
        return self._send(page, people, now)

    def _send(self, page: ClaimedPage, people: tuple[DutyPerson, ...], now: datetime) -> tuple[int, int, int, int]:
        position = page.step % len(people)
        person = people[position]
        text = page_text(person.language, shown_ref(page.ref), self.duty.texts, test=page.reason == "test")
        outcomes: list[tuple[str, SendError | None]] = []
        for way, address in person.ways():
            try:
                self.senders[way].send(address, text, shown_ref(page.ref), person.language)
                outcomes.append((way, None))
            except SendError as error:
                outcomes.append((way, error))
            except Exception as error:  # a sender's bug: counted as a failure that may pass, never its text
                outcomes.append((way, SendError(f"{way} {type(error).__name__}", retryable=True)))
        reached = [way for way, error in outcomes if error is None]
        retryable = any(error is not None and error.retryable for _way, error in outcomes)
        with self.sessions.begin() as session:
            store = PageStore(session)
            for way, error in outcomes:
                store.event(page, "sent" if error is None else "failed", person=person.name, way=way,
                            detail=None if error is None else str(error))
            if reached:
                if page.reason == "test":
                    store.end(page.ref, "sent")
                else:
                    store.sent(page.ref, page.step, now + timedelta(minutes=self.duty.escalate_after_minutes))
                log.warning("duty page %s sent to roster position %d (%s)", page.ref, position + 1, ",".join(reached),
                            extra={"attempts": page.attempts + 1})
                return 1, 0, 0, 0
            if retryable and page.attempts + 1 < self.duty.send_attempts:
                store.retry(page.ref, page.step, page.attempts + 1, now + timedelta(seconds=self.duty.retry_seconds))
                store.event(page, "retrying", person=person.name, detail=f"attempt {page.attempts + 2} of {self.duty.send_attempts}")
                log.error("duty page %s could not be sent to roster position %d; will retry", page.ref, position + 1,
                          extra={"attempts": page.attempts + 1, "reason": _kinds(outcomes)})
                return 0, 1, 0, 0
            log.error("duty page %s could not be sent to roster position %d; paging the next person", page.ref, position + 1,
                      extra={"attempts": page.attempts + 1, "reason": _kinds(outcomes)})
            if page.reason == "test":
                store.end(page.ref, "failed")
                return 0, 0, 0, 1
        return self._escalate(page, people, now, "not_delivered")

    def _escalate(self, page: ClaimedPage, people: tuple[DutyPerson, ...], now: datetime, why: str) -> tuple[int, int, int, int]:
        limit = len(people) * (self.duty.rounds if self.duty.after_last == "repeat" else 1)
        following = page.step + 1
        with self.sessions.begin() as session:
            store = PageStore(session)
            if following >= limit:
                if store.end(page.ref, "unanswered"):
                    store.event(page, "unanswered", detail=why)
                    log.error("duty page %s UNANSWERED: nobody on the roster acknowledged it; open the desk", page.ref,
                              extra={"reason": why})
                return 0, 0, 0, 1
            if not store.move_to(page.ref, following, now):
                return 0, 0, 0, 0  # acknowledged meanwhile
            person = people[following % len(people)]
            store.event(page, "escalated", person=person.name, detail=why)
        log.warning("duty page %s escalated to roster position %d", page.ref, following % len(people) + 1, extra={"reason": why})
        sent = self._send(ClaimedPage(page.ref, page.case_id, page.reason, following, "send", 0), people, now)
        return sent[0], sent[1], sent[2] + 1, sent[3]


def _kinds(outcomes: list[tuple[str, SendError | None]]) -> str:
    return ",".join(f"{way}:{error}" for way, error in outcomes if error is not None)[:120]


def build_pager(settings: Settings, sessions: sessionmaker[Session], adapters: dict) -> Pager | None:
    """The pager of this deployment, or None when `duty.enabled` is off. A roster that cannot be read,
    or that names a way this deployment cannot page by, stops start-up with one line."""
    if not settings.duty.enabled:
        return None
    roster = Roster(settings)
    senders = build_senders(settings, adapters)
    check_ways(roster.people, senders)
    return Pager(sessions, settings.duty, roster, senders)
