"""A referral's own page: the file the company gets, its deliveries, what the worker was told, the company's answers.

Case workers download the sealed file (an audited action: the desk keeps it, sealed to the
company's key, and cannot read it itself), deliver it again, tell the worker when the intake
server could not be reached at first, and record what the company answered against the day
it was asked to answer by. Admins say where each company gets its referrals (Companies page).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from ..referral_flow import ReferralDesk
from ..referral_store import CompanyContact
from ..store import DeskError
from .forms import ActionForm
from .problems import NOT_SET_UP, SERVER_FAILED, refusal_text
from .referral_forms import ANSWER_FILES_MAX_BYTES, ANSWER_FILES_MAX_COUNT, AnswerForm, ContactForm
from .security import requires

referrals = Blueprint("referrals", __name__)
WORKERS = ("admin", "caseworker")


def referral_desk() -> ReferralDesk:
    """The desk's referrals (made once per running desk)."""
    context = current_app.extensions["desk"]
    if getattr(context, "referral_desk", None) is None:
        context.referral_desk = ReferralDesk(context.settings, context.store, context.operator_client, context.clock)
    return context.referral_desk


def _view(referral_id: str):
    view = referral_desk().referrals.referral(referral_id)
    if view is None:
        abort(404)
    return view


def _attachment(data: bytes, name: str) -> Response:
    # Always a download, never shown in the desk's own origin: a company's file could be HTML or script.
    response = Response(data, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@referrals.route("/referrals/<referral_id>")
@requires(*WORKERS)
def page(referral_id: str, form: AnswerForm | None = None):
    work = referral_desk()
    view = _view(referral_id)
    context = current_app.extensions["desk"]
    if form is None:
        form = AnswerForm()
        form.received_on.data = context.clock().date()
    file_name, _sealed = work.sealed_file(referral_id)
    deliveries = work.referrals.deliveries(referral_id)
    tried = {(d.route, d.target) for d in deliveries}
    # "Deliver again" only where it would do something: a failed delivery, or a route added since.
    can_deliver = any(d.state == "failed" for d in deliveries) or any(
        route not in tried for route in work.referrals.contact(view.company_id).routes())
    return render_template(
        "referral.html", view=view, today=context.clock().date(), file_name=file_name, can_deliver=can_deliver,
        deliveries=deliveries,
        answers=work.referrals.answers(referral_id), form=form, action_form=ActionForm(),
        max_megabytes=ANSWER_FILES_MAX_BYTES // (1024 * 1024),
    )


@referrals.route("/referrals/<referral_id>/file")
@requires(*WORKERS)
def download(referral_id: str):
    """The sealed file, exactly as the company gets it (only the company's key opens it)."""
    view = _view(referral_id)
    context = current_app.extensions["desk"]
    name, sealed = referral_desk().sealed_file(referral_id)
    context.store.audit(g.user.username, "referral_downloaded", view.case_id, view.referral_id[:8], now=context.clock())
    return _attachment(sealed, name)


@referrals.route("/referrals/<referral_id>/deliver", methods=["POST"])
@requires(*WORKERS)
def deliver(referral_id: str):
    _view(referral_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    states = referral_desk().deliver_again(referral_id, g.user.username)
    if not states:
        flash(_("Nothing to deliver: the company has no webhook or e-mail address (an admin sets them on the Companies page)."), "info")
    for route, state in states:
        flash(delivery_sentence(route, state), "info" if state == "delivered" else "error")
    return redirect(url_for("referrals.page", referral_id=referral_id))


@referrals.route("/referrals/<referral_id>/tell-worker", methods=["POST"])
@requires(*WORKERS)
def tell_worker(referral_id: str):
    _view(referral_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    told, why = referral_desk().tell_worker(referral_id, g.user.username)
    flash(worker_told_sentence(told, why), "info" if told != "pending" else "error")
    return redirect(url_for("referrals.page", referral_id=referral_id))


@referrals.route("/referrals/<referral_id>/answer", methods=["POST"])
@requires(*WORKERS)
def record_answer(referral_id: str):
    _view(referral_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        flash(_("Give the day it was received, what the company said, and whether it promised remediation."), "error")
        return page(referral_id, form), 400
    uploads = [item for item in (form.files.data or []) if item and item.filename]
    if len(uploads) > ANSWER_FILES_MAX_COUNT:
        flash(_("At most %(count)d files with one answer.", count=ANSWER_FILES_MAX_COUNT), "error")
        return page(referral_id, form), 400
    files = [(item.filename[-200:], (item.mimetype or "application/octet-stream")[:100], item.read()) for item in uploads]
    try:
        referral_desk().record_answer(referral_id, received_on=form.received_on.data, text=form.text.data,
                                      remediation_promised=form.remediation.data == "yes", files=files, by=g.user.username)
    except DeskError as error:
        flash(refusal_text(error), "error")
        return page(referral_id, form), 400
    flash(_("The company's answer is recorded."), "info")
    return redirect(url_for("referrals.page", referral_id=referral_id))


@referrals.route("/referrals/<referral_id>/files/<file_id>")
@requires(*WORKERS)
def answer_file(referral_id: str, file_id: str):
    view = _view(referral_id)
    found = referral_desk().referrals.answer_file(referral_id, file_id)
    if found is None:
        abort(404)
    name, _type, data = found
    context = current_app.extensions["desk"]
    context.store.audit(g.user.username, "company_answer_file_opened", view.case_id, view.referral_id[:8], now=context.clock())
    safe = "".join(char if char.isalnum() or char in "._-" else "_" for char in name)[-120:] or "file"
    return _attachment(data, safe)


@referrals.route("/companies/<company_id>/contact", methods=["POST"])
@requires("admin")
def company_contact(company_id: str):
    work = referral_desk()
    company = work.referrals.company(company_id)
    if company is None:
        abort(404)
    form = ContactForm()
    if not form.validate_on_submit():
        abort(400)
    contact = CompanyContact((form.webhook_url.data or "").strip() or None, (form.webhook_secret.data or "").strip() or None,
                             (form.email.data or "").strip() or None)
    try:
        work.referrals.set_contact(company_id, contact)
    except DeskError as error:
        flash(refusal_text(error), "error")
    else:
        context = current_app.extensions["desk"]
        routes = ", ".join(route for route, _target in contact.routes()) or "download only"
        context.store.audit(g.user.username, "company_contact_set", "-", f"{company[1][:60]}: {routes}", now=context.clock())
        flash(_("Where %(company)s gets its referrals is saved.", company=company[1]), "info")
    return redirect(url_for("admin.companies"))


@referrals.app_errorhandler(413)
def too_large(error):
    return render_template("error.html", message=_("What was sent is too large (files: %(count)d MB in all at most). Nothing was saved.",
                                                   count=ANSWER_FILES_MAX_BYTES // (1024 * 1024))), 413


def delivery_sentence(route: str, state: str) -> str:
    """One plain line about one delivery of a referral."""
    what = _("webhook") if route == "webhook" else _("e-mail")
    if state == "delivered":
        return _("Delivered to the company by %(route)s.", route=what)
    if state == "pending":
        return _("Delivery by %(route)s did not go through yet; it will be tried again.", route=what)
    return _("Delivery by %(route)s failed: see the referral's page.", route=what)


def _why(why: str | None) -> str:
    """The operator API's reason, or what failed, in plain words."""
    return {
        "contact_declined": _("they asked not to be contacted"),
        "address_expired": _("the case no longer holds their reply address"),
        "opted_out": _("their number opted out of messages (STOP)"),
        "server_unreachable": _("the hotline server could not be reached"),
        "no_such_case": _("the hotline server no longer holds the case"),
    }.get(why or "", why or "-")


def worker_told_sentence(told: str, why: str | None) -> str:
    """One plain line: how the worker learns that the company was told, or why they have not yet."""
    if told == "sent_to_channel":
        return _("The worker was told on their chat (they allowed contact), and reads it on STATUS.")
    if told == "kept_for_status":
        return _("The worker reads it when they send STATUS and their code; nothing is pushed to them: %(why)s.", why=_why(why))
    if told == "already_told":
        return _("The worker was already told of an earlier referral of this case.")
    if why in ("no_operator_api", "no_api_token") or (why or "").startswith("http_"):  # a sentence of its own, with the fix
        return _("The worker is not told yet.") + " " + str(SERVER_FAILED if why.startswith("http_") else NOT_SET_UP)
    return _("The worker is not told yet: %(why)s.", why=_why(why))


@referrals.app_template_global()
def worker_told_text(told: str, why: str | None) -> str:
    return worker_told_sentence(told, why)
