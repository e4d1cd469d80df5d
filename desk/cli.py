"""`grievance desk ...`: the web console and its accounts, on the operator's machine.

    grievance desk serve [--host 127.0.0.1 --port 8090]     the console (behind a TLS proxy for a team)
    grievance desk user add NAME --role admin|caseworker|analyst    (asks for the password twice)
    grievance desk user reset NAME | disable NAME | enable NAME | unlock NAME | list
    grievance desk company add NAME AGE1... | contact NAME ... | list    the directory of companies for referrals
    grievance desk referral list | export ID -o FILE | deliver | tell-worker ID | answer ID ...   (desk/cli_referrals.py)
    grievance desk audit verify [--head FILE|LINE]...       is the audit log whole, and does it hold every head kept?
    grievance desk audit anchor                             sign the log's newest line as a head, keep it, print it
    grievance desk protect-key                              keep the operator key under a passphrase
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from bot.cli import _settings

from .audit import HeadError, heads_file_of, read_heads
from .cli_common import _identity, _key_option, _store
from .cli_referrals import company, referral
from .store import DeskError


@click.group()
def desk() -> None:
    """The operator's web console (run on the operator's machine, never on the intake server)."""


@desk.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8090, show_default=True)
@click.option("--pull-every", type=float, default=60, show_default=True, help="Seconds between pulls from the queue (0: never).")
@click.option("--insecure-cookies", is_flag=True, help="Plain-HTTP cookies, for a desk reached only on this machine without TLS.")
@click.option("--trusted-proxies", type=click.IntRange(0, 5), default=0, show_default=True,
              help="Reverse proxies in front of the desk that append to X-Forwarded-For (0: the header is ignored).")
@_key_option
@click.pass_context
def desk_serve(ctx, host, port, pull_every, insecure_cookies, trusted_proxies, key_file) -> None:
    """Serve the console until stopped."""
    from .serve import run_desk

    settings = _settings(ctx)
    identity = _identity(settings, key_file)
    click.echo(f"The desk is at http://{host}:{port}/ (put a TLS proxy in front of it for a team).")
    run_desk(settings, identity, host, port, pull_every=pull_every, secure_cookies=not insecure_cookies,
             trusted_proxies=trusted_proxies)


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


@user.command("unlock")
@click.argument("username")
@_key_option
@click.pass_context
def user_unlock(ctx, username, key_file) -> None:
    """Lift what holds an account back: a locked second step, waits after wrong passwords (audited)."""
    from .signin import SignInGuard

    with _store(ctx, key_file) as store:
        if store.user(username) is None:
            raise DeskError("no such user")
        had = SignInGuard(store).unlock(username)
        store.audit("cli", "account_unlocked", username, "" if had else "nothing was held")
    click.echo(f"{username} unlocked" if had else f"{username}: nothing was holding the account back")


@user.command("list")
@_key_option
@click.pass_context
def user_list(ctx, key_file) -> None:
    with _store(ctx, key_file) as store:
        accounts = store.users()
    for account in accounts:
        second = "totp" if account.totp_enrolled else ("totp pending" if account.totp_required else "-")
        click.echo(f"{account.username}\t{account.role}\t{second}\t{'disabled' if account.disabled else 'active'}")


@desk.group("audit")
def audit() -> None:
    """The desk's audit log."""


@audit.command("verify")
@click.option("--head", "heads", multiple=True, metavar="FILE|LINE",
              help="Heads kept outside the store (a file of head lines, or one line); default: operator.audit_heads_file.")
@_key_option
@click.pass_context
def audit_verify(ctx, heads, key_file) -> None:
    """Exit 0 when the keyed chain is whole and holds every head given; 1, naming where it breaks, otherwise."""
    settings = _settings(ctx)
    if not heads:
        default = heads_file_of(settings)
        heads = (str(default),) if default is not None and default.exists() else ()
    try:
        kept = [found for source in heads for found in read_heads(source)]
    except HeadError as error:
        raise click.ClickException(str(error)) from None
    with _store(ctx, key_file) as store:
        intact, summary = store.verify_audit(kept)
    click.echo(summary)
    if not intact:
        ctx.exit(1)


@audit.command("anchor")
@_key_option
@click.pass_context
def audit_anchor(ctx, key_file) -> None:
    """Sign the log's newest line as a head, add it to operator.audit_heads_file and print it (copy it elsewhere too)."""
    with _store(ctx, key_file) as store:
        head = store.audit_log.anchor()
    if head is None:
        raise click.ClickException("the audit log is empty: nothing to anchor yet")
    click.echo(head.line())


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


desk.add_command(company)
desk.add_command(referral)
