"""The case worker's pages: the inbox, the list with filters and search, the case page and what can be done there."""

from __future__ import annotations

import base64
from datetime import date
from itertools import islice

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from bot.i18n import Catalogs
from channels.sms_segments import count_segments
from desk.lifecycle import STATUSES, due_dates
from desk.operator_store import StatusChangeError

from .case_lists import BANNER_SIZE, SECTIONS, filtered, inbox as inbox_of, page_number, paged, urgent_first
from .dialogue_view import case_dialogue, reply_cost

from ..referrals import referral_allowed
from ..store import DeskError
from .problems import operator_problem, refusal_text, status_refusal
from .forms import options, ActionForm, AssignForm, BulkAssignForm, LabelsForm, NoteForm, ReferForm, ReplyForm, StatusForm
from .referral_preview import preview_page
from .referrals import delivery_sentence, referral_desk, worker_told_sentence
from .security import requires
from .triage import triage_view

cases = Blueprint("cases", __name__)
WORKERS = ("admin", "caseworker")


def _context():
    return current_app.extensions["desk"]


def _case(case_id: str):
    found = _context().cases.get(case_id)
    if found is None:
        abort(404)
    return found


def _today() -> date:
    return _context().clock().date()


def _catalogs() -> Catalogs:
    context = current_app.extensions["desk"]
    if not hasattr(context, "catalogs"):
        context.catalogs = Catalogs(("en", "ja"))
    return context.catalogs


@cases.app_template_filter("category_name")
def category_name(code: str) -> str:
    language = g.user.language if g.get("user") else "en"
    return _catalogs().text(language, f"category.{code}")


@cases.route("/")
@requires("admin", "caseworker", "analyst")
def home():
    return redirect(url_for("patterns.page") if g.user.role == "analyst" else url_for("cases.inbox"))


@cases.route("/inbox")
@requires(*WORKERS)
def inbox():
    context, today = _context(), _today()
    with context.lock:
        by_status, everything = context.by_status, context.cases
    found = inbox_of(by_status, everything, seen=context.store.seen(g.user.username), mine=context.store.assigned_cases(g.user.username),
                     answers=context.answers.per_case(context.dialogue()), today=today, levels=context.cases_store.levels,
                     pages={name: page_number(request.args, name) for name in SECTIONS})
    shown = {case.case_id for page in found.sections.values() for case in page.rows}
    # Referrals the company has not answered by the day it was asked to (referral.response_days).
    overdue_referrals = [view for view in referral_desk().referrals.referrals() if view.overdue(today)]
    return render_template("inbox.html", urgent_new=found.urgent, banner_size=BANNER_SIZE, sections=found.sections,
                           assigned=context.store.assignments(shown), pull_form=ActionForm(), overdue_referrals=overdue_referrals,
                           today=today, page_url=_page_url)


def _page_url(parameter: str, number: int) -> str:
    """This page's address with `parameter` (a list's page) set to `number`, the other parameters kept."""
    args = request.args.to_dict()
    args[parameter] = str(number)
    return url_for(request.endpoint, **request.view_args, **args)


@cases.route("/pull", methods=["POST"])
@requires(*WORKERS)
def pull():
    form = ActionForm()
    if form.validate_on_submit():
        try:
            new = _context().pull_now()
            flash(_("%(count)d new cases.", count=new), "info")
        except Exception:
            current_app.logger.exception("pull failed")
            flash(_("The queue could not be reached; the cases here are as of the last pull."), "error")
    return redirect(url_for("cases.inbox"))


@cases.route("/cases")
@requires(*WORKERS)
def case_list():
    context, args = _context(), request.args
    with context.lock:
        ordered = context.ordered
    found = context.search(args["q"], ordered) if args.get("q") else ordered
    found = filtered(found, args, today=_today(), levels=context.cases_store.levels,
                     assigned=lambda name: context.store.assigned_cases(name or None), labelled=context.store.labelled)
    page = paged(urgent_first(found), page_number(args, "page"))
    return render_template("cases.html", page=page, total=page.total, args=args, statuses=STATUSES,
                           categories=context.settings.flow.categories, assigned=context.store.assignments(c.case_id for c in page.rows),
                           users=[u.username for u in context.store.users() if u.role != "analyst"], page_url=_page_url)


@cases.route("/cases/<case_id>")
@requires(*WORKERS)
def case_page(case_id: str):
    context = _context()
    _case(case_id)
    context.store.mark_seen(g.user.username, case_id, context.clock())
    context.store.audit(g.user.username, "case_opened", case_id, now=context.clock())
    return _render_case(case_id)


