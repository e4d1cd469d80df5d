"""`grievance cases ...`: the operator's side, on the operator's own machine, with the private key.

The private key never goes on the intake server: these commands open sealed
cases and keep them in the local operator store (desk/operator_store.py),
and work the operator's desk: `list` with filters, `show` with the status history
and due dates, `status` to move a case on (desk/lifecycle.py has the rules),
`overdue` for what missed its service level; `replies` and `thread`, the dialogue with the
worker, are in desk/cli_dialogue.py.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import click

from bot.cli import _settings
from bot.config import TAXONOMY, Settings

from .lifecycle import STATUSES, ServiceLevels, overdue
from .terminal import terminal_safe


class DeskError(click.ClickException):
    """A refused request on the operator's side: one line on stderr, exit status 2."""

    exit_code = 2


def no_single_case(case_id: str) -> DeskError:
    """The refusal of a case id or prefix that names no case, or several: it says what a prefix needs."""
    from .operator_store import CASE_PREFIX_MIN

    return DeskError(f"no single case matches '{terminal_safe(case_id[:40])}'"
                     f" (give a unique prefix of at least {CASE_PREFIX_MIN} characters of its id, or the whole id)")


@click.group()
def cases() -> None:
    """Operator side: pull, list and read cases with the operator's private key."""


def _key_option(function):
    return click.option("--key", "key_file", type=click.Path(dir_okay=False), default=None,
                        help="Operator private key (default: operator.identity_file).")(function)


def _operator_store(ctx: click.Context, key_file: str | None):
    from storage.keys import load_operator_identity
    from desk.operator_store import OperatorStore, store_location

    settings = _settings(ctx)
    identity = load_operator_identity(Path(key_file) if key_file else settings.path(settings.operator.identity_file))
    return identity, OperatorStore(store_location(settings), identity)


@cases.command("pull")
@_key_option
@click.pass_context
def cases_pull(ctx: click.Context, key_file: str | None) -> None:
    """Open waiting cases with the key and keep them in the local operator store (from `queue.kind`)."""
    from storage.db import make_engine, session_factory
    from desk.pull import pull_cases
    from storage.sinks import PULLABLE_KINDS, SourceError, make_source

    settings = _settings(ctx)
    if settings.queue.kind not in PULLABLE_KINDS:
        click.echo(
            f"queue.kind is {settings.queue.kind}: the server posts each case straight to the operator's own "
            "case system, so there is nothing to pull here"
        )
        return
    from storage.keys import intake_signing_public_keys
    from desk.quarantine import Quarantine

    signing_keys = intake_signing_public_keys(settings)  # deny by default: no trusted server, no pull
    quarantine = Quarantine(settings.path(settings.operator.quarantine_dir))
    identity, store = _operator_store(ctx, key_file)
    engine = make_engine(settings.database_url, wal_erase_within=settings.paths.sqlite_wal_erase_within_seconds) if settings.queue.kind == "embedded" else None
    source = None
    try:
        source = make_source(settings, session_factory(engine) if engine is not None else None)
        result = pull_cases(source, store, identity, signing_keys=signing_keys, quarantine=quarantine)
    except SourceError as error:
        raise click.ClickException(f"cannot pull from the {settings.queue.kind} queue: {error} ({error.kind})") from None
    finally:
        if source is not None:
            source.close()
        if engine is not None:
            engine.dispose()
        store.close()
    click.echo(f"pulled {result.pulled} new cases ({result.already_had} already here, {result.not_for_this_key} for another key)")
    if result.quarantined:
        click.echo(
            f"{result.quarantined} queue items failed the signature, schema or case id check and were set aside "
            f"in {quarantine.folder} (not opened; see docs/production.md, 'Queues')"
        )


@cases.command("quarantine")
@click.pass_context
def cases_quarantine(ctx: click.Context) -> None:
    """List the queue items `cases pull` set aside: file, reason, queue, the case id the item claimed."""
    from desk.quarantine import Quarantine

    settings = _settings(ctx)
    quarantine = Quarantine(settings.path(settings.operator.quarantine_dir))
    entries = quarantine.entries()
    for entry in entries:
        click.echo(f"{entry.path.name}  {entry.reason}  {entry.queue}  {entry.queue_case_id or '-'}")
    click.echo(f"{len(entries)} items set aside in {quarantine.folder}")


