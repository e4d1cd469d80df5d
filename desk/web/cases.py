"""The case worker's pages: the inbox, the list with filters and search, the case page and what can be done there."""

from __future__ import annotations

import base64
import json
from datetime import date

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from bot.i18n import Catalogs
from channels.sms_segments import count_segments
from desk.lifecycle import OPEN_STATUSES, STATUSES, due_dates
from desk.dialogue import OperatorDialogue
from desk.operator_store import StatusChangeError, store_location

from ..referrals import referral_record, referral_allowed
from ..store import DeskError
from .forms import options, ActionForm, AssignForm, BulkAssignForm, LabelsForm, NoteForm, ReferForm, ReplyForm, StatusForm
from .security import requires

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


def _overdue(case, today: date) -> bool:
    due = due_dates(case.record["received_at"], _context().cases_store.levels)
    if case.status == "received" and due.acknowledge_by < today:
        return True
    return case.status in OPEN_STATUSES and due.feedback_by < today


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
    seen = context.store.seen(g.user.username)
    assigned = context.store.assignments()
    with context.lock:
        everything = list(context.cases.values())
    everything.sort(key=lambda c: (not c.record["urgent"], c.record["received_at"]), reverse=False)
    urgent_new = [c for c in everything if c.record["urgent"] and c.status == "received"]
    new = [c for c in everything if c.case_id not in seen and c.status == "received"]
    answered = [c for c in everything if _has_new_answers(c.case_id, seen.get(c.case_id))]
    mine = [c for c in everything if assigned.get(c.case_id) == g.user.username and c.status not in ("resolved", "closed")]
    overdue = [c for c in everything if _overdue(c, today)]
    return render_template("inbox.html", urgent_new=urgent_new, new=new, answered=answered, mine=mine, overdue=overdue,
                           assigned=assigned, pull_form=ActionForm())


def _has_new_answers(case_id: str, seen_at: str | None) -> bool:
    answers = [entry for entry in _thread(case_id) if entry.direction == "worker"]
    return bool(answers) and (seen_at is None or max(entry.at for entry in answers) > seen_at)


def _thread(case_id: str):
    context = _context()
    dialogue = OperatorDialogue(store_location(context.settings), context.identity)
    try:
        return dialogue.thread(case_id)
    finally:
        dialogue.close()


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
    context, today, args = _context(), _today(), request.args
    assigned, labels = context.store.assignments(), context.store.labels()
    found = context.search(args.get("q", "")) if args.get("q") else list(context.cases.values())
    if args.get("status"):
        found = [c for c in found if c.status == args["status"]]
    if args.get("category"):
        found = [c for c in found if c.record["category"] == args["category"]]
    if args.get("urgent"):
        found = [c for c in found if c.record["urgent"]]
    if args.get("overdue"):
        found = [c for c in found if _overdue(c, today)]
    if args.get("assignee"):
        wanted = args["assignee"]
        found = [c for c in found if assigned.get(c.case_id, "-") == wanted]
    if args.get("label"):
        found = [c for c in found if args["label"] in labels.get(c.case_id, [])]
    for key, field in (("language", "language"), ("channel", "channel")):
        if args.get(key):
            found = [c for c in found if c.record[field] == args[key]]
    if args.get("since"):
        found = [c for c in found if c.record["received_at"][:10] >= args["since"]]
    if args.get("until"):
        found = [c for c in found if c.record["received_at"][:10] <= args["until"]]
    found.sort(key=lambda c: (not c.record["urgent"], c.record["received_at"]), reverse=False)
    found.sort(key=lambda c: c.record["urgent"], reverse=True)
    return render_template("cases.html", found=found[:500], total=len(found), args=args, statuses=STATUSES,
                           categories=context.settings.flow.categories, assigned=assigned, labels=labels,
                           users=[u.username for u in context.store.users() if u.role != "analyst"])


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
    assign_form.assignee.data = context.store.assignments().get(case_id, "")
    labels_form = LabelsForm()
    labels_form.labels.data = ", ".join(context.store.labels().get(case_id, []))
    refer_form = ReferForm()
    refer_form.company.choices = options((cid, name) for cid, name, _recipient in context.store.companies())
    workplace = record["answers"].get("workplace")
    related = [c for c in context.cases.values() if c.case_id != case_id and workplace
               and isinstance(c.record["answers"].get("workplace"), str)
               and c.record["answers"]["workplace"].casefold().strip() == workplace.casefold().strip()]
    return render_template(
        "case.html", case=case, record=record, questions=questions, notes=context.store.notes(case_id),
        history=context.cases_store.history(case_id), due=due_dates(record["received_at"], context.cases_store.levels),
        thread=_thread(case_id), note_form=NoteForm(), assign_form=assign_form, labels_form=labels_form,
        status_form=StatusForm(status=case.status), reply_form=reply_form or ReplyForm(), refer_form=refer_form, segments=segments,
        referrals=context.store.referrals(case_id), can_refer=referral_allowed(context.settings, record), related=related[:20],
        contact_allowed=record.get("contact") is not None, attachments=record.get("attachments") or [],
    )


