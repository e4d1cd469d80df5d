"""The Patterns page: the pattern report of desk/reports/ for a period, in the browser (admins and analysts)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Response, current_app, g, render_template, request
from markupsafe import Markup

from ..reports.facts import read_facts
from ..reports.figures import build_report
from ..reports.render import render_html, report_css
from ..referrals import referral_questions
from .forms import PatternsForm
from .security import requires

patterns = Blueprint("patterns", __name__)


@patterns.route("/patterns")
@requires("admin", "analyst")
def page():
    context = current_app.extensions["desk"]
    today = context.clock().date()
    form = PatternsForm(request.args, meta={"csrf": False})
    if not request.args:
        form.start.data, form.end.data = date(today.year, 1, 1), today
    report_html = None
    if form.validate() or not request.args:
        start, end = form.start.data, form.end.data
        if end >= start and (end - start) <= timedelta(days=3660):
            settings = context.settings
            figures = build_report(
                read_facts(context.cases_store, end, referral_questions(settings)), start=start, end=end,
                profile=form.profile.data or "internal", categories=settings.flow.categories, as_of=today,
                acknowledge_within_days=settings.deployment.acknowledge_within_days,
                feedback_within_days=settings.operator.service_levels.feedback_within_days,
            )
            report_html = Markup(render_html(figures, settings.deployment.name, fragment=True))  # noqa: S704  our own autoescaped template
            context.store.audit(g.user.username, "report_viewed", "-", f"{start}..{end} {form.profile.data or 'internal'}",
                                now=context.clock())
    return render_template("patterns.html", form=form, report_html=report_html)


@patterns.route("/patterns/report.css")
def css():
    """The report's styles (the same as in a report file), served so the page needs no inline style."""
    return Response(report_css(), mimetype="text/css")
