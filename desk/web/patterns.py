"""The Patterns page: the pattern report of desk/reports/ for a period, in the browser (admins and analysts).

`internal` shows every count of any period. `public` shows what a public report of a
whole calendar month, quarter or year that has ended would publish now: the months already
published as they were recorded (desk/reports/snapshot.py), with the year's k. Viewing
records nothing: only `grievance report --profile public` publishes. The report is shown in the
reader's language (the one Flask-Babel chose for the page: desk/reports/words.py), every word and
value label of it; the report's files stay in English.
"""

from __future__ import annotations

import logging
import threading
from datetime import date, timedelta

from flask import Blueprint, Response, current_app, g, render_template, request
from flask_babel import get_locale, get_translations, gettext as _
from markupsafe import Markup

from ..reports.facts import referred_cases
from ..reports.build import build_report
from ..reports.figures import row_orders
from ..reports.periods import PeriodError, public_period
from ..reports.outcome import read_outcomes
from ..reports.referral_figures import read_referral_facts
from ..reports.referral_public import ReferralRecord
from ..reports.render import render_html, report_css
from ..reports.snapshot import PublicationRecord, public_facts
from ..reports.words import Words
from ..referrals import referral_questions
from .forms import PatternsForm
from .pattern_facts import store_fingerprint
from .security import requires

log = logging.getLogger(__name__)
patterns = Blueprint("patterns", __name__)
DEFAULT_K = 5
LIST_LIMIT = 500  # lines of the grievance list shown on the page; the report's files (`grievance report`) hold them all


def _figures(context, start: date, end: date, profile: str, today: date, live: list, outcomes: list, referrals: list):
    """The report's figures, the months of its year already published, and a reason when there is none."""
    settings = context.settings
    common = {"start": start, "end": end, "profile": profile, "as_of": today,
              "acknowledge_within_days": settings.deployment.acknowledge_within_days,
              "feedback_within_days": settings.operator.service_levels.feedback_within_days, **row_orders(settings),
              "outcomes": outcomes, "referrals": referrals}
    if profile != "public":
        return build_report(live, **common), [], None
    try:
        period = public_period(start, end)
    except PeriodError:
        return None, [], _("A public report covers a whole calendar month, quarter or year that has ended.")
    if end >= today:
        return None, [], _("A public report covers a whole calendar month, quarter or year that has ended.")
    kept, recorded = PublicationRecord(context.cases_store).load({period.year, period.previous().year})
    k = recorded[period.year].k if period.year in recorded else DEFAULT_K
    figures = build_report(public_facts(live, kept), k=k, recorded=recorded,
                           referral_record=ReferralRecord(context.cases_store).load(period.year), **common)
    return figures, sorted(month for month in kept if month.startswith(f"{period.year:04d}-")), None


def _report(context, start: date, end: date, profile: str, today: date, categories: str = "desk", words: Words | None = None):
    """(the report's HTML or None, the months published, a reason when there is none, whether it is up to date),
    made again only when something it rests on changed (desk/web/pattern_facts.py). `categories`: "desk"
    counts the category the case workers gave each case, "filed" the one it was filed under (internal only).
    `words`: the reader's language, taken in the request (a report made behind the page has none); default English."""
    words = words or Words()
    if profile == "public" and categories != "desk":
        return None, [], _("A public report counts the categories the case workers set, as every report of its year."), True
    if profile == "public":  # decided before the report is looked for: a report made behind the page has no request
        try:
            public_period(start, end)
        except PeriodError:
            return None, [], _("A public report covers a whole calendar month, quarter or year that has ended."), True
        if end >= today:
            return None, [], _("A public report covers a whole calendar month, quarter or year that has ended."), True
    store, settings = context.cases_store, context.settings
    outcomes = read_outcomes(store)
    referrals = read_referral_facts(store, settings.referral.response_days)
    with context.lock:
        cases, generation = context.ordered, context.generation
    fingerprint = (generation, store_fingerprint(store, outcomes, referrals, {start.year - 1, start.year, end.year}))

    def make():
        questions = tuple(referral_questions(settings))
        live = context.pattern_facts.facts(cases, store, end, questions, referred_cases(store), categories)
        figures, published, problem = _figures(context, start, end, profile, today, live, outcomes, referrals)
        html = None if figures is None else render_html(figures, settings.deployment.name, fragment=True, list_limit=LIST_LIMIT,
                                                        words=words)
        return html, published, problem

    view = (start, end, profile, categories, today, words.language)  # one report per language read in
    (html, published, problem), current = context.reports.get(view, fingerprint, make, len(cases))
    return html, published, problem, current


def prepare_in_background(context) -> threading.Thread:
    """Make every case's facts and the year-to-date report (the page's first view) in a thread, at start.

    At 50,000 cases the first visit after a start would otherwise wait ~3 s for the facts of every case
    (the analyst who opens the desk in the morning). A visit meanwhile waits for the facts being made,
    never makes them twice; the report in another language than English reuses them."""

    def prepare() -> None:
        today = context.clock().date()
        try:
            _report(context, date(today.year, 1, 1), today, "internal", today)
        except Exception:  # the first visit makes it then, as it would have
            log.exception("the year-to-date report could not be made at start")

    thread = threading.Thread(target=prepare, name="desk-patterns-prepare", daemon=True)
    thread.start()
    return thread


@patterns.route("/patterns")
@requires("admin", "analyst")
def page():
    context = current_app.extensions["desk"]
    today = context.clock().date()
    form = PatternsForm(request.args, meta={"csrf": False})
    if not request.args:
        form.start.data, form.end.data = date(today.year, 1, 1), today
    report_html, published, problem, current = None, [], None, True
    if form.validate() or not request.args:
        start, end = form.start.data, form.end.data
        profile, categories = form.profile.data or "internal", form.categories.data or "desk"
        if end >= start and (end - start) <= timedelta(days=3660):
            words = Words(get_translations(), str(get_locale() or "en"))
            html, published, problem, current = _report(context, start, end, profile, today, categories, words)
            if html is not None:
                report_html = Markup(html)  # noqa: S704  our own autoescaped template
                context.store.audit(g.user.username, "report_viewed", "-", f"{start}..{end} {profile} {categories}", now=context.clock())
    return render_template("patterns.html", form=form, report_html=report_html, published=published, problem=problem,
                           current=current)


@patterns.route("/patterns/report.css")
def css():
    """The report's styles (the same as in a report file), served so the page needs no inline style."""
    return Response(report_css(), mimetype="text/css")