@cases.route("/cases/<case_id>/attachments/<int:index>")
@requires(*WORKERS)
def attachment(case_id: str, index: int):
    items = _case(case_id).record.get("attachments") or []
    if not 0 <= index < len(items):
        abort(404)
    item = items[index]
    if not item["content_type"].startswith(("image/", "audio/")):
        abort(404)
    _context().store.audit(g.user.username, "attachment_opened", case_id, str(index), now=_context().clock())
    response = Response(base64.b64decode(item["data_base64"]), mimetype=item["content_type"])
    response.headers["Content-Disposition"] = "inline"
    return response


def _done(case_id: str, message: str):
    flash(message, "info")
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
        return _done(case_id, str(error))
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
    except StatusChangeError as error:
        return _done(case_id, str(error))
    context.store.audit(g.user.username, "status_changed", case_id, f"{case.status}->{form.status.data}", now=context.clock())
    message = _("Status changed.")
    if context.operator_client is not None:
        try:
            with context.operator_client() as client:
                client.set_status(case_id, form.status.data)
        except Exception:
            message = _("Status changed here, but the hotline server could not be told; the worker still sees the old status.")
    context.refresh()
    return _done(case_id, message)


@cases.route("/cases/<case_id>/reply", methods=["POST"])
@requires(*WORKERS)
def reply(case_id: str):
    _case(case_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        abort(400)
    if request.form.get("action") == "count":  # what the message costs a worker on SMS, before it is sent
        return _render_case(case_id, form, count_segments(form.text.data))
    context = _context()
    if context.operator_client is None:
        return _done(case_id, _("No hotline server is configured (operator_client.url): the message was not sent."))
    try:
        with context.operator_client() as client:
            answer = client.post_message(case_id, form.text.data)
    except Exception as error:
        return _done(case_id, _("The message was not sent: %(reason)s", reason=str(error)))
    dialogue = OperatorDialogue(store_location(context.settings), context.identity)
    try:
        dialogue.add_sent(case_id, form.text.data, context.clock().strftime("%Y-%m-%dT%H:%M:%SZ"))
    finally:
        dialogue.close()
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
    company_id, name, recipient = company
    record = referral_record(case.record, name)
    if form.confirm.data != "yes":
        form.confirm.data = "yes"
        return render_template("refer.html", case=case, company=name, preview=json.dumps(record, ensure_ascii=False, indent=2),
                               form=form)
    from storage import crypto

    sealed = crypto.seal_referral(json.dumps(record, ensure_ascii=False).encode(), recipient)
    context.store.add_referral(case_id, company_id, g.user.username, sealed, context.clock())
    context.store.audit(g.user.username, "referred", case_id, name[:60], now=context.clock())
    return _done(case_id, _("Referred to %(company)s.", company=name))


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
            flash(str(error), "error")
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


