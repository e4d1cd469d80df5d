"""`grievance report` and `grievance demo-data`: pattern reports from the operator's store, on the operator's machine.

`report` reads the cases the operator has pulled (opened with the private key), computes
the figures of a period under a profile (`internal`: everything, marked "do not publish";
`public`: disclosure control, see desk/reports/figures.py) and writes the HTML, CSV and
JSON files (and a PDF with --pdf) into a folder. `demo-data` fills a store with fake cases
to try it on.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from bot.cli import _settings

from .demo import fill_demo_store
from .facts import read_facts
from .figures import PROFILES, build_report
from .render import write_report


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
              help="Public profile: counts under k are not shown (10 is common for health statistics).")
@click.option("--as-of", callback=_day, default=None, metavar="DAY", help="The day 'overdue now' refers to (default: --to).")
@click.option("--country", default="", help="The country shown where a district is too rare to name.")
@click.option("--title", default=None, help="The report's title (default: the deployment's name and the period).")
@click.option("--pdf", is_flag=True, help="Also print report.pdf with a headless Chromium.")
@click.option("--key", "key_file", type=click.Path(dir_okay=False), default=None,
              help="Operator private key (default: operator.identity_file).")
@click.pass_context
def report(ctx, start, end, profile, output, k, as_of, country, title, pdf, key_file) -> None:
    """Patterns across cases for a period: counts, recurrence, the mechanism's own timings."""
    if end < start:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    settings, store = _store(ctx, key_file)
    try:
        referral_questions = [q.id for q in settings.flow.questions if getattr(q, "grants_referral", False)]
        facts = read_facts(store, end, referral_questions)
        figures = build_report(
            facts, start=start, end=end, profile=profile, categories=settings.flow.categories, k=k, as_of=as_of,
            country=country, acknowledge_within_days=settings.deployment.acknowledge_within_days,
            feedback_within_days=settings.operator.service_levels.feedback_within_days,
        )
    finally:
        store.close()
    heading = title or f"{settings.deployment.name}: cases from {start.isoformat()} to {end.isoformat()}"
    if profile == "internal":
        heading += " (internal: do not publish)"
    try:
        written = write_report(figures, Path(output), heading, pdf=pdf)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{profile} report of {figures.by_category_month.total} cases written to {output} ({len(written)} files)")


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
