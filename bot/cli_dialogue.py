"""The dialogue with the worker on the command line: operator API tokens and server, replies, answers, stats.

Server side: `api-token create|list|revoke`, `operator-api` (serve the operator
API; `grievance serve` starts it too when `operator_api.enabled`), `stats`.
Operator side (the operator's machine, with the private key and an API token):
`reply CASE "text"`, `cases replies` (fetch the worker's answers), `cases thread CASE`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from .cli import _services, _settings
from .cli_cases import cases
from .terminal import terminal_safe


def _operator_identity(ctx: click.Context, key_file: str | None) -> str:
    from storage.keys import load_operator_identity

    settings = _settings(ctx)
    return load_operator_identity(Path(key_file) if key_file else settings.path(settings.operator.identity_file))


def _key_option(function):
    return click.option("--key", "key_file", type=click.Path(dir_okay=False), default=None,
                        help="Operator private key (default: operator.identity_file).")(function)


def _resolve_case(ctx: click.Context, identity: str, case: str) -> str:
    """A case id from the local store (a unique prefix is enough), or a full case id as typed."""
    from storage.operator_store import OperatorStore

    settings = _settings(ctx)
    store = OperatorStore(settings.path(settings.operator.store), identity)
    try:
        full_id = store.resolve(case)  # the id alone: no need to decrypt the record
    finally:
        store.close()
    if full_id is not None:
        return full_id
    try:
        return str(uuid.UUID(case)) if len(case) == 36 else _no_case(case)
    except ValueError:
        return _no_case(case)


def _no_case(case: str) -> str:
    raise click.ClickException(f"no single case matches '{case}' in the local store (run `grievance cases pull`, or give the full case id)")


def _api_call(function):
    """Run an operator API call; its failure is one line, without the token or the text."""
    from .operator_client import OperatorApiError

    try:
        return function()
    except OperatorApiError as error:
        raise click.ClickException(str(error)) from None


# ---------------------------------------------------------------- operator side


@click.command("reply")
@_key_option
@click.argument("case")
@click.argument("text")
@click.pass_context
def reply(ctx: click.Context, key_file: str | None, case: str, text: str) -> None:
    """Send TEXT to the worker of CASE (a case id, or a unique prefix from the local store)."""
    from storage.db import utcnow
    from storage.operator_dialogue import OperatorDialogue

    from .operator_client import client_for, delivery_sentence

    identity = _operator_identity(ctx, key_file)
    case_id = _resolve_case(ctx, identity, case)
    settings = _settings(ctx)
    with client_for(settings) as client:
        answer = _api_call(lambda: client.post_message(case_id, text))
    dialogue = OperatorDialogue(settings.path(settings.operator.store), identity)
    try:
        dialogue.add_sent(case_id, text, utcnow().isoformat())
    finally:
        dialogue.close()
    click.echo(delivery_sentence(answer, case_id))


@cases.command("replies")
@_key_option
@click.pass_context
def cases_replies(ctx: click.Context, key_file: str | None) -> None:
    """Fetch the workers' answers from the operator API, open them with the key, keep them locally."""
    from storage.operator_dialogue import OperatorDialogue, pull_answers

    from .operator_client import client_for

    identity = _operator_identity(ctx, key_file)
    settings = _settings(ctx)
    dialogue = OperatorDialogue(settings.path(settings.operator.store), identity)
    try:
        with client_for(settings) as client:
            result = _api_call(lambda: pull_answers(client, dialogue, identity))
    finally:
        dialogue.close()
    click.echo(f"kept {result.kept} new answers from workers ({result.already_had} already here)")


@cases.command("thread")
@_key_option
@click.argument("case")
@click.pass_context
def cases_thread(ctx: click.Context, key_file: str | None, case: str) -> None:
    """The dialogue with the worker of CASE, oldest first (run `grievance cases replies` to fetch new answers)."""
    from storage.operator_dialogue import OperatorDialogue

    identity = _operator_identity(ctx, key_file)
    case_id = _resolve_case(ctx, identity, case)
    settings = _settings(ctx)
    dialogue = OperatorDialogue(settings.path(settings.operator.store), identity)
    try:
        entries = dialogue.thread(case_id)
    finally:
        dialogue.close()
    if not entries:
        click.echo("no messages yet")
    for entry in entries:
        who = "you   " if entry.direction == "operator" else "worker"
        click.echo(terminal_safe(f"{entry.at}  {who}  " + entry.text.replace("\n", "\n" + " " * 36)))


