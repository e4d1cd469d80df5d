"""The operator's side of the operator API: a small httpx client, used by `grievance reply` and friends.

Runs on the operator's machine. The API address is `operator_client.url`; the
token comes from `operator_client.token` ({env: ...} or {file: ...}), never from
config.yaml itself. Errors say what kind of failure happened and the HTTP
status, never the token or a message text.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from bot.config import Settings


class OperatorApiError(Exception):
    """A call to the operator API failed; `status` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class PendingReply:
    """A worker's answer as the API hands it out: still sealed to the operator."""

    id: str
    case_id: str
    received_at: str
    sealed: bytes


class OperatorClient:
    """Calls to the operator API with one bearer token."""

    def __init__(self, url: str, token: str, timeout: float = 10.0, transport: httpx.BaseTransport | None = None) -> None:
        self.http = httpx.Client(
            base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=timeout, transport=transport,
            follow_redirects=False,  # a redirect could carry the token elsewhere
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> OperatorClient:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _call(self, method: str, path: str, body: dict | None = None, params: dict | None = None) -> dict:
        try:
            response = self.http.request(method, path, json=body, params=params)
        except httpx.TimeoutException:
            raise OperatorApiError("the operator API did not answer in time") from None
        except httpx.HTTPError as error:
            raise OperatorApiError(f"cannot reach the operator API ({type(error).__name__})") from None
        if response.status_code == 204:
            return {}
        try:
            data = response.json()
        except json.JSONDecodeError:
            data = {}
        if response.status_code >= 400:
            reason = data.get("error") if isinstance(data, dict) else None
            hint = " (check the token: grievance api-token list on the server)" if response.status_code == 401 else ""
            raise OperatorApiError(f"operator API refused: HTTP {response.status_code} {reason or ''}".rstrip() + hint, response.status_code)
        if not isinstance(data, dict):
            raise OperatorApiError("operator API answered something that is not a JSON object", response.status_code)
        return data

    def post_message(self, case_id: str, text: str) -> dict:
        """Leave a message for the worker; the answer says whether it went to their channel at once."""
        return self._call("POST", f"/v1/cases/{case_id}/messages", {"text": text})

    def set_status(self, case_id: str, status: str) -> dict:
        """Move the case to `status` (received, acknowledged, in_review, in_dialogue, resolved, closed)."""
        return self._call("POST", f"/v1/cases/{case_id}/status", {"status": status})

    def tell_referred(self, case_id: str) -> dict:
        """Tell the worker of `case_id` that the company was told (no name, no number); the answer says how they learn it."""
        return self._call("POST", f"/v1/cases/{case_id}/referred", {})

    def mute_sender(self, case_id: str, days: int) -> dict:
        """Mute the sender of `case_id` for `days` (the server knows them by a keyed pseudonym only)."""
        return self._call("POST", f"/v1/cases/{case_id}/mute", {"days": days})

    def unmute_sender(self, case_id: str) -> dict:
        return self._call("POST", f"/v1/cases/{case_id}/unmute", {})

    def replies(self, limit: int = 100) -> list[PendingReply]:
        """The worker's answers waiting for the operator, still sealed."""
        data = self._call("GET", "/v1/replies", params={"limit": limit})
        try:
            return [PendingReply(r["id"], r["case_id"], r["received_at"], base64.b64decode(r["sealed"])) for r in data["replies"]]
        except (KeyError, TypeError, ValueError):
            raise OperatorApiError("operator API answered replies in an unknown shape") from None

    def ack(self, reply_id: str) -> None:
        """The operator keeps this answer now; the server erases it."""
        self._call("POST", f"/v1/replies/{reply_id}/ack")

    # ------------------------------------------------------------ paging the person on duty (bot/duty_api.py)

    def ack_page(self, ref: str, by: str) -> dict:
        """`by` saw the page: the server stops escalating it. The answer's `acknowledged` is False when it had ended."""
        return self._call("POST", f"/v1/duty/{quote(ref, safe='')}/ack", {"by": by})

    def duty_pages(self, include_ended: bool = False) -> list[dict]:
        """Open pages (and with `include_ended`, the recent ended ones)."""
        data = self._call("GET", "/v1/duty/pages", params={"all": "1"} if include_ended else None)
        pages = data.get("pages")
        if not isinstance(pages, list):
            raise OperatorApiError("operator API answered pages in an unknown shape")
        return pages

    def duty_events(self, after: int, limit: int = 500) -> list[dict]:
        """What happened to pages since event `after`, oldest first."""
        data = self._call("GET", "/v1/duty/events", params={"after": after, "limit": limit})
        events = data.get("events")
        if not isinstance(events, list) or not all(isinstance(e, dict) and isinstance(e.get("seq"), int) for e in events):
            raise OperatorApiError("operator API answered duty events in an unknown shape")
        return events

    def test_page(self, person: str | None = None) -> dict:
        """A test page to `person` on the server's roster (default: the first)."""
        return self._call("POST", "/v1/duty/test", {"person": person} if person else {})


# What the CLI says about a message (or a status notice) the operator API did not push to the worker.
_KEPT_BECAUSE = {
    "contact_declined": "the worker asked not to be contacted (or the case predates that choice), so nothing is sent to them",
    "address_expired": "the case no longer holds their reply address (session.reply_address_retention_days)",
    "opted_out": "their number opted out of messages from the hotline (STOP)",
}


def delivery_sentence(answer: dict, case_id: str, what: str = "message") -> str:
    """One plain line for the operator: did `what` reach the worker's phone, and if not, why not."""
    why = answer.get("why")
    if answer.get("delivery") == "sent_to_channel" or why == "sent_to_channel" or answer.get("worker_notified") is True:
        return f"{what} sent to the worker of {case_id} on their channel (and kept for STATUS)"
    if why in ("unchanged", "notices_off"):
        return f"no {what} sent to the worker of {case_id} ({'the status was already set' if why == 'unchanged' else 'notices are off'}); they see it on STATUS"
    reason = _KEPT_BECAUSE.get(str(why), "no reply address is held for the case")
    return f"{what} NOT sent to the worker of {case_id}: {reason}. Kept for STATUS: they read it when they send STATUS and their case code"


def client_for(settings: Settings, transport: httpx.BaseTransport | None = None) -> OperatorClient:
    """A client for `operator_client.url` with the token from `operator_client.token`."""
    from storage.keys import read_secret

    section = settings.operator_client
    token = read_secret(settings, section.token, "operator_client.token").strip()
    return OperatorClient(section.url, token, section.timeout_seconds, transport)


def push_status(settings: Settings, case_id: str, status: str) -> dict:
    """Set a case's status on the intake server (for `grievance cases status`); returns the API's answer."""
    with client_for(settings) as client:
        return client.set_status(case_id, status)
