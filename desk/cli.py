"""`grievance desk ...`: the web console and its accounts, on the operator's machine.

    grievance desk serve [--host 127.0.0.1 --port 8090]     the console (behind a TLS proxy for a team)
    grievance desk user add NAME --role admin|caseworker|analyst    (asks for the password twice)
    grievance desk user reset NAME | disable NAME | enable NAME | list
    grievance desk company add NAME AGE1...                 the directory of companies for referrals
    grievance desk audit verify                             is the audit log whole?
    grievance desk protect-key                              keep the operator key under a passphrase
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from bot.cli import _settings

from .store import DeskError, DeskStore


def _identity(settings, key_file: str | None) -> str:
    """The operator's private key: a plain age identity file, or one protected with `desk protect-key`."""
    from storage import crypto
    from storage.keys import load_operator_identity

    path = Path(key_file) if key_file else settings.path(settings.operator.identity_file)
    try:
        head = path.read_bytes()[:40]
    except OSError:
        head = b""
    if head.startswith(b"age-encryption.org/v1"):
        passphrase = os.environ.get("GRIEVANCE_DESK_PASSPHRASE") or click.prompt("Passphrase of the operator key", hide_input=True)
        try:
            return crypto.unlock_identity(path.read_bytes(), passphrase)
        except crypto.DecryptionError as error:
            raise click.ClickException(str(error)) from None
    return load_operator_identity(path)


@contextmanager
def _store(ctx: click.Context, key_file: str | None = None) -> Iterator[DeskStore]:
    """The desk's store for one command: a refused action is one line (exit 1), and the file is closed."""
    from desk.cli_cases import service_levels
    from desk.operator_store import OperatorStore, store_location

    settings = _settings(ctx)
    identity = _identity(settings, key_file)
    store = DeskStore(OperatorStore(store_location(settings), identity, service_levels(settings)))
    try:
        yield store
    except DeskError as error:
        raise click.ClickException(str(error)) from None
    finally:
        store.cases.close()


def _key_option(function):
    return click.option("--key", "key_file", type=click.Path(dir_okay=False), default=None,
                        help="Operator private key (default: operator.identity_file).")(function)


@click.group()
def desk() -> None:
    """The operator's web console (run on the operator's machine, never on the intake server)."""


@desk.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8090, show_default=True)
@click.option("--pull-every", type=float, default=60, show_default=True, help="Seconds between pulls from the queue (0: never).")
@click.option("--insecure-cookies", is_flag=True, help="Plain-HTTP cookies, for a desk reached only on this machine without TLS.")
@_key_option
@click.pass_context
def desk_serve(ctx, host, port, pull_every, insecure_cookies, key_file) -> None:
    """Serve the console until stopped."""
    from .serve import run_desk

    settings = _settings(ctx)
    identity = _identity(settings, key_file)
    click.echo(f"The desk is at http://{host}:{port}/ (put a TLS proxy in front of it for a team).")
    run_desk(settings, identity, host, port, pull_every=pull_every, secure_cookies=not insecure_cookies)


@desk.group("user")
def user() -> None:
    """Accounts of the desk."""


@user.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["admin", "caseworker", "analyst"]))
@click.option("--require-totp", is_flag=True, help="Require the second step (always for admins).")
@click.option("--language", type=click.Choice(["en", "ja"]), default="en", show_default=True)
@click.password_option(help="At least 12 characters.")
@_key_option
@click.pass_context
def user_add(ctx, username, role, require_totp, language, password, key_file) -> None:
    """Make an account (the first admin, or anyone)."""
    with _store(ctx, key_file) as store:
        store.add_user(username, password, role, totp_required=require_totp, language=language)
        store.audit("cli", "user_added", username, role)
    click.echo(f"{role} {username} added" + ("; the second step is set up at the first sign-in" if role == "admin" or require_totp else ""))


@user.command("reset")
@click.argument("username")
@click.password_option(help="The new password.")
@_key_option
@click.pass_context
def user_reset(ctx, username, password, key_file) -> None:
    """A new password and a new second step at the next sign-in; every session of the account ends."""
    with _store(ctx, key_file) as store:
        store.set_password(username, password)
        store.audit("cli", "user_reset", username)
    click.echo(f"{username}: password reset, second step to set up again, sessions ended")


@user.command("disable")
@click.argument("username")
@_key_option
@click.pass_context
def user_disable(ctx, username, key_file) -> None:
    with _store(ctx, key_file) as store:
        store.set_disabled(username, True)
        store.audit("cli", "user_disabled", username)
    click.echo(f"{username} disabled (sessions ended)")


@user.command("enable")
@click.argument("username")
@_key_option
@click.pass_context
def user_enable(ctx, username, key_file) -> None:
    with _store(ctx, key_file) as store:
        store.set_disabled(username, False)
        store.audit("cli", "user_enabled", username)
    click.echo(f"{username} enabled")


@user.command("list")
@_key_option
@click.pass_context
def user_list(ctx, key_file) -> None:
    with _store(ctx, key_file) as store:
        accounts = store.users()
    for account in accounts:
        second = "totp" if account.totp_enrolled else ("totp pending" if account.totp_required else "-")
        click.echo(f"{account.username}\t{account.role}\t{second}\t{'disabled' if account.disabled else 'active'}")


@desk.command("company")
@click.argument("action", type=click.Choice(["add"]))
@click.argument("name")
@click.argument("recipient")
@_key_option
@click.pass_context
def company(ctx, action, name, recipient, key_file) -> None:
    """Add a company to the directory, with the age public key it opens referrals with."""
    with _store(ctx, key_file) as store:
        store.add_company(name, recipient)
        store.audit("cli", "company_added", "-", name[:60])
    click.echo(f"{name} added to the directory")


@desk.group("audit")
def audit() -> None:
    """The desk's audit log."""


@audit.command("verify")
@_key_option
@click.pass_context
def audit_verify(ctx, key_file) -> None:
    """Exit 0 when the hash chain is whole; 1, naming the first broken line, when a line was edited or removed."""
    with _store(ctx, key_file) as store:
        intact, summary = store.verify_audit()
    click.echo(summary)
    if not intact:
        ctx.exit(1)


@desk.command("protect-key")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Where to write the protected key.")
@click.password_option("--passphrase", help="A long passphrase (asked twice).")
@_key_option
@click.pass_context
def protect_key(ctx, output, passphrase, key_file) -> None:
    """Write the operator key encrypted under a passphrase (age scrypt); point operator.identity_file at it."""
    from storage import crypto

    settings = _settings(ctx)
    identity = _identity(settings, key_file)
    if len(passphrase) < 12:
        raise click.ClickException("the passphrase needs at least 12 characters")
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(crypto.protect_identity(identity, passphrase))
    click.echo(f"protected key written to {output}: set operator.identity_file to it and delete the clear one")