# ---------------------------------------------------------------- server side


@click.group("api-token")
def api_token() -> None:
    """Tokens of the operator API (only a keyed hash of each is stored)."""


@api_token.command("create")
@click.argument("name")
@click.option("--expires-days", type=click.IntRange(1, 3650), default=None, help="Expire after this many days (default: never).")
@click.pass_context
def api_token_create(ctx: click.Context, name: str, expires_days: int | None) -> None:
    """Create a token named NAME and print it once."""
    from storage.api_tokens import ApiTokens, TokenError

    services = _services(ctx)
    try:
        info, token = ApiTokens(services.sessions, services.secrets).create(name, timedelta(days=expires_days) if expires_days else None)
    except TokenError as error:
        raise click.ClickException(str(error)) from None
    finally:
        services.close()
    click.echo(f"token '{info.name}' created" + (f", expires {info.expires_at:%Y-%m-%d %H:%M} UTC" if info.expires_at else ""))
    click.echo("It is shown only now; keep it where operator_client.token points (a 0600 file or an environment variable):")
    click.echo(token)


@api_token.command("list")
@click.pass_context
def api_token_list(ctx: click.Context) -> None:
    """Tokens with their state (never the tokens themselves)."""
    from storage.api_tokens import ApiTokens

    services = _services(ctx)
    try:
        rows = ApiTokens(services.sessions, services.secrets).list()
    finally:
        services.close()
    if not rows:
        click.echo("no tokens")
    now = datetime.now(UTC)
    for info in rows:
        expires = f"{info.expires_at:%Y-%m-%d}" if info.expires_at else "never"
        click.echo(f"{info.name}  id {info.id}  created {info.created_at:%Y-%m-%d}  expires {expires}  {info.state(now)}")


@api_token.command("revoke")
@click.argument("name")
@click.pass_context
def api_token_revoke(ctx: click.Context, name: str) -> None:
    """Revoke the token named NAME (or with this id): it stops working at once."""
    from storage.api_tokens import ApiTokens, TokenError

    services = _services(ctx)
    try:
        info = ApiTokens(services.sessions, services.secrets).revoke(name)
    except TokenError as error:
        raise click.ClickException(str(error)) from None
    finally:
        services.close()
    click.echo(f"token '{info.name}' revoked")


@click.command("operator-api")
@click.option("--host", default=None, help="Listen address (default: operator_api.host).")
@click.option("--port", type=int, default=None, help="Port (default: operator_api.port).")
@click.pass_context
def operator_api(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the operator API under gunicorn, on its own address (never the public one)."""
    from .server import run_gunicorn

    settings = _settings(ctx)
    section = settings.operator_api
    host, port = host or section.host, port or section.port
    if (host, port) == (settings.server.host, settings.server.port):
        raise click.ClickException("operator_api: host and port must differ from the public server's")
    _services(ctx).close()  # fail fast on missing secrets or an unreachable database
    click.echo(f"operator API on http://{host}:{port} (every request needs a bearer token)")
    run_gunicorn(ctx.obj["config_path"], host, port, section.workers, app_kind="operator")


@click.command("stats")
@click.option("--hours", type=click.IntRange(1, 24 * 365), default=24, show_default=True, help="Look back this many hours.")
@click.pass_context
def stats(ctx: click.Context, hours: int) -> None:
    """Counts of STATUS look-ups that found no case, and of look-ups refused while throttled."""
    from storage.status_throttle import attempt_counts

    services = _services(ctx)
    try:
        counts = attempt_counts(services.sessions, services.settings.status_throttle, datetime.now(UTC) - timedelta(hours=hours))
    finally:
        services.close()
    click.echo(f"STATUS look-ups in the last {hours} h: {counts.failed} found no case, {counts.refused} refused while throttled")
    click.echo(f"senders that reached their limit: {counts.senders_over_limit}")


COMMANDS = (reply, api_token, operator_api, stats)
