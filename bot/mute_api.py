"""The operator API's routes for muting a sender who abuses the hotline (registered by bot/operator_api.py).

Behind the same bearer token as every operator route (checked before routing). The desk names a
case; the server mutes that case's sender by their keyed pseudonym (storage/mutes.py). Neither
the request nor the answer ever holds an address or a pseudonym: only the case, whether its
sender is muted and until when.

  GET  /v1/cases/<case_id>/mute            {muted, until, sender_known}
  POST /v1/cases/<case_id>/mute {days}     mute the case's sender for 1 to 365 days: 200 with the
                                           state; 409 when the case no longer holds its sender
                                           (older than retention.case_sender_days); 404 no such case
  POST /v1/cases/<case_id>/unmute {}       end the mute: 200 with the state

Logs name the event, never who.
"""

from __future__ import annotations

import logging
import uuid

from flask import Blueprint, jsonify, request

from storage.db import utcnow
from storage.models import Case
from storage.mutes import MAX_MUTE_DAYS, MuteState, SenderMutes

log = logging.getLogger(__name__)


def _state_json(case_id: str, state: MuteState) -> dict:
    return {"case_id": case_id, "muted": state.muted, "until": state.until.isoformat() if state.until else None,
            "sender_known": state.sender_known}


def _canonical(case_id: str) -> str | None:
    try:
        return str(uuid.UUID(case_id)) if len(case_id) == 36 else None
    except ValueError:
        return None


def mute_routes(services) -> Blueprint:
    """The mute routes for these services (`bot.services.Services`)."""
    routes = Blueprint("mutes", __name__)

    def _case(session, case_id: str) -> str | None:
        canonical = _canonical(case_id)
        return canonical if canonical and session.get(Case, canonical) is not None else None

    @routes.get("/v1/cases/<case_id>/mute")
    def state(case_id: str):
        with services.sessions.begin() as session:
            found = _case(session, case_id)
            if found is None:
                return jsonify(error="no such case"), 404
            return jsonify(_state_json(found, SenderMutes(session, services.secrets).state(found, utcnow())))

    @routes.post("/v1/cases/<case_id>/mute")
    def mute(case_id: str):
        body = request.get_json(silent=True)
        days = body.get("days") if isinstance(body, dict) else None
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_MUTE_DAYS:
            return jsonify(error=f"'days' must be a whole number from 1 to {MAX_MUTE_DAYS}"), 400
        with services.sessions.begin() as session:
            found = _case(session, case_id)
            if found is None:
                return jsonify(error="no such case"), 404
            muted = SenderMutes(session, services.secrets).mute(found, days, utcnow())
        services.intake.mutes.forget()  # this process reads them again at once; others within storage.mutes.REFRESH_SECONDS
        if not muted.muted:
            log.info("operator api: mute refused, the case no longer holds its sender")
            return jsonify(error="the case no longer holds its sender (retention.case_sender_days)", **_state_json(found, muted)), 409
        log.info("operator api: a case's sender muted", extra={"count": days})
        return jsonify(_state_json(found, muted))

    @routes.post("/v1/cases/<case_id>/unmute")
    def unmute(case_id: str):
        with services.sessions.begin() as session:
            found = _case(session, case_id)
            if found is None:
                return jsonify(error="no such case"), 404
            state = SenderMutes(session, services.secrets).unmute(found, utcnow())
        services.intake.mutes.forget()
        log.info("operator api: a case's sender unmuted")
        return jsonify(_state_json(found, state))

    return routes
