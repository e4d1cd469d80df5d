"""A referral from start to follow-up: sealed and kept, delivered to the company, the worker told, the answer recorded.

Used by the desk's pages and by `grievance desk referral ...` alike, so both keep the same
rules and write the same audit lines (through `DeskStore.audit`, never content):

- `refer`: only a case whose worker said YES to a `grants_referral` question; the file holds
  what `desk.referrals.referral_record` puts in it, sealed to the company's age key; each of
  the company's delivery routes is tried at once, and again later with growing waits
  (`deliver_due`, run by the desk's background loop and by `grievance desk referral deliver`);
- the worker is told through the operator API (`POST /v1/cases/<id>/referred`): the intake
  server keeps a short notice for STATUS, in the worker's language, and pushes it only if
  they agreed to be contacted. Once per case: a second referral of the same case tells nothing new;
- `record_answer`: what the company answered, when, whether it promised remediation, and
  its files, encrypted in the store.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.config import ConfigError, SecretSource, Settings
from storage import crypto

from .referral_delivery import DeliveryError, post_webhook, referral_email, send_email
from .referral_store import Delivery, ReferralStore, ReferralView
from .referrals import referral_allowed, referral_file_name, referral_record
from .store import DeskError, DeskStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Referred:
    """What became of a new referral: the referral, each delivery's state, and how the worker learns of it."""

    view: ReferralView
    deliveries: list[tuple[str, str]]  # (route, state)
    worker_told: str
    worker_told_why: str | None


