"""Pages to the person on duty in the desk: each open page beside its case, and its acknowledge button.

The intake server pages the person on duty when an urgent alert arrives and goes down the roster
until someone acknowledges (storage/duty.py). Here a signed-in case worker acknowledges: the desk
tells the server through the operator API (`POST /v1/duty/<ref>/ack`), which stops the escalation,
writes the case worker's action to the audit log, and pulls the server's events at once, so the
page leaves the banner. The pages shown come from those events (desk/duty.py).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, g, redirect, url_for
from flask_babel import gettext as _

from bot.config import ConfigError
from storage.duty import parse_ref

from ..duty import DutyLog, OpenPage, pull_duty_events
from ..operator_client import OperatorApiError
from ..store import DeskStore, stamp
from .forms import ActionForm
from .problems import operator_problem
from .security import requires

duty = Blueprint("duty", __name__)
WORKERS = ("admin", "caseworker")


def _duty_log() -> DutyLog:
    context = current_app.extensions["desk"]
    found = getattr(context, "duty_log", None)
    if found is None:
        found = context.duty_log = DutyLog(context.store)
    return found


@duty.app_template_global()
def open_pages(case_id: str | None = None) -> list[OpenPage]:
    """Open pages (of one case, when given): the inbox's banner and the case page show them."""
    if not g.get("user") or g.user.role not in WORKERS:
        return []
    context = current_app.extensions["desk"]
    pages = _duty_log().open_pages(stamp(context.clock() - timedelta(days=context.settings.duty.keep_days)))
    return [page for page in pages if case_id is None or page.case_id == case_id]


@duty.app_template_global()
def desk_has_case(case_id: str) -> bool:
    return case_id in current_app.extensions["desk"].cases


@duty.app_template_global()
def page_ack_form() -> ActionForm:
    return ActionForm()


@duty.route("/duty/<ref>/ack", methods=["POST"])
@requires(*WORKERS)
def acknowledge(ref: str):
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    context = current_app.extensions["desk"]
    ref = parse_ref(ref) or abort(404)
    duty_log = _duty_log()
    case_id = duty_log.case_of(ref)
    back = redirect(url_for("cases.case_page", case_id=case_id) if case_id and case_id in context.cases else url_for("cases.inbox"))
    if context.operator_client is None:
        flash(_("The page is NOT acknowledged and the next person may be called: %(reason)s",
                reason=operator_problem(None, "page acknowledgement")), "error")
        return back
    try:
        with context.operator_client() as client:
            answer = client.ack_page(ref, g.user.username)
    except OperatorApiError as error:
        if error.status != 404:
            return _unreachable(back, error)
        flash(_("The hotline server no longer has this page (it ended long ago)."), "info")
        return back
    except Exception as error:
        return _unreachable(back, error)
    store: DeskStore = context.store
    outcome = "acknowledged" if answer.get("acknowledged") else "acknowledged already"
    store.audit(g.user.username, "page_ack", case_id or f"page {ref}", f"ref {ref[:3]}-{ref[3:]}; {outcome}", now=context.clock())
    try:  # at once, so the page leaves the banner; the next background pull would bring the events too
        with context.operator_client() as client:
            pull_duty_events(client, duty_log, context.clock())
    except Exception as error:
        current_app.logger.warning("page events not pulled: %s", type(error).__name__)
    if answer.get("acknowledged"):
        flash(_("Page acknowledged: nobody else will be called about it."), "info")
    else:
        flash(_("Someone had acknowledged this page already."), "info")
    return back


def _unreachable(back, error: Exception):
    if isinstance(error, ConfigError):  # the desk has no token to show: nobody on the desk can fix it but an admin
        flash(_("The page is NOT acknowledged and the next person may be called: %(reason)s",
                reason=operator_problem(error, "page acknowledgement")), "error")
        return back
    current_app.logger.warning("page acknowledgement failed: %s", type(error).__name__)
    flash(_("The hotline server could not be reached: the page is NOT acknowledged and the next person may be called."), "error")
    return back
