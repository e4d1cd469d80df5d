"""The operator API: a separate Flask app for the grievance operator's tools, deny by default.

It never shares an app, a port or a route with the public webhook app
(bot/app.py): `grievance serve` runs it on `operator_api.host:port` beside the
public one, and the reverse proxy in front of the public app never routes to it.
Every request, to any path, must carry `Authorization: Bearer <token>` of an
active token (storage/api_tokens.py); anything else gets 401 before routing.

Routes (JSON):
  POST /v1/cases/<case_id>/messages {text}  a message to the worker: kept (encrypted) for STATUS,
                                            and sent at once on their channel only if they agreed
                                            to be contacted, the case still holds their reply
                                            address and it has not opted out (the adapter picks
                                            text or the WhatsApp template). The answer's
                                            `delivery` is `sent_to_channel` or `kept_for_status`,
                                            and `why`: sent_to_channel, contact_declined,
                                            address_expired or opted_out. A message sent on the
                                            channel opens the chat's answer window: what it sends
                                            next answers this case, with no STATUS needed
  POST /v1/cases/<case_id>/status {status}  move the case along its lifecycle (the same `delivery`
                                            and `why` for the notice, when the status changed);
                                            resolved or closed asks the worker, once, whether it
                                            helped (pushed with an answer window, or at STATUS)
  POST /v1/cases/<case_id>/referred {}      the desk referred the problem to the company concerned:
                                            a short notice in the worker's language ("the company
                                            was told, without your name or number") is kept for
                                            STATUS and pushed under the same rules as a message
                                            (the same `delivery` and `why`); nothing about the company
  GET  /v1/replies?limit=N                  the worker's answers, sealed to the operator
  POST /v1/replies/<id>/ack                 the operator kept an answer: the server forgets it
  /v1/duty/...                              pages to the person on duty: acknowledge, list, events, test (bot/duty_api.py)
  /v1/cases/<case_id>/mute, /unmute         mute (or not) the sender of a case who abuses the hotline (bot/mute_api.py)

Logs name the event and its outcome; never a text, a token or an address.
"""

from __future__ import annotations

import base64
import logging
import re
import uuid
from datetime import timedelta

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

from storage.answer_windows import AnswerWindows
from storage.api_tokens import ApiTokens
from storage.cases import CASE_STATUSES, CaseStore
from storage.db import as_utc, utcnow
from storage.outbound import enqueue

from .duty_api import duty_routes
from .mute_api import mute_routes
from .services import Services

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 32 * 1024
MAX_REPLIES_PER_PAGE = 100
# Refused in an operator's text: C0 controls but newline and tab, DEL, C1 controls, lone surrogates
# and U+FFFE/U+FFFF. XML 1.0 forbids most of them (one \x0b made every STATUS reply over Twilio
# unparsable), and on the worker's side they only ever hide or garble what the hotline says.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


class BadRequest(Exception):
    """The request's body or parameters are not what the route takes (the message says what)."""


def _case_id(value: str) -> str | None:
    try:
        return str(uuid.UUID(value)) if len(value) == 36 else None
    except ValueError:
        return None


def _find_case(cases: CaseStore, case_id: str):
    """The case a route's <case_id> names, or None (malformed ids included: both are a 404)."""
    canonical = _case_id(case_id)
    return cases.get(canonical) if canonical else None


def _json_field(name: str) -> object:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    if name not in body:
        raise BadRequest(f"'{name}' is required")
    return body[name]


