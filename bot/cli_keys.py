"""`grievance keys ...`: rotate the data keys, export the signing public key, make the operator's key."""

from __future__ import annotations

import click

from .cli_context import command_settings, command_services
from .config import ConfigError
from .server_lock import refuse_while_serving


@click.group()
def keys() -> None:
    """Server keys."""


@keys.command("rotate")
@click.option("--retire-old", is_flag=True, help="After re-encrypting, remove the old data keys from the keyring.")
@click.pass_context
def keys_rotate(ctx: click.Context, retire_old: bool) -> None:
    """Add a new data key, re-encrypt every draft and reply address with it (with the server stopped)."""
    from storage.keys import add_data_key, retire_data_keys
    from storage.rotation import reencrypt_all

    settings = command_settings(ctx)
    lock = refuse_while_serving(settings)  # held until the end, so no server starts meanwhile
    try:
        new_id = add_data_key(settings)
        services = command_services(ctx)
        try:
            result = reencrypt_all(services.sessions, services.secrets)
        finally:
            services.close()
        click.echo(f"data key {new_id} is active; re-encrypted {result.rewritten} values ({result.already_current} already current)")
        if result.unreadable_erased:
            click.echo(f"erased {result.unreadable_erased} drafts or queued messages that no data key opens any more")
        if retire_old:
            retire_data_keys(settings, keep=new_id)
            click.echo("old data keys removed from the keyring")
    finally:
        lock.close()


@keys.command("export-signing-public")
@click.pass_context
def keys_export_signing_public(ctx: click.Context) -> None:
    """Print this server's signing public key, for the operator's operator.intake_signing_keys."""
    from storage import crypto
    from storage.keys import load_signing_key

    click.echo(crypto.signing_public_key(load_signing_key(command_settings(ctx))))


@keys.command("new-operator-key")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), default=None,
              help="Where to write the private key (default: operator.identity_file). Never overwritten.")
@click.pass_context
def keys_new_operator_key(ctx: click.Context, out_file: str | None) -> None:
    """On the operator's machine: make the operator key pair; prints the public key for the server."""
    from pathlib import Path

    from storage.keys import new_operator_key

    settings = command_settings(ctx)
    path = Path(out_file) if out_file else settings.path(settings.operator.identity_file)
    if path.exists():
        raise ConfigError(f"config error: --out: {path} exists (an operator key is never overwritten)")
    recipient = new_operator_key(path)
    click.echo(f"private key written to {path} (mode 0600): keep it on this machine only, and a backup offline")
    click.echo("public key, for operator.recipients on the intake server:")
    click.echo(recipient)


COMMANDS = (keys,)
