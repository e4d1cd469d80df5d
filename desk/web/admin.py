"""Admin pages: the audit log, the directory of companies, the accounts (state and unlock: they are made with the CLI)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from ..audit import HeadError, heads_file_of, read_heads
from ..store import DeskError
from .forms import ActionForm, CompanyForm, UserStateForm
from .problems import refusal_text
from .security import requires

admin = Blueprint("admin", __name__)


def _context():
    return current_app.extensions["desk"]


@admin.route("/audit")
@requires("admin")
def audit():
    context = _context()
    heads_file = heads_file_of(context.settings)
    try:
        heads = read_heads(heads_file) if heads_file is not None and heads_file.exists() else []
    except HeadError as error:
        intact, summary = False, str(error)
    else:
        intact, summary = context.store.verify_audit(heads)
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
            flash(refusal_text(error), "error")
        else:
            context.store.audit(g.user.username, "company_added", "-", form.name.data[:60], now=context.clock())
            flash(_("Company added."), "info")
            return redirect(url_for("admin.companies"))
    from .referral_forms import ContactForm
    from .referrals import referral_desk

    directory = context.store.companies()
    contacts = {cid: referral_desk().referrals.contact(cid) for cid, _name, _key in directory}
    return render_template("companies.html", form=form, companies=directory, contacts=contacts, contact_form=ContactForm())


@admin.route("/users")
@requires("admin")
def users():
    context = _context()
    accounts = context.store.users()
    held = context.signins.states([account.username for account in accounts], context.clock())
    return render_template("users.html", users=accounts, held=held, form=UserStateForm(), unlock_form=ActionForm())


@admin.route("/users/<username>/unlock", methods=["POST"])
@requires("admin")
def unlock(username: str):
    """Lift a locked second step and the waits after wrong passwords (someone was locked out, or the attack is over)."""
    context = _context()
    form = ActionForm()
    if form.validate_on_submit():
        if context.store.user(username) is None:
            flash(_("No such account."), "error")
        else:
            had = context.signins.unlock(username)
            context.store.audit(g.user.username, "account_unlocked", username, "" if had else "nothing was held", now=context.clock())
            flash(_("%(name)s is unlocked.", name=username), "info")
    return redirect(url_for("admin.users"))


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
                flash(refusal_text(error), "error")
            else:
                context.store.audit(g.user.username, "user_disabled" if form.disabled.data else "user_enabled", username,
                                    now=context.clock())
    return redirect(url_for("admin.users"))
