"""Admin pages: the audit log, the directory of companies, the accounts (state only: they are made with the CLI)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from ..store import DeskError
from .forms import CompanyForm, UserStateForm
from .security import requires

admin = Blueprint("admin", __name__)


def _context():
    return current_app.extensions["desk"]


@admin.route("/audit")
@requires("admin")
def audit():
    context = _context()
    intact, summary = context.store.verify_audit()
    context.store.audit(g.user.username, "audit_read", now=context.clock())
    return render_template("audit.html", entries=context.store.audit_entries(limit=500), intact=intact, summary=summary)


@admin.route("/companies", methods=["GET", "POST"])
@requires("admin")
def companies():
    context = _context()
    form = CompanyForm()
    if form.validate_on_submit():
        try:
            context.store.add_company(form.name.data, form.recipient.data)
        except DeskError as error:
            flash(str(error), "error")
        else:
            context.store.audit(g.user.username, "company_added", "-", form.name.data[:60], now=context.clock())
            flash(_("Company added."), "info")
            return redirect(url_for("admin.companies"))
    return render_template("companies.html", form=form, companies=context.store.companies())


@admin.route("/users")
@requires("admin")
def users():
    return render_template("users.html", users=_context().store.users(), form=UserStateForm())


@admin.route("/users/<username>/state", methods=["POST"])
@requires("admin")
def user_state(username: str):
    context = _context()
    form = UserStateForm()
    if form.validate_on_submit():
        if username == g.user.username:
            flash(_("You cannot disable your own account."), "error")
        else:
            try:
                context.store.set_disabled(username, bool(form.disabled.data))
            except DeskError as error:
                flash(str(error), "error")
            else:
                context.store.audit(g.user.username, "user_disabled" if form.disabled.data else "user_enabled", username,
                                    now=context.clock())
    return redirect(url_for("admin.users"))