class ReferralDesk:
    """Referrals of one desk: its settings, its store, and the operator API client (None: not configured)."""

    def __init__(self, settings: Settings, store: DeskStore, operator_client: Callable[[], object] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.settings, self.store, self.operator_client, self.clock = settings, store, operator_client, clock
        self.referrals = ReferralStore(store, settings.referral.response_days)

    # ------------------------------------------------------------ making one

    def preview(self, record: dict, company: str) -> dict:
        """Exactly what the company would get, with placeholders for what only exists once it is made."""
        today = self.clock().date()
        return referral_record(record, company, referral_id="(given when sealed)", referred_on=today,
                               respond_by=today + timedelta(days=self.settings.referral.response_days),
                               mechanism=self.settings.deployment.name, reply_to=self.settings.referral.reply_to)

    def refer(self, record: dict, company_id: str, by: str) -> Referred:
        """Seal the case's problem to the company, keep it, deliver it and tell the worker; DeskError when not allowed."""
        if not referral_allowed(self.settings, record):
            raise DeskError("the worker did not agree that the company may be told: no referral")
        company = self.referrals.company(company_id)
        if company is None:
            raise DeskError("no such company in the directory")
        _, name, recipient = company
        now = self.clock()
        referral_id = uuid.uuid4().hex  # random: it says nothing of the case or of when the worker wrote
        respond_by = now.date() + timedelta(days=self.settings.referral.response_days)
        document = referral_record(record, name, referral_id=referral_id, referred_on=now.date(), respond_by=respond_by,
                                   mechanism=self.settings.deployment.name, reply_to=self.settings.referral.reply_to)
        sealed = crypto.seal_referral(json.dumps(document, ensure_ascii=False).encode(), recipient)
        case_id = record["case_id"]
        self.store.add_referral(case_id, company_id, by, sealed, now, referral_id=referral_id)
        self.referrals.open_terms(referral_id, respond_by)
        self.store.audit(by, "referred", case_id, name[:60], now=now)
        for route, target in self.referrals.contact(company_id).routes():
            self.referrals.queue_delivery(referral_id, route, target, now)
        states = [(d.route, self.deliver(d, actor=by)) for d in self.referrals.deliveries(referral_id)]
        told, why = self.tell_worker(referral_id, actor=by)
        return Referred(self.referrals.referral(referral_id), states, told, why)

    def sealed_file(self, referral_id: str) -> tuple[str, bytes]:
        """(file name, the sealed bytes) of a referral, as the company gets it."""
        view = self.referrals.referral(referral_id)
        if view is None:
            raise DeskError("no such referral")
        return referral_file_name(view.referral_id, view.company, view.referred_on), self.store.sealed_referral(referral_id)

    # ------------------------------------------------------------ delivering it

    def deliver(self, delivery: Delivery, actor: str = "desk") -> str:
        """One try of `delivery` (if no other desk took it first); its new state."""
        now = self.clock()
        if not self.referrals.claim(delivery, now):
            return "pending"
        view = self.referrals.referral(delivery.referral_id)
        error: DeliveryError | None = None
        try:
            self._send(delivery, view)
        except DeliveryError as failure:
            error = failure
        except Exception as failure:  # a bug or a broken setting (a missing CA file) must not lose the try
            log.warning("referral delivery failed unexpectedly", extra={"reason": type(failure).__name__})
            error = DeliveryError(f"error_{type(failure).__name__}"[:40], retryable=False)
        state = self.referrals.record_outcome(
            delivery.delivery_id, delivered=error is None, error=error.kind if error else None,
            retryable=bool(error and error.retryable), max_attempts=self.settings.referral.delivery_attempts, now=self.clock())
        outcome = "delivered" if error is None else (f"will retry: {error.kind}" if state == "pending" else f"failed: {error.kind}")
        self.store.audit(actor, "referral_delivery", view.case_id, f"{view.referral_id[:8]} {delivery.route} {outcome}", now=self.clock())
        return state

    def _send(self, delivery: Delivery, view: ReferralView) -> None:
        file_name, sealed = self.sealed_file(view.referral_id)
        config = self.settings.referral
        if delivery.route == "webhook":
            contact = self.referrals.contact(view.company_id)
            secret = self._secret(contact.webhook_secret, f"the webhook secret of {view.company}")
            post_webhook(delivery.target, secret, view.referral_id, file_name, sealed, timeout=config.webhook.timeout_seconds,
                         ca_file=str(self.settings.path(config.webhook.ca_file)) if config.webhook.ca_file else None)
            return
        if config.email is None:
            raise DeliveryError("email_not_configured", retryable=False)
        password = self._secret(config.email.password, "referral.email.password") if config.email.password else None
        message = referral_email(from_address=config.email.from_address, to=delivery.target, mechanism=self.settings.deployment.name,
                                 referral_id=view.referral_id, respond_by=view.respond_by, reply_to=config.reply_to,
                                 file_name=file_name, sealed=sealed)
        send_email(config.email, password, message,
                   ca_file=str(self.settings.path(config.email.ca_file)) if config.email.ca_file else None)

    def _secret(self, source: SecretSource | str | None, what: str) -> str:
        from storage.keys import read_secret

        if isinstance(source, str):
            kind, _, value = source.partition(":")
            source = SecretSource(env=value) if kind == "env" else SecretSource(file=value)
        if source is None:
            raise DeliveryError("secret_missing", retryable=False)
        try:
            return read_secret(self.settings, source, what)
        except ConfigError:
            raise DeliveryError("secret_missing", retryable=False) from None

    def deliver_due(self) -> dict[str, int]:
        """Try every delivery whose time has come; how many ended in each state."""
        counts: dict[str, int] = {}
        for delivery in self.referrals.due_deliveries(self.clock()):
            state = self.deliver(delivery)
            counts[state] = counts.get(state, 0) + 1
        return counts

    def deliver_again(self, referral_id: str, by: str) -> list[tuple[str, str]]:
        """Deliver to the company's routes now: failed deliveries again, and routes added since (a person asked)."""
        view = self.referrals.referral(referral_id)
        if view is None:
            raise DeskError("no such referral")
        now = self.clock()
        existing = self.referrals.deliveries(referral_id)
        for delivery in existing:
            if delivery.state == "failed":
                self.referrals.try_again(delivery.delivery_id, now)
        tried = {(d.route, d.target) for d in existing}
        for route, target in self.referrals.contact(view.company_id).routes():
            if (route, target) not in tried:
                self.referrals.queue_delivery(referral_id, route, target, now)
        self.store.audit(by, "referral_delivery_retried", view.case_id, view.referral_id[:8], now=now)
        return [(d.route, self.deliver(d, actor=by)) for d in self.referrals.deliveries(referral_id) if d.state == "pending"]

    # ------------------------------------------------------------ the worker

    def tell_worker(self, referral_id: str, actor: str) -> tuple[str, str | None]:
        """Tell the worker through the intake server that the company was told; (state, why). Safe to call again."""
        view = self.referrals.referral(referral_id)
        if view is None:
            raise DeskError("no such referral")
        if view.worker_told != "pending":
            return view.worker_told, view.worker_told_why
        now = self.clock()
        if self.referrals.worker_told_of_case(view.case_id, but=referral_id):
            told, why = "already_told", None
        elif self.operator_client is None:
            told, why = "pending", "no_operator_api"
        else:
            from .operator_client import OperatorApiError

            try:
                with self.operator_client() as client:
                    answer = client.tell_referred(view.case_id)
                why = str(answer.get("why") or "")[:30] or None
                told = "sent_to_channel" if answer.get("delivery") == "sent_to_channel" else "kept_for_status"
            except OperatorApiError as error:
                told, why = "pending", ("no_such_case" if error.status == 404 else
                                        "server_unreachable" if error.status == 0 else f"http_{error.status}")
            except ConfigError:  # operator_client.token names a variable or file that is not there
                told, why = "pending", "no_api_token"
        self.referrals.set_worker_told(referral_id, told, why, now)
        self.store.audit(actor, "worker_told_of_referral", view.case_id, f"{view.referral_id[:8]} {told} {why or ''}".strip(), now=now)
        return told, why

    # ------------------------------------------------------------ the company's answer

    def record_answer(self, referral_id: str, *, received_on, text: str, remediation_promised: bool,
                      files: list[tuple[str, str, bytes]], by: str) -> str:
        now = self.clock()
        answer_id = self.referrals.add_answer(referral_id, received_on=received_on, text=text,
                                              remediation_promised=remediation_promised, files=files, by=by, now=now)
        view = self.referrals.referral(referral_id)
        self.store.audit(by, "company_answer_recorded", view.case_id,
                         f"{referral_id[:8]} remediation {'promised' if remediation_promised else 'not promised'}, {len(files)} files",
                         now=now)
        return answer_id
