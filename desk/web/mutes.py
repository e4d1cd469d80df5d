"""Muting the sender of a case who abuses the hotline, from the case page, without learning who they are.

The desk asks the intake server through the operator API (desk/operator_client.py); the server
mutes the case's sender by the keyed pseudonym it keeps for a while (storage/mutes.py). Muting
is for admins only: silencing a worker is the one desk action that could shut a complainant out
of the mechanism, so it takes the role that also answers for the accounts; case workers and
admins may lift a mute. Both are audit-logged (the case and the days, never who the sender is).
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, flash, g, redirect, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import SelectField

from ..sender_mutes import DeskMutes
from .forms import ActionForm, options
from .problems import operator_problem
from .security import requires

mutes = Blueprint("mutes", __name__)
MUTE_DAYS = (7, 30, 90)


class MuteForm(FlaskForm):
    days = SelectField("Mute for", choices=options((str(days), str(days)) for days in MUTE_DAYS))


def _context():
    return current_app.extensions["desk"]


def desk_mutes() -> DeskMutes:
    context = _context()
    if getattr(context, "desk_mutes", None) is None:
        context.desk_mutes = DeskMutes(context.cases_store)
    return context.desk_mutes


def mute_view(case_id: str) -> dict:
    """What the case page shows: the mute the desk knows of, and the forms."""
    found = desk_mutes().of(case_id)
    return {"sender_mute": found if found and found.active(_context().clock()) else None, "mute_form": MuteForm(formdata=None),
            "can_mute": g.user.role == "admin", "can_reach_server": _context().operator_client is not None}


def _back(case_id: str, message: str, category: str = "info"):
    flash(message, category)
    return redirect(url_for("cases.case_page", case_id=case_id))


def _full_id(case_id: str) -> str | None:
    full = _context().cases_store.resolve(case_id)
    return full if full == case_id else None


@mutes.route("/cases/<case_id>/mute", methods=["POST"])
@requires("admin")
def mute(case_id: str):
    context = _context()
    if _full_id(case_id) is None:
        return _back(case_id, _("No such case."), "error")
    form = MuteForm()
    if not form.validate_on_submit():
        return _back(case_id, _("Choose how long the mute lasts."), "error")
    if context.operator_client is None:
        return _back(case_id, _("Nobody was muted: %(problem)s", problem=operator_problem(None, "mute")), "error")
    days = int(form.days.data)
    try:
        with context.operator_client() as client:
            answer = client.mute_sender(case_id, days)
    except Exception as error:
        if getattr(error, "status", 0) == 409:
            return _back(case_id, _("This case is too old: the hotline no longer knows its sender, so nobody was muted."), "error")
        return _back(case_id, _("Nobody was muted: %(problem)s", problem=operator_problem(error, "mute")), "error")
    until = datetime.fromisoformat(answer["until"])
    desk_mutes().muted(case_id, until, g.user.username, context.clock())
    context.store.audit(g.user.username, "sender_muted", case_id, f"{days} days", now=context.clock())
    return _back(case_id, _("The sender of this case is muted until %(until)s.", until=until.strftime("%Y-%m-%d %H:%M")))


@mutes.route("/cases/<case_id>/unmute", methods=["POST"])
@requires("admin", "caseworker")
def unmute(case_id: str):
    context = _context()
    if _full_id(case_id) is None:
        return _back(case_id, _("No such case."), "error")
    if not ActionForm().validate_on_submit():
        return _back(case_id, _("The form had expired or was not from this desk. Nothing was changed."), "error")
    if context.operator_client is None:
        return _back(case_id, _("The mute stays: %(problem)s", problem=operator_problem(None, "unmute")), "error")
    try:
        with context.operator_client() as client:
            client.unmute_sender(case_id)
    except Exception as error:
        return _back(case_id, _("The mute stays: %(problem)s", problem=operator_problem(error, "unmute")), "error")
    desk_mutes().unmuted(case_id)
    context.store.audit(g.user.username, "sender_unmuted", case_id, now=context.clock())
    return _back(case_id, _("The sender of this case is no longer muted."))
