"""Triage on the case page: the category a case worker gives a case, the NLU's suggestion beside it,
and links to other cases (a duplicate, one collective grievance). Case workers and admins.

Every change is a form with its CSRF token and goes to the audit log with who, which case
and what (category codes, the other case's id), never the reason, which is kept encrypted
with the change (desk/categories.py). `triage_view` gives the case page what it shows.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..case_links import KINDS, CaseLinkStore
from ..categories import CaseCategories, CategoryChangeError
from ..store import DeskError
from .forms import ActionForm, options
from .mutes import mute_view
from .security import requires

triage = Blueprint("triage", __name__)
WORKERS = ("admin", "caseworker")


class CategoryForm(FlaskForm):
    category = SelectField("Category", choices=[], validate_choice=False)
    reason = TextAreaField("Reason (kept encrypted, not shown to the worker)", validators=[DataRequired(), Length(max=2000)])


class LinkForm(FlaskForm):
    other = StringField("The other case (its id, or its first 6 characters or more)", validators=[DataRequired(), Length(max=36)])
    kind = SelectField("Link", choices=options((kind, kind) for kind in KINDS))


def _context():
    return current_app.extensions["desk"]


def categories() -> CaseCategories:
    context = _context()
    return CaseCategories(context.cases_store, context.settings.flow.categories)


def links() -> CaseLinkStore:
    """The links of the running desk's store (their table is made at the first use)."""
    context = _context()
    if getattr(context, "case_links", None) is None:
        context.case_links = CaseLinkStore(context.cases_store)
    return context.case_links


def _full_id(case_id: str) -> str:
    full = _context().cases_store.resolve(case_id)
    if full is None or full != case_id:
        abort(404)
    return full


def _done(case_id: str, message: str, category: str = "info"):
    flash(message, category)
    return redirect(url_for("cases.case_page", case_id=case_id))


def triage_view(case_id: str, record: dict, category_name) -> dict:
    """What the case page shows of triage: the category now and as filed, the NLU's view, the links, the forms."""
    current = categories().current(case_id)
    form = CategoryForm(formdata=None)
    form.category.choices = options((code, category_name(code)) for code in _context().settings.flow.categories)
    form.category.data = current
    nlu = record.get("nlu") or {}
    confidence = nlu.get("confidence")
    return {
        "category_now": current,
        "category_filed": record["category"],
        "category_history": categories().history(case_id),
        "category_form": form,
        "nlu_suggestion": nlu.get("suggested_category"),
        "nlu_confidence": round(confidence * 100) if isinstance(confidence, (int, float)) else None,
        "nlu_backend": nlu.get("backend"),
        "case_links": links().of(case_id),
        "link_form": LinkForm(formdata=None),
        **mute_view(case_id),
    }


@triage.route("/cases/<case_id>/category", methods=["POST"])
@requires(*WORKERS)
def change_category(case_id: str):
    case_id = _full_id(case_id)
    form = CategoryForm()
    if not form.validate_on_submit():
        return _done(case_id, _("A category change needs a new category and a reason."), "error")
    context = _context()
    try:
        change = categories().change(case_id, form.category.data, form.reason.data, g.user.username, context.clock())
    except CategoryChangeError as error:
        return _done(case_id, str(error), "error")
    context.store.audit(g.user.username, "category_changed", case_id, f"{change.from_category}->{change.to_category}",
                        now=context.clock())
    context.refresh_case(case_id)  # the lists, search and the Patterns page follow the new category at once
    return _done(case_id, _("Category changed."))


@triage.route("/cases/<case_id>/links", methods=["POST"])
@requires(*WORKERS)
def link(case_id: str):
    case_id = _full_id(case_id)
    form = LinkForm()  # also posted by the one-click "join" of a case of the same workplace
    if not form.validate_on_submit():  # the CSRF token was checked before (CSRFProtect): a field is missing
        return _done(case_id, _("No single case matches that id: give its first 6 characters or more."), "error")
    context = _context()
    other = context.cases_store.resolve(form.other.data.strip().lower())
    if other is None:
        return _done(case_id, _("No single case matches that id: give its first 6 characters or more."), "error")
    try:
        made = links().link(case_id, other, form.kind.data, g.user.username, context.clock())
    except DeskError as error:
        return _done(case_id, str(error), "error")
    context.store.audit(g.user.username, "case_linked", case_id, f"{made.kind} {other}", now=context.clock())
    return _done(case_id, _("Marked as a duplicate.") if made.kind == "duplicate" else _("Joined into one collective grievance."))


@triage.route("/cases/<case_id>/links/<link_id>/remove", methods=["POST"])
@requires(*WORKERS)
def unlink(case_id: str, link_id: str):
    case_id = _full_id(case_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    removed = links().unlink(link_id, case_id)
    if removed is None:
        abort(404)
    context = _context()
    other = removed.other_id if removed.case_id == case_id else removed.case_id
    context.store.audit(g.user.username, "case_unlinked", case_id, f"{removed.kind} {other}", now=context.clock())
    return _done(case_id, _("Link removed."))