def service_levels(settings: Settings) -> ServiceLevels:
    """The desk's service levels: acknowledgement as promised to the worker, feedback from the operator section."""
    return ServiceLevels(
        acknowledge_within_days=settings.deployment.acknowledge_within_days,
        feedback_within_days=settings.operator.service_levels.feedback_within_days,
    )


def desk_store(ctx: click.Context, key_file: str | None):
    """The operator store with the deployment's service levels."""
    from storage.keys import load_operator_identity
    from desk.operator_store import OperatorStore, store_location

    settings = _settings(ctx)
    identity = load_operator_identity(Path(key_file) if key_file else settings.path(settings.operator.identity_file))
    return identity, OperatorStore(store_location(settings), identity, service_levels(settings))


def today_utc() -> date:
    return datetime.now(timezone.utc).date()


def _day(_ctx, _param, value: datetime | None) -> date | None:
    return value.date() if value else None


def filter_options(function):
    """The case filters shared by `cases list` and `export`."""
    for option in reversed(
        [
            click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES), help="Only cases in this status (repeatable)."),
            click.option("--category", "categories", multiple=True, type=click.Choice(TAXONOMY), help="Only this taxonomy code (repeatable)."),
            click.option("--urgent", is_flag=True, help="Only urgent cases."),
            click.option("--since", type=click.DateTime(["%Y-%m-%d"]), callback=_day, help="Received on or after this day (UTC, YYYY-MM-DD)."),
            click.option("--until", type=click.DateTime(["%Y-%m-%d"]), callback=_day, help="Received on or before this day (UTC, YYYY-MM-DD)."),
        ]
    ):
        function = option(function)
    return function


def make_filter(statuses, categories, urgent, since, until, overdue_on: date | None = None):
    from desk.operator_store import CaseFilter

    if since and until and since > until:
        raise click.BadParameter("--since is after --until", param_hint="--since")
    return CaseFilter(tuple(statuses), tuple(categories), urgent, since, until, overdue_on)


def _line(store, row, today: date) -> str:
    due = store.due(row.received_at)
    late = overdue(row.status, due, today)
    text = f"{row.case_id}  {row.received_at}  {'URGENT ' if row.urgent else ''}{row.category}  {row.status}"
    if late:
        text += "  OVERDUE " + ", ".join(f"{kind} (due {due.acknowledge_by if kind == 'acknowledgement' else due.feedback_by})" for kind in late)
    return text


def _as_of_option(function):
    return click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), callback=_day, default=None,
                        help="Judge due dates as on this day (default: today, UTC).")(function)


@cases.command("list")
@_key_option
@filter_options
@click.option("--overdue", "only_overdue", is_flag=True, help="Only cases past a due date.")
@_as_of_option
@click.pass_context
def cases_list(ctx: click.Context, key_file: str | None, statuses, categories, urgent, since, until, only_overdue: bool, as_of) -> None:
    """Cases in the local store, urgent first, newest first."""
    today = as_of or today_utc()
    filters = make_filter(statuses, categories, urgent, since, until, today if only_overdue else None)
    _, store = desk_store(ctx, key_file)
    try:
        rows = store.summaries(filters=filters)
        lines = [_line(store, row, today) for row in rows]
    finally:
        store.close()
    click.echo(terminal_safe("\n".join(lines)) if lines else "no cases")


@cases.command("overdue")
@_key_option
@_as_of_option
@click.pass_context
def cases_overdue(ctx: click.Context, key_file: str | None, as_of) -> None:
    """Cases past their acknowledgement or feedback date (same as `list --overdue`)."""
    ctx.invoke(cases_list, key_file=key_file, statuses=(), categories=(), urgent=False, since=None, until=None, only_overdue=True, as_of=as_of)


