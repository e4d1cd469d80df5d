"""What the desk keeps about a referral after it is sealed: the company's time to answer, the deliveries,
whether the worker was told, and the company's answers.

The tables live beside the desk's own (desk/store.py) in the operator store, and like them
never hold a worker's words in the clear. A company's answer may name the workplace, people
and events, so its text and the files it came with are encrypted under the operator store's
key, like internal notes. Where a company is reached (its webhook URL, its e-mail address) is
kept in the clear: it is the company's, not the worker's; the webhook's secret never is, only
where to read it (an environment variable or a 0600 file), as config does for every secret.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Boolean, Column, Integer, LargeBinary, MetaData, String, Table, delete, insert, select, update

from storage import crypto

from .operator_store import serialize
from .store import DeskError, DeskStore, desk_companies, desk_referrals, stamp

ROUTES = ("webhook", "email")
# A delivery is pending (tried again at next_attempt_at), delivered, or failed (a person decides: "Try again").
DELIVERY_STATES = ("pending", "delivered", "failed")
# Waits before the 2nd, 3rd... try of a delivery, in minutes; the last one repeats.
BACKOFF_MINUTES = (1, 5, 30, 120, 720)
# What the desk learnt from the intake server about telling the worker (`why` of the operator API, or pending).
WORKER_TOLD = ("pending", "sent_to_channel", "kept_for_status", "already_told")
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
_SECRET_SOURCE = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:\S+)$")

_metadata = MetaData()
desk_company_contacts = Table(
    "desk_company_contacts", _metadata,
    Column("company_id", String(32), primary_key=True),
    Column("webhook_url", String(500), nullable=True),
    Column("webhook_secret", String(300), nullable=True),  # where the secret is ("env:NAME", "file:PATH"), never the secret
    Column("email", String(254), nullable=True),
)
desk_referral_terms = Table(
    "desk_referral_terms", _metadata,
    Column("referral_id", String(32), primary_key=True),
    Column("respond_by", String(10), nullable=False),  # the day written in the referral the company got
    Column("worker_told", String(20), nullable=False),  # one of WORKER_TOLD
    Column("worker_told_why", String(30), nullable=True),  # the operator API's `why`, or what failed
    Column("worker_told_at", String(20), nullable=True),
)
desk_referral_deliveries = Table(
    "desk_referral_deliveries", _metadata,
    Column("delivery_id", String(32), primary_key=True),
    Column("referral_id", String(32), nullable=False, index=True),
    Column("route", String(10), nullable=False),
    Column("target", String(500), nullable=False),  # the URL or address it went to, as it was then
    Column("state", String(12), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", String(20), nullable=True),
    Column("last_attempt_at", String(20), nullable=True),
    Column("last_error", String(80), nullable=True),  # the kind of failure (http_503, timeout, smtp_535), never content
    Column("delivered_at", String(20), nullable=True),
)
desk_company_answers = Table(
    "desk_company_answers", _metadata,
    Column("answer_id", String(32), primary_key=True),
    Column("referral_id", String(32), nullable=False, index=True),
    Column("received_on", String(10), nullable=False),
    Column("remediation_promised", Boolean, nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", String(20), nullable=False),
    Column("body", LargeBinary, nullable=False),  # encrypted
)
desk_company_answer_files = Table(
    "desk_company_answer_files", _metadata,
    Column("file_id", String(32), primary_key=True),
    Column("answer_id", String(32), nullable=False, index=True),
    Column("size", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),  # encrypted: its name and type, then its bytes
)


@dataclass(frozen=True)
class CompanyContact:
    """Where a company gets its referrals, besides the download."""

    webhook_url: str | None = None
    webhook_secret: str | None = None  # "env:NAME" or "file:PATH"
    email: str | None = None

    def routes(self) -> list[tuple[str, str]]:
        """(route, target) of each delivery this company gets."""
        found = []
        if self.webhook_url:
            found.append(("webhook", self.webhook_url))
        if self.email:
            found.append(("email", self.email))
        return found


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    referral_id: str
    route: str
    target: str
    state: str
    attempts: int
    next_attempt_at: str | None
    last_attempt_at: str | None
    last_error: str | None
    delivered_at: str | None


@dataclass(frozen=True)
class AnswerFile:
    file_id: str
    name: str
    content_type: str
    size: int


@dataclass(frozen=True)
class CompanyAnswer:
    answer_id: str
    received_on: str
    remediation_promised: bool
    recorded_by: str
    recorded_at: str
    text: str
    files: list[AnswerFile] = field(default_factory=list)


@dataclass(frozen=True)
class ReferralView:
    """A referral as the desk follows it up."""

    referral_id: str
    case_id: str
    company_id: str
    company: str
    referred_by: str
    referred_at: str
    respond_by: str
    worker_told: str
    worker_told_why: str | None
    first_answer_on: str | None  # the day the first answer was received, None while none is recorded
    answers: int

    @property
    def referred_on(self) -> str:
        return self.referred_at[:10]

    def overdue(self, today: date) -> bool:
        """No answer recorded, and the day the company was asked to answer by has passed."""
        return self.first_answer_on is None and date.fromisoformat(self.respond_by) < today

    def state(self, today: date) -> str:
        return "answered" if self.first_answer_on else ("overdue" if self.overdue(today) else "waiting")


def _check_contact(contact: CompanyContact) -> None:
    if contact.webhook_url:
        if not re.match(r"^https://[^/\s@]+(/\S*)?$", contact.webhook_url) or len(contact.webhook_url) > 500:
            raise DeskError("a company webhook is an https:// URL")
        if not contact.webhook_secret or not _SECRET_SOURCE.match(contact.webhook_secret):
            raise DeskError("a company webhook needs its secret: env:VARIABLE or file:PATH (never the secret itself)")
    elif contact.webhook_secret:
        raise DeskError("a webhook secret without a webhook URL")
    if contact.email and (not _EMAIL.match(contact.email) or len(contact.email) > 254):
        raise DeskError("not an e-mail address")


def _pack_file(name: str, content_type: str, data: bytes) -> bytes:
    header = json.dumps({"name": name, "type": content_type}, ensure_ascii=False).encode()
    return header + b"\n" + data


def _unpack_file(content: bytes) -> tuple[str, str, bytes]:
    header, _, data = content.partition(b"\n")
    meta = json.loads(header)
    return meta["name"], meta["type"], data


class ReferralStore:
    """The follow-up of referrals, in the operator store, opened with its key."""

    def __init__(self, desk: DeskStore, response_days: int = 45) -> None:
        self.desk = desk
        self.engine = desk.engine
        self.key = desk.key
        self.response_days = response_days
        with self.engine.begin() as connection:
            serialize(connection, "schema")
            _metadata.create_all(connection)

    # ------------------------------------------------------------ companies

    def company(self, company_id: str) -> tuple[str, str, str] | None:
        """(id, name, age public key) of a company of the directory, or None."""
        with self.engine.connect() as connection:
            row = connection.execute(select(desk_companies.c.company_id, desk_companies.c.name, desk_companies.c.recipient)
                                     .where(desk_companies.c.company_id == company_id)).first()
        return None if row is None else tuple(row)

    def company_named(self, name: str) -> tuple[str, str, str] | None:
        wanted = " ".join(name.split())
        found = [company for company in self.desk.companies() if company[1] == wanted]
        return found[0] if found else None

    def set_contact(self, company_id: str, contact: CompanyContact) -> None:
        _check_contact(contact)
        with self.engine.begin() as connection:
            connection.execute(delete(desk_company_contacts).where(desk_company_contacts.c.company_id == company_id))
            connection.execute(insert(desk_company_contacts).values(
                company_id=company_id, webhook_url=contact.webhook_url or None, webhook_secret=contact.webhook_secret or None,
                email=contact.email or None))

    def contact(self, company_id: str) -> CompanyContact:
        with self.engine.connect() as connection:
            row = connection.execute(select(desk_company_contacts).where(desk_company_contacts.c.company_id == company_id)).mappings().first()
        return CompanyContact() if row is None else CompanyContact(row["webhook_url"], row["webhook_secret"], row["email"])

    # ------------------------------------------------------------ referrals

    def open_terms(self, referral_id: str, respond_by: date) -> None:
        """The day the company was asked to answer by; the worker not told yet."""
        with self.engine.begin() as connection:
            connection.execute(insert(desk_referral_terms).values(referral_id=referral_id, respond_by=respond_by.isoformat(),
                                                                  worker_told="pending"))

    def referrals(self, case_id: str | None = None, referral_id: str | None = None) -> list[ReferralView]:
        """Referrals oldest first (of one case, or one referral), with what is known of their follow-up."""
        r, t = desk_referrals.c, desk_referral_terms.c
        query = (select(r.referral_id, r.case_id, r.company_id, desk_companies.c.name, r.referred_by, r.referred_at,
                        t.respond_by, t.worker_told, t.worker_told_why)
                 .join(desk_companies, desk_companies.c.company_id == r.company_id)
                 .outerjoin(desk_referral_terms, t.referral_id == r.referral_id))
        if case_id:
            query = query.where(r.case_id == case_id)
        if referral_id:
            query = query.where(r.referral_id == referral_id)
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(r.referred_at, r.referral_id)).all()
            answered: dict[str, list[str]] = {}
            for rid, received_on in connection.execute(select(desk_company_answers.c.referral_id, desk_company_answers.c.received_on)):
                answered.setdefault(rid, []).append(received_on)
        views = []
        for rid, cid, company_id, name, by, at, respond_by, told, why in rows:
            if respond_by is None:  # referred before the desk kept terms: the usual time from the day it was made
                respond_by = (date.fromisoformat(at[:10]) + timedelta(days=self.response_days)).isoformat()
            days = sorted(answered.get(rid, []))
            views.append(ReferralView(rid, cid, company_id, name, by, at, respond_by, told or "pending", why,
                                      days[0] if days else None, len(days)))
        return views

    def referral(self, referral_id: str) -> ReferralView | None:
        found = self.referrals(referral_id=referral_id)
        return found[0] if found else None

    def resolve(self, prefix: str) -> str | None:
        """The full id of the one referral `prefix` names (at least 6 characters), or None."""
        prefix = prefix.strip().lower()
        if len(prefix) < 6:
            return None
        with self.engine.connect() as connection:
            rows = connection.execute(select(desk_referrals.c.referral_id)
                                      .where(desk_referrals.c.referral_id.startswith(prefix, autoescape=True)).limit(2)).all()
        return rows[0][0] if len(rows) == 1 else None

    def set_worker_told(self, referral_id: str, told: str, why: str | None, now: datetime) -> None:
        if told not in WORKER_TOLD:
            raise ValueError(f"unknown worker notice state {told!r}")
        with self.engine.begin() as connection:
            connection.execute(update(desk_referral_terms).where(desk_referral_terms.c.referral_id == referral_id).values(
                worker_told=told, worker_told_why=(why or None) and why[:30], worker_told_at=stamp(now) if told != "pending" else None))

    def worker_told_of_case(self, case_id: str, but: str) -> bool:
        """Whether the worker of `case_id` was already told of another referral of the case (one notice is enough)."""
        return any(view.worker_told in ("sent_to_channel", "kept_for_status") for view in self.referrals(case_id)
                   if view.referral_id != but)

    # ------------------------------------------------------------ deliveries

    def queue_delivery(self, referral_id: str, route: str, target: str, now: datetime) -> str:
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}")
        delivery_id = uuid.uuid4().hex
        with self.engine.begin() as connection:
            connection.execute(insert(desk_referral_deliveries).values(
                delivery_id=delivery_id, referral_id=referral_id, route=route, target=target, state="pending", attempts=0,
                next_attempt_at=stamp(now)))
        return delivery_id

    def deliveries(self, referral_id: str | None = None) -> list[Delivery]:
        query = select(desk_referral_deliveries)
        if referral_id:
            query = query.where(desk_referral_deliveries.c.referral_id == referral_id)
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(desk_referral_deliveries.c.referral_id, desk_referral_deliveries.c.route,
                                                     desk_referral_deliveries.c.delivery_id)).mappings().all()
        return [Delivery(**row) for row in rows]

    def due_deliveries(self, now: datetime) -> list[Delivery]:
        return [d for d in self.deliveries() if d.state == "pending" and d.next_attempt_at is not None and d.next_attempt_at <= stamp(now)]

    def claim(self, delivery: Delivery, now: datetime) -> bool:
        """Take this try of `delivery` for this process (another desk on the same store may be about to try it too)."""
        c = desk_referral_deliveries.c
        with self.engine.begin() as connection:
            return connection.execute(update(desk_referral_deliveries).where(
                c.delivery_id == delivery.delivery_id, c.state == "pending", c.attempts == delivery.attempts).values(
                attempts=delivery.attempts + 1, last_attempt_at=stamp(now),
                next_attempt_at=stamp(now + timedelta(minutes=BACKOFF_MINUTES[0])))).rowcount == 1

    def record_outcome(self, delivery_id: str, *, delivered: bool, error: str | None, retryable: bool, max_attempts: int,
                       now: datetime) -> str:
        """After a claimed try: delivered, pending again (a later try), or failed. The new state."""
        c = desk_referral_deliveries.c
        with self.engine.begin() as connection:
            attempts = connection.execute(select(c.attempts).where(c.delivery_id == delivery_id)).scalar_one()
            if delivered:
                values = {"state": "delivered", "delivered_at": stamp(now), "next_attempt_at": None, "last_error": None}
            elif retryable and attempts < max_attempts:
                wait = BACKOFF_MINUTES[min(attempts - 1, len(BACKOFF_MINUTES) - 1)]
                values = {"state": "pending", "next_attempt_at": stamp(now + timedelta(minutes=wait)), "last_error": (error or "")[:80]}
            else:
                values = {"state": "failed", "next_attempt_at": None, "last_error": (error or "")[:80]}
            connection.execute(update(desk_referral_deliveries).where(c.delivery_id == delivery_id).values(**values))
        return values["state"]

    def try_again(self, delivery_id: str, now: datetime) -> None:
        """A failed delivery back in line, with its count of tries from zero (someone fixed the cause)."""
        c = desk_referral_deliveries.c
        with self.engine.begin() as connection:
            connection.execute(update(desk_referral_deliveries).where(c.delivery_id == delivery_id, c.state == "failed").values(
                state="pending", attempts=0, next_attempt_at=stamp(now)))

    # ------------------------------------------------------------ the company's answers

    def add_answer(self, referral_id: str, *, received_on: date, text: str, remediation_promised: bool,
                   files: list[tuple[str, str, bytes]], by: str, now: datetime) -> str:
        """Record what the company answered (text and files encrypted); the new answer's id."""
        text = text.strip()
        if not text:
            raise DeskError("write what the company answered (or a summary of it)")
        if received_on > now.date():
            raise DeskError("the day the answer was received cannot be in the future")
        view = self.referral(referral_id)
        if view is None:
            raise DeskError("no such referral")
        if received_on < date.fromisoformat(view.referred_on):
            raise DeskError("the answer cannot be older than the referral")
        answer_id = uuid.uuid4().hex
        with self.engine.begin() as connection:
            connection.execute(insert(desk_company_answers).values(
                answer_id=answer_id, referral_id=referral_id, received_on=received_on.isoformat(),
                remediation_promised=remediation_promised, recorded_by=by, recorded_at=stamp(now),
                body=crypto.encrypt_company_answer(self.key, answer_id, text)))
            for name, content_type, data in files:
                file_id = uuid.uuid4().hex
                connection.execute(insert(desk_company_answer_files).values(
                    file_id=file_id, answer_id=answer_id, size=len(data),
                    content=crypto.encrypt_company_answer_file(self.key, file_id, _pack_file(name, content_type, data))))
        return answer_id

    def answers(self, referral_id: str) -> list[CompanyAnswer]:
        a, f = desk_company_answers.c, desk_company_answer_files.c
        with self.engine.connect() as connection:
            rows = connection.execute(select(desk_company_answers).where(a.referral_id == referral_id)
                                      .order_by(a.received_on, a.recorded_at)).mappings().all()
            files: dict[str, list[AnswerFile]] = {}
            for row in rows:
                for file_id, size, content in connection.execute(select(f.file_id, f.size, f.content).where(f.answer_id == row["answer_id"])
                                                                 .order_by(f.file_id)):
                    name, content_type, _ = _unpack_file(crypto.decrypt_company_answer_file(self.key, file_id, content))
                    files.setdefault(row["answer_id"], []).append(AnswerFile(file_id, name, content_type, size))
        return [CompanyAnswer(row["answer_id"], row["received_on"], bool(row["remediation_promised"]), row["recorded_by"],
                              row["recorded_at"], crypto.decrypt_company_answer(self.key, row["answer_id"], row["body"]),
                              files.get(row["answer_id"], [])) for row in rows]

    def answer_file(self, referral_id: str, file_id: str) -> tuple[str, str, bytes] | None:
        """(name, type, bytes) of a file of an answer to `referral_id`, or None."""
        a, f = desk_company_answers.c, desk_company_answer_files.c
        with self.engine.connect() as connection:
            content = connection.execute(select(f.content).join(desk_company_answers, a.answer_id == f.answer_id)
                                         .where(f.file_id == file_id, a.referral_id == referral_id)).scalar()
        return None if content is None else _unpack_file(crypto.decrypt_company_answer_file(self.key, file_id, content))
