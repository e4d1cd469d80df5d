"""The operator API on the intake server's command line: its tokens, its server, and STATUS stats.

`api-token create|list|revoke`, `operator-api` (serve the operator API; `grievance serve`
starts it too when `operator_api.enabled`), `stats`. The operator's side of the dialogue
(`reply`, `cases replies`, `cases thread`) is the desk's (desk/cli_dialogue.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from .cli_context import command_services, command_settings


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

    services = command_services(ctx)
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

    services = command_services(ctx)
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

    services = command_services(ctx)
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

    settings = command_settings(ctx)
    section = settings.operator_api
    host, port = host or section.host, port or section.port
    if (host, port) == (settings.server.host, settings.server.port):
        raise click.ClickException("operator_api: host and port must differ from the public server's")
    command_services(ctx).close()  # fail fast on missing secrets or an unreachable database
    click.echo(f"operator API on http://{host}:{port} (every request needs a bearer token)")
    run_gunicorn(ctx.obj["config_path"], host, port, section.workers, app_kind="operator")


@click.command("stats")
@click.option("--hours", type=click.IntRange(1, 24 * 365), default=24, show_default=True, help="Look back this many hours.")
@click.pass_context
def stats(ctx: click.Context, hours: int) -> None:
    """Counts of STATUS look-ups that found no case, and of look-ups refused while throttled."""
    from storage.status_throttle import attempt_counts

    services = command_services(ctx)
    try:
        counts = attempt_counts(services.sessions, services.settings.status_throttle, datetime.now(UTC) - timedelta(hours=hours))
    finally:
        services.close()
    click.echo(f"STATUS look-ups in the last {hours} h: {counts.failed} found no case, {counts.refused} refused while throttled")
    click.echo(f"senders that reached their limit: {counts.senders_over_limit}")


COMMANDS = (api_token, operator_api, stats)