def _render_case(case_id: str, reply_form: ReplyForm | None = None, segments=None):
    context = _context()
    case = _case(case_id)
    record = case.record
    language = g.user.language
    questions = [(q.id, _catalogs().text(language, f"label.{q.id}") if _catalogs().has(language, f"label.{q.id}") else q.id,
                  record["category"] if q.kind == "category" else record["answers"].get(q.id)) for q in context.settings.flow.questions]
    assign_form = AssignForm()
    assign_form.assignee.choices = options([("", "-")] + [(u.username, u.username) for u in context.store.users()
                                                          if u.role != "analyst" and not u.disabled])
    assign_form.assignee.data = context.store.assignments([case_id]).get(case_id, "")
    labels_form = LabelsForm()
    labels_form.labels.data = ", ".join(context.store.labels([case_id]).get(case_id, []))
    refer_form = ReferForm()
    refer_form.company.choices = options((cid, name) for cid, name, _recipient in context.store.companies())
    key = case.workplace_key
    related = [] if not key else list(islice((c for c in context.ordered if c.workplace_key == key and c.case_id != case_id), 20))
    return render_template(
        "case.html", case=case, record=record, questions=questions, notes=context.store.notes(case_id),
        history=context.cases_store.history(case_id), due=due_dates(record["received_at"], context.cases_store.levels),
        dialogue=case_dialogue(context, record), note_form=NoteForm(formdata=None), assign_form=assign_form, labels_form=labels_form,
        status_form=StatusForm(status=case.status), reply_form=reply_form or ReplyForm(), refer_form=refer_form, segments=segments,
        referrals=referral_desk().referrals.referrals(case_id), today=_today(),
        can_refer=referral_allowed(context.settings, record), related=related,
        contact_allowed=record.get("contact") is not None, attachments=_playable(record.get("attachments"), g.user.role),
        **triage_view(case.case_id, record, category_name),
    )


def _playable(items: list[dict] | tuple[dict, ...] | None, role: str) -> list[tuple[int, dict]]:
    """The attachments (of a case, or of a worker's answer) this user may see or hear, with their index:
    a worker's original voice (kept only where the deployment says) to admins alone; everyone else hears it disguised."""
    return [(index, item) for index, item in enumerate(items or []) if item.get("voice") != "original" or role == "admin"]


@cases.app_template_filter("playable")
def playable(items) -> list[tuple[int, dict]]:
    return _playable(items, g.user.role)


@cases.route("/cases/<case_id>/attachments/<int:index>")
@requires(*WORKERS)
def attachment(case_id: str, index: int):
    return _served(case_id, _case(case_id).record.get("attachments") or [], index, "attachment_opened", str(index))


@cases.route("/cases/<case_id>/answers/<answer_id>/<int:index>")
@requires(*WORKERS)
def answer_recording(case_id: str, answer_id: str, index: int):
    """A recording a worker sent as an answer (the voice line's call back), kept in the dialogue."""
    _case(case_id)
    entry = next((e for e in _context().dialogue().thread(case_id) if e.entry_id == answer_id and e.direction == "worker"), None)
    if entry is None:
        abort(404)
    return _served(case_id, entry.attachments, index, "answer_recording_opened", f"{answer_id}/{index}")


def _served(case_id: str, items, index: int, action: str, detail: str) -> Response:
    if not 0 <= index < len(items):
        abort(404)
    item = items[index]
    if not item["content_type"].startswith(("image/", "audio/")):
        abort(404)
    if item.get("voice") == "original" and g.user.role != "admin":
        abort(404)  # the worker's own voice (kept only where the deployment says): admins alone hear it
    _context().store.audit(g.user.username, action, case_id, detail, now=_context().clock())
    data = base64.b64decode(item["data_base64"])
    response = Response(data, mimetype=item["content_type"])
    response.headers["Content-Disposition"] = "inline"
    # Byte ranges: a browser's player reads a recording's length from its end (an Ogg file says it
    # nowhere else) and seeks in it; without them it shows no length and cannot skip.
    return response.make_conditional(request, accept_ranges=True, complete_length=len(data))


def _done(case_id: str, message: str, category: str = "info"):
    flash(message, category)
    return redirect(url_for("cases.case_page", case_id=case_id))


@cases.route("/cases/<case_id>/note", methods=["POST"])
@requires(*WORKERS)
def add_note(case_id: str):
    _case(case_id)
    form = NoteForm()
    if not form.validate_on_submit():
        abort(400)
    context = _context()
    context.store.add_note(case_id, g.user.username, form.text.data, context.clock())
    context.store.audit(g.user.username, "note_added", case_id, now=context.clock())
    return _done(case_id, _("Note added."))


@cases.route("/cases/<case_id>/assign", methods=["POST"])
@requires(*WORKERS)
def assign(case_id: str):
    _case(case_id)
    form = AssignForm()
    if not form.validate_on_submit():
        abort(400)
    context = _context()
    try:
        context.store.assign(case_id, form.assignee.data or None, g.user.username, context.clock())
    except DeskError as error:
        return _done(case_id, refusal_text(error), "error")
    context.store.audit(g.user.username, "assigned", case_id, form.assignee.data or "-", now=context.clock())
    return _done(case_id, _("Assignment saved."))


