"""The operator API's routes for paging the person on duty (registered by bot/operator_api.py).

Behind the same bearer token as every operator route (checked before routing):

  POST /v1/duty/<ref>/ack {by}         a case worker saw the page in the desk: it ends, nobody else
                                       is paged (also one that ended unanswered: someone saw it at
                                       last). 200 with `acknowledged` true, or false when it was
                                       acknowledged already (or was a test page); 404 when there is none
  GET  /v1/duty/pages?all=1            open pages (with all=1 also the recent ended ones): reference,
                                       case id, reason, state, roster step, when, who acknowledged
  GET  /v1/duty/events?after=N&limit=M what happened to pages since event N (queued, sent, failed,
                                       retrying, escalated, acknowledged, unanswered): the desk copies
                                       them into its audit log. A person as the roster names them, a
                                       way by its kind; never an address or a text
  POST /v1/duty/test {person}          a test page to that person on the roster (default: the first),
                                       marked as a test, never escalated

Logs name the event, never who or what.
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint, jsonify, request

from storage.duty import PageEvent, PageStore, PageView, page_duty, parse_ref, shown_ref
from storage.db import as_utc

log = logging.getLogger(__name__)

MAX_EVENTS_PER_PAGE = 500
_NAME = re.compile(r"^[^\x00-\x1f\x7f-\x9f]{1,64}$")


def _page_json(page: PageView) -> dict:
    return {"ref": page.ref, "shown_ref": shown_ref(page.ref), "case_id": page.case_id, "reason": page.reason,
            "state": page.state, "step": page.step, "created_at": as_utc(page.created_at).isoformat(),
            "acknowledged_by": page.acknowledged_by}


def _event_json(event: PageEvent) -> dict:
    return {"seq": event.seq, "ref": event.page_ref, "shown_ref": shown_ref(event.page_ref), "case_id": event.case_id,
            "kind": event.kind, "person": event.person, "way": event.way, "detail": event.detail, "at": event.at.isoformat()}


def _refused(message: str, status: int = 400):
    return jsonify(error=message), status


def duty_routes(services) -> Blueprint:
    """The duty routes for these services (`bot.services.Services`)."""
    routes = Blueprint("duty", __name__)

    @routes.post("/v1/duty/<ref>/ack")
    def acknowledge(ref: str):
        body = request.get_json(silent=True)
        by = body.get("by") if isinstance(body, dict) else None
        if not isinstance(by, str) or not _NAME.match(by.strip() or "\x00"):
            return _refused("'by' (who acknowledges: 1 to 64 characters, no control characters) is required")
        canonical = parse_ref(ref)
        if canonical is None:
            return _refused("no such page", 404)
        with services.sessions.begin() as session:
            page, done = PageStore(session).acknowledge(canonical, by.strip())
        if page is None:
            return _refused("no such page", 404)
        log.warning("duty page %s %s", page.ref, "acknowledged: escalation stopped" if done else "was already ended")
        return jsonify(acknowledged=done, page=_page_json(page))

    @routes.get("/v1/duty/pages")
    def pages():
        with services.sessions.begin() as session:
            found = PageStore(session).pages(open_only=request.args.get("all") != "1")
        return jsonify(pages=[_page_json(page) for page in found])

    @routes.get("/v1/duty/events")
    def events():
        after, limit = request.args.get("after", "0"), request.args.get("limit", str(MAX_EVENTS_PER_PAGE))
        if not after.isdigit() or not limit.isdigit() or not 1 <= int(limit) <= MAX_EVENTS_PER_PAGE:
            return _refused(f"'after' must be a number, 'limit' a number from 1 to {MAX_EVENTS_PER_PAGE}")
        with services.sessions.begin() as session:
            found = PageStore(session).events(int(after), int(limit))
        return jsonify(events=[_event_json(event) for event in found])

    @routes.post("/v1/duty/test")
    def test_page():
        if services.pager is None:
            return _refused("paging is off on this server (duty.enabled)", 409)
        body = request.get_json(silent=True)
        wanted = body.get("person") if isinstance(body, dict) else None
        people = services.pager.roster()
        names = [person.name for person in people]
        if wanted is not None and wanted not in names:
            return _refused("no one of that name on the roster", 404)
        step = names.index(wanted) if wanted is not None else 0
        with services.sessions.begin() as session:
            ref = page_duty(session, services.settings.duty, case_id=None, reason="test", step=step)
        log.warning("duty test page %s queued", ref)
        return jsonify(ref=ref, shown_ref=shown_ref(ref or ""), person=names[step]), 201

    return routes
