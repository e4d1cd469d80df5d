"""`grievance report` and `grievance demo-data`: pattern reports from the operator's store, on the operator's machine.

`report` reads the cases the operator has pulled (opened with the private key), computes
the figures of a period under a profile (`internal`: every count, any period, marked "do not
publish"; `public`: a calendar month, quarter or year that has ended, with figures that fit
every other public report of the year, see desk/reports/public.py) and writes the HTML,
CSV and JSON files (and a PDF with --pdf) into a folder. A public report records the months
it rests on (desk/reports/snapshot.py) before its files are written. `demo-data` fills a
store with fake cases to try it on.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import click

from bot.cli import _settings

from .demo import fill_demo_store
from .facts import CATEGORY_BASES, read_facts
from .build import build_report
from .figures import PROFILES, row_orders
from .outcome import read_outcomes
from .periods import PeriodError, public_period
from .referral_figures import read_referral_facts
from .render import write_report


def today() -> date:
    """The UTC day, to refuse a public report of a period that has not ended (the files never depend on it)."""
    return datetime.now(timezone.utc).date()



def _store(ctx: click.Context, key_file: str | None):
    from storage.keys import load_operator_identity
    from desk.lifecycle import ServiceLevels
    from desk.operator_store import OperatorStore, store_location

    settings = _settings(ctx)
    identity = load_operator_identity(Path(key_file) if key_file else settings.path(settings.operator.identity_file))
    levels = ServiceLevels(settings.deployment.acknowledge_within_days, settings.operator.service_levels.feedback_within_days)
    return settings, OperatorStore(store_location(settings), identity, levels)


def _day(_ctx, _param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("a day as YYYY-MM-DD") from None


@click.command("report")
@click.option("--from", "start", required=True, callback=_day, metavar="DAY", help="First day of the period (YYYY-MM-DD).")
@click.option("--to", "end", required=True, callback=_day, metavar="DAY", help="Last day of the period (YYYY-MM-DD).")
@click.option("--profile", required=True, type=click.Choice(PROFILES), help="internal: every count; public: safe to publish.")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Folder for the report's files.")
@click.option("--k", "k", type=click.IntRange(2, 100), default=5, show_default=True,
              help="Public profile: counts under k are not shown (10 is common for health statistics); one k per year.")
@click.option("--as-of", callback=_day, default=None, metavar="DAY", help="The day 'overdue now' refers to (default: --to).")
@click.option("--country", default="", help="The country shown where a district is too rare to name.")
@click.option("--title", default=None, help="The report's title (default: the deployment's name and the period).")
@click.option("--categories", "category_basis", type=click.Choice(CATEGORY_BASES), default="desk", show_default=True,
              help="Count each case under the category the case workers gave it (desk), or the one it was filed under "
                   "on the hotline (filed: the worker's choice, often the NLU's suggestion; internal profile only).")
@click.option("--pdf", is_flag=True, help="Also print report.pdf with a headless Chromium.")
@click.option("--key", "key_file", type=click.Path(dir_okay=False), default=None,
              help="Operator private key (default: operator.identity_file).")
@click.pass_context
def report(ctx, start, end, profile, output, k, as_of, country, title, category_basis, pdf, key_file) -> None:
    """Patterns across cases for a period: counts, recurrence, the mechanism's own timings.

    A public report covers a whole calendar month, quarter or year that has ended.
    """
    from .public import KError
    from .referral_public import ReferralRecord, ReferralRecordError
    from .snapshot import PublicationRecord, RecordError, public_facts

    if end < start:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    if profile == "public" and category_basis != "desk":
        raise click.BadParameter("a public report counts the case workers' categories, as every report of its year",
                                 param_hint="--categories")
    if profile == "public":
        try:
            period = public_period(start, end)
        except PeriodError as error:
            raise click.BadParameter(str(error), param_hint="--from/--to") from None
        if end >= today():
            raise click.BadParameter(f"{period.label} has not ended yet: a public report covers a period that is over",
                                     param_hint="--to")
    settings, store = _store(ctx, key_file)
    recorded_now: list[str] = []
    try:
        referral_questions = [q.id for q in settings.flow.questions if getattr(q, "grants_referral", False)]
        facts, recorded, record = list(read_facts(store, end, referral_questions, category_basis)), {}, None
        referral_record, referrals_kept = None, None
        if profile == "public":
            record, referral_record = PublicationRecord(store), ReferralRecord(store)
            kept, recorded = record.load({period.year, period.previous().year})
            facts = public_facts(facts, kept)
            referrals_kept = referral_record.load(period.year)
        figures = build_report(
            facts, start=start, end=end, profile=profile, k=k, as_of=as_of, recorded=recorded,
            country=country, acknowledge_within_days=settings.deployment.acknowledge_within_days,
            feedback_within_days=settings.operator.service_levels.feedback_within_days, **row_orders(settings),
            outcomes=read_outcomes(store),
            referrals=read_referral_facts(store, settings.referral.response_days), referral_record=referrals_kept,
        )
        if record is not None:  # before any file: a report written is a report recorded
            recorded_now = record.record(figures, facts)
            referral_record.record(figures.referrals)
    except (RecordError, ReferralRecordError, KError) as error:
        raise click.ClickException(str(error)) from None
    finally:
        store.close()
    heading = title or f"{settings.deployment.name}: cases from {start.isoformat()} to {end.isoformat()}"
    if profile == "internal":
        heading += " (internal: do not publish)"
    if category_basis == "filed":
        heading += " (categories as filed on the hotline)"
    try:
        written = write_report(figures, Path(output), heading, pdf=pdf)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None
    if profile == "public":
        months = f"; months recorded as published now: {', '.join(recorded_now)}" if recorded_now else ""
        click.echo(f"public report of {figures.period.label} written to {output} ({len(written)} files){months}")
    else:
        click.echo(f"internal report of {figures.by_category_month.total} cases written to {output} ({len(written)} files)")


@click.command("demo-data")
@click.option("--cases", type=click.IntRange(1, 2_000_000), default=2000, show_default=True)
@click.option("--from", "start", callback=_day, default="2026-01-01", show_default=True, metavar="DAY")
@click.option("--to", "end", callback=_day, default="2026-10-31", show_default=True, metavar="DAY")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--key", "key_file", type=click.Path(dir_okay=False), default=None,
              help="Operator private key (default: operator.identity_file).")
@click.pass_context
def demo_data(ctx, cases, start, end, seed, key_file) -> None:
    """Fill the operator store with FAKE cases (marked as such) to try reports and the desk on."""
    settings, store = _store(ctx, key_file)
    try:
        added = fill_demo_store(store, cases, start=start, end=end, seed=seed,
                                acknowledge_days=settings.deployment.acknowledge_within_days)
    finally:
        store.close()
    click.echo(f"added {added} FAKE demo cases to {settings.operator.store}")