@cases.route("/cases/<case_id>/labels", methods=["POST"])
@requires(*WORKERS)
def set_labels(case_id: str):
    _case(case_id)
    form = LabelsForm()
    if not form.validate_on_submit():
        abort(400)
    context = _context()
    context.store.set_labels(case_id, form.labels.data.split(","))
    context.store.audit(g.user.username, "labels_set", case_id, now=context.clock())
    return _done(case_id, _("Labels saved."))


@cases.route("/cases/<case_id>/status", methods=["POST"])
@requires(*WORKERS)
def set_status(case_id: str):
    case = _case(case_id)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    context = _context()
    try:
        context.cases_store.set_status(case_id, form.status.data, form.reason.data, context.clock())
    except StatusChangeError:
        return _done(case_id, status_refusal(case.status, form.status.data), "error")
    context.store.audit(g.user.username, "status_changed", case_id, f"{case.status}->{form.status.data}", now=context.clock())
    message = _("Status changed.")
    if context.operator_client is not None:
        try:
            with context.operator_client() as client:
                client.set_status(case_id, form.status.data)
        except Exception as error:
            message = _("Status changed here, but the hotline server could not be told; the worker still sees the old status.")
            message += " " + operator_problem(error, "status push")
    context.refresh_case(case_id)
    return _done(case_id, message)


@cases.route("/cases/<case_id>/reply", methods=["POST"])
@requires(*WORKERS)
def reply(case_id: str):
    _case(case_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        abort(400)
    if request.form.get("action") == "count":  # what the message costs a worker on SMS (worded for them), before it is sent
        return _render_case(case_id, form, reply_cost(_context(), _case(case_id).record, form.text.data))
    context = _context()
    if context.operator_client is None:
        return _done(case_id, _("The message was not sent: %(reason)s", reason=operator_problem(None, "reply")), "error")
    try:
        with context.operator_client() as client:
            answer = client.post_message(case_id, form.text.data)
    except Exception as error:
        return _done(case_id, _("The message was not sent: %(reason)s", reason=operator_problem(error, "reply")), "error")
    context.dialogue().add_sent(case_id, form.text.data, context.clock().strftime("%Y-%m-%dT%H:%M:%SZ"), answer)
    context.store.audit(g.user.username, "reply_sent", case_id, str(answer.get("delivery", ""))[:40], now=context.clock())
    if answer.get("delivery") == "sent_to_channel":
        return _done(case_id, _("Sent to the worker's chat."))
    return _done(case_id, _("Kept for the worker: they will read it when they send STATUS and their code."))


@cases.route("/cases/<case_id>/refer", methods=["POST"])
@requires(*WORKERS)
def refer(case_id: str):
    """First a preview of exactly what the company will get; then, confirmed, sealed to its key."""
    case = _case(case_id)
    context = _context()
    form = ReferForm()
    form.company.choices = options((cid, name) for cid, name, _recipient in context.store.companies())
    if not form.validate_on_submit():
        abort(400)
    if not referral_allowed(context.settings, case.record):
        return _done(case_id, _("The worker did not agree that the company may be told: no referral."))
    company = next((c for c in context.store.companies() if c[0] == form.company.data), None)
    if company is None:
        abort(400)
    company_id, name, _recipient = company
    work = referral_desk()
    if form.confirm.data != "yes":
        form.confirm.data = "yes"
        return preview_page(case, company_id, name, form, _catalogs())  # a letter, with the exact file beside it
    try:
        made = work.refer(case.record, company_id, g.user.username)
    except DeskError as error:
        return _done(case_id, refusal_text(error), "error")
    flash(_("Referred to %(company)s.", company=name), "info")
    for route, state in made.deliveries:
        flash(delivery_sentence(route, state), "info" if state == "delivered" else "error")
    flash(worker_told_sentence(made.worker_told, made.worker_told_why), "info" if made.worker_told != "pending" else "error")
    return redirect(url_for("referrals.page", referral_id=made.view.referral_id))


@cases.route("/cases/bulk-assign", methods=["GET", "POST"])
@requires("admin")
def bulk_assign():
    context = _context()
    form = BulkAssignForm()
    names = [(u.username, u.username) for u in context.store.users() if u.role != "analyst"]
    form.from_user.choices, form.to_user.choices = options(names), options(names)
    if form.validate_on_submit():
        try:
            moved = context.store.reassign_all(form.from_user.data, form.to_user.data, g.user.username, context.clock())
        except DeskError as error:
            flash(refusal_text(error), "error")
            return render_template("bulk_assign.html", form=form)
        context.store.audit(g.user.username, "bulk_assigned", form.from_user.data, f"{moved} cases to {form.to_user.data}",
                            now=context.clock())
        flash(_("%(count)d cases moved.", count=moved), "info")
        return redirect(url_for("cases.case_list"))
    return render_template("bulk_assign.html", form=form)


@cases.app_template_global()
def sms_segments(text: str) -> int:
    return count_segments(text)


@cases.app_template_global()
def days_since(stamp: str) -> int:
    return (_today() - date.fromisoformat(stamp[:10])).days