def create_operator_app(services: Services) -> Flask:
    """The operator API for these services; nothing in it is reachable without a valid token."""
    app = Flask("grievance-operator")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions["grievance"] = services
    tokens = ApiTokens(services.sessions, services.secrets)
    settings = services.settings
    wording = services.intake.conversation

    @app.before_request
    def authenticate():
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        info = tokens.authenticate(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        if info is None:
            log.warning("operator api: request refused (no valid token)")
            response = jsonify(error="unauthorized")
            response.headers["WWW-Authenticate"] = 'Bearer realm="grievance-operator"'
            return response, 401
        return None

    def _send_to_worker(cases: CaseStore, session, case, text: str, *, opens: str | None = None) -> str:
        """Queue `text` for the worker's channel if they may be written to; returns why (see `CaseStore.reach`).
        `opens`: the chat's next messages answer this case ("answer") or say whether it helped
        ("feedback"), without STATUS, for `session.answer_window_days` (storage/answer_windows.py)."""
        now = utcnow()
        address, why = cases.reach(case, now)
        if address is None:
            return why
        message_id = enqueue(session, services.secrets, address, text)
        g.outbound_ids = (*getattr(g, "outbound_ids", ()), message_id)
        if opens is not None:
            lasting = timedelta(days=settings.session.answer_window_days)
            AnswerWindows(session, services.secrets).open(address, case.case_id, case.language, opens, now, lasting)
        return why

    @app.after_request
    def send_soon(response):
        # Sent off the request thread once the transaction that queued them has committed.
        if services.dispatcher is not None and getattr(g, "outbound_ids", ()):
            services.dispatcher.kick(g.outbound_ids)
        return response

    @app.post("/v1/cases/<case_id>/messages")
    def post_message(case_id: str):
        text = _json_field("text")
        if not isinstance(text, str) or not text.strip():
            raise BadRequest("'text' must be a non-empty string")
        text = text.strip().replace("\r\n", "\n")
        if _CONTROL.search(text):
            raise BadRequest("'text' holds control characters; only line breaks and tabs are allowed")
        if len(text) > settings.operator_api.max_message_chars:
            raise BadRequest(f"'text' is longer than {settings.operator_api.max_message_chars} characters")
        with services.sessions.begin() as session:
            cases = CaseStore(session, services.secrets)
            case = _find_case(cases, case_id)
            if case is None:
                return jsonify(error="no such case"), 404
            now = utcnow()
            cases.add_message(case.case_id, text, now)
            lang = case.language
            worded = worker_message(wording, lang, text)
            why = _send_to_worker(cases, session, case, worded, opens="answer")
        delivery = "sent_to_channel" if why == "sent_to_channel" else "kept_for_status"
        log.info("operator api: message to a worker", extra={"reason": why})
        return jsonify(case_id=case.case_id, delivery=delivery, why=why), 201

    @app.post("/v1/cases/<case_id>/status")
    def post_status(case_id: str):
        status = _json_field("status")
        if not isinstance(status, str) or status not in CASE_STATUSES:
            raise BadRequest(f"'status' must be one of: {', '.join(CASE_STATUSES)}")
        with services.sessions.begin() as session:
            cases = CaseStore(session, services.secrets)
            case = _find_case(cases, case_id)
            if case is None:
                return jsonify(error="no such case"), 404
            changed = cases.set_status(case, status)
            why = "unchanged" if not changed else "notices_off"
            lang = case.language
            if changed and status in FEEDBACK_STATUSES and case.feedback is None:
                # Once per case: did it help? Pushed if the worker allowed contact, else asked at STATUS.
                case.feedback = "asked"
                why = _send_to_worker(cases, session, case, wording.feedback_question(lang), opens="feedback")
            elif changed and settings.operator_api.notify_status_changes:
                why = _send_to_worker(cases, session, case, wording.t(lang, "dialogue.status_changed", status=wording.word("status", lang)))
        notified = why == "sent_to_channel"
        log.info("operator api: case status set", extra={"status": status, "reason": why})
        return jsonify(
            case_id=case.case_id, status=status, changed=changed, worker_notified=notified,
            delivery="sent_to_channel" if notified else "kept_for_status", why=why,
        )

    @app.post("/v1/cases/<case_id>/referred")
    def post_referred(case_id: str):
        # The worker agreed that the company may be told; they learn that it was, and nothing more
        # (not which company, not when): on STATUS always, on their chat only if they allowed contact.
        with services.sessions.begin() as session:
            cases = CaseStore(session, services.secrets)
            case = _find_case(cases, case_id)
            if case is None:
                return jsonify(error="no such case"), 404
            lang = case.language
            notice = wording.t(lang, "referral.company_told")
            cases.add_message(case.case_id, notice, utcnow())
            why = _send_to_worker(cases, session, case, worker_message(wording, lang, notice), opens="answer")
        delivery = "sent_to_channel" if why == "sent_to_channel" else "kept_for_status"
        log.info("operator api: worker told of a referral", extra={"reason": why})
        return jsonify(case_id=case.case_id, delivery=delivery, why=why), 201

    @app.get("/v1/replies")
    def get_replies():
        raw = request.args.get("limit", str(MAX_REPLIES_PER_PAGE))
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_REPLIES_PER_PAGE:
            raise BadRequest(f"'limit' must be a number from 1 to {MAX_REPLIES_PER_PAGE}")
        with services.sessions.begin() as session:
            answers = CaseStore(session, services.secrets).pending_answers(int(raw))
        return jsonify(
            replies=[
                {
                    "id": answer.id,
                    "case_id": answer.case_id,
                    "received_at": as_utc(answer.created_at).isoformat(),
                    "sealed": base64.b64encode(answer.sealed).decode(),
                }
                for answer in answers
            ]
        )

    @app.post("/v1/replies/<answer_id>/ack")
    def ack_reply(answer_id: str):
        canonical = _case_id(answer_id)
        with services.sessions.begin() as session:
            found = CaseStore(session, services.secrets).ack_answer(canonical) if canonical else False
        if not found:
            return jsonify(error="no such reply waiting"), 404
        log.info("operator api: reply acknowledged")
        return "", 204

    app.register_blueprint(duty_routes(services))  # paging the person on duty: bot/duty_api.py
    app.register_blueprint(mute_routes(services))  # muting a case's sender: bot/mute_api.py

    @app.errorhandler(BadRequest)
    def bad_request(error: BadRequest):
        return jsonify(error=str(error)), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return jsonify(error=error.name), error.code

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("operator api: request failed")
        return jsonify(error="temporarily unavailable, please retry"), 503

    return app


FEEDBACK_STATUSES = ("resolved", "closed")


def worker_message(wording, language: str | None, text: str) -> str:
    """The team's words as the worker reads them: who writes, the words, and how to answer (reply
    on the same chat). The desk counts SMS segments on this, not on the team's words alone."""
    return wording.t(language, "dialogue.operator_message", message=text)
