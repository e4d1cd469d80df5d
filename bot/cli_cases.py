"""`grievance cases ...`: the operator's side, on the operator's own machine, with the private key.

The private key never goes on the intake server: these commands open sealed
cases and keep them in the local operator store (storage/operator_store.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from .cli import _settings


@click.group()
def cases() -> None:
    """Operator side: pull, list and read cases with the operator's private key."""


def _key_option(function):
    return click.option("--key", "key_file", type=click.Path(dir_okay=False), default=None,
                        help="Operator private key (default: operator.identity_file).")(function)


def _operator_store(ctx: click.Context, key_file: str | None):
    from storage.keys import load_operator_identity
    from storage.operator_store import OperatorStore

    settings = _settings(ctx)
    identity = load_operator_identity(Path(key_file) if key_file else settings.path(settings.operator.identity_file))
    return identity, OperatorStore(settings.path(settings.operator.store), identity)


@cases.command("pull")
@_key_option
@click.pass_context
def cases_pull(ctx: click.Context, key_file: str | None) -> None:
    """Open waiting cases with the key and keep them in the local operator store (from `queue.kind`)."""
    from storage.db import make_engine, session_factory
    from storage.pull import pull_cases
    from storage.sinks import PULLABLE_KINDS, SourceError, make_source

    settings = _settings(ctx)
    if settings.queue.kind not in PULLABLE_KINDS:
        click.echo(
            f"queue.kind is {settings.queue.kind}: the server posts each case straight to the operator's own "
            "case system, so there is nothing to pull here"
        )
        return
    identity, store = _operator_store(ctx, key_file)
    engine = make_engine(settings.database_url) if settings.queue.kind == "embedded" else None
    source = None
    try:
        source = make_source(settings, session_factory(engine) if engine is not None else None)
        result = pull_cases(source, store, identity)
    except SourceError as error:
        raise click.ClickException(f"cannot pull from the {settings.queue.kind} queue: {error} ({error.kind})") from None
    finally:
        if source is not None:
            source.close()
        if engine is not None:
            engine.dispose()
        store.close()
    click.echo(f"pulled {result.pulled} new cases ({result.already_had} already here, {result.not_for_this_key} for another key)")


@cases.command("list")
@_key_option
@click.option("--urgent", is_flag=True, help="Only urgent cases.")
@click.option("--category", default=None, help="Only this taxonomy code.")
@click.pass_context
def cases_list(ctx: click.Context, key_file: str | None, urgent: bool, category: str | None) -> None:
    """Cases in the local store, urgent first."""
    _, store = _operator_store(ctx, key_file)
    try:
        rows = store.summaries(urgent_only=urgent, category=category)
    finally:
        store.close()
    if not rows:
        click.echo("no cases")
    for row in rows:
        click.echo(f"{row.case_id}  {row.received_at}  {'URGENT ' if row.urgent else ''}{row.category}  {row.status}")


@cases.command("show")
@_key_option
@click.argument("case_id")
@click.pass_context
def cases_show(ctx: click.Context, key_file: str | None, case_id: str) -> None:
    """One case with every field (CASE_ID may be a unique prefix)."""
    _, store = _operator_store(ctx, key_file)
    try:
        record = store.get(case_id)
    finally:
        store.close()
    if record is None:
        raise click.ClickException(f"no single case matches '{case_id}'")
    click.echo(json.dumps(record, ensure_ascii=False, indent=2))