@cases.command("show")
@_key_option
@click.argument("case_id")
@_as_of_option
@click.pass_context
def cases_show(ctx: click.Context, key_file: str | None, case_id: str, as_of) -> None:
    """One case with every field, its due dates and status history (CASE_ID may be a unique prefix)."""
    _, store = desk_store(ctx, key_file)
    try:
        record = store.get(case_id)
        if record is None:
            raise no_single_case(case_id)
        history = store.history(record["case_id"])
        due = store.due(record["received_at"])
    finally:
        store.close()
    record["due"] = {
        "acknowledge_by": due.acknowledge_by.isoformat(),
        "feedback_by": due.feedback_by.isoformat(),
        "overdue": list(overdue(record["status"], due, as_of or today_utc())),
    }
    record["status_history"] = [
        {"at": record["received_at"], "status": "received", "from": None, "reason": None, "forced": False}
    ] + [
        {"at": change.at, "status": change.to_status, "from": change.from_status, "reason": change.reason, "forced": change.forced}
        for change in history
    ]
    click.echo(terminal_safe(json.dumps(record, ensure_ascii=False, indent=2)))


@cases.command("status")
@_key_option
@click.argument("case_id")
@click.argument("new_status", type=click.Choice(STATUSES))
@click.option("--reason", required=True,
              help="Why (required; kept encrypted). '-' reads it from standard input, out of the shell's history.")
@click.option("--at", "at", type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]), default=None,
              help="When it happened, UTC (default: now).")
@click.option("--force", is_flag=True, help="Allow a move the lifecycle refuses (e.g. reopening a closed case).")
@click.option("--local-only", is_flag=True, help="Only record it here; do not tell the intake server (the worker's STATUS).")
@click.pass_context
def cases_status(ctx: click.Context, key_file: str | None, case_id: str, new_status: str, reason: str, at, force: bool,
                 local_only: bool) -> None:
    """Move a case to NEW_STATUS: received, acknowledged, in_review, in_dialogue, resolved, closed.

    The change is recorded in the local store (with its reason, which stays here), then the new
    status alone is sent to the intake server through the operator API, so the worker sees it on
    STATUS. If the server cannot be reached, the local change stands and `cases push-status`
    sends it later.
    """
    from desk.operator_store import OperatorStoreError

    if reason == "-":
        reason = sys.stdin.read()
    when = at.replace(tzinfo=timezone.utc) if at else datetime.now(timezone.utc)
    _, store = desk_store(ctx, key_file)
    try:
        full_id = store.resolve(case_id)
        if full_id is None:
            raise no_single_case(case_id)
        try:
            change = store.set_status(full_id, new_status, reason, when, force=force)
        except OperatorStoreError as error:
            raise DeskError(str(error)) from None
    finally:
        store.close()
    click.echo(f"{change.case_id}: {change.from_status} -> {change.to_status} at {change.at}{' (forced)' if change.forced else ''}")
    if not local_only:
        _push_status(ctx, change.case_id, change.to_status)


def _push_status(ctx: click.Context, case_id: str, status: str) -> None:
    """Send a status to the intake server; on failure say how to retry and exit 1 (the local record stands)."""
    from bot.config import ConfigError

    from .operator_client import OperatorApiError, delivery_sentence, push_status

    try:
        answer = push_status(_settings(ctx), case_id, status)
    except (OperatorApiError, ConfigError) as error:
        click.echo(f"not sent to the intake server: {error}", err=True)
        click.echo(f"the local store has it; send it later with: grievance cases push-status {case_id}", err=True)
        ctx.exit(1)
    click.echo("sent to the intake server (the worker sees it on STATUS)")
    click.echo(delivery_sentence(answer, case_id, what="status notice"))


@cases.command("push-status")
@_key_option
@click.argument("case_id")
@click.pass_context
def cases_push_status(ctx: click.Context, key_file: str | None, case_id: str) -> None:
    """Send a case's current status (from the local store) to the intake server."""
    _, store = desk_store(ctx, key_file)
    try:
        full_id = store.resolve(case_id)
        record = store.get(full_id) if full_id else None
    finally:
        store.close()
    if record is None:
        raise no_single_case(case_id)
    _push_status(ctx, full_id, record["status"])


from .cli_dialogue import cases_replies, cases_thread  # noqa: E402  (that module needs nothing from this one)

cases.add_command(cases_replies)
cases.add_command(cases_thread)
