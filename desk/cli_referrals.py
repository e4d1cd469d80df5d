"""`grievance desk company ...` and `grievance desk referral ...`: companies and the follow-up of referrals, from a terminal.

    grievance desk company add NAME AGE1...                  a company and the age key it opens referrals with
    grievance desk company contact NAME [--webhook URL --webhook-secret env:VAR|file:PATH] [--email ADDR]
    grievance desk company list
    grievance desk referral list [--overdue] [--as-of DAY]   every referral, where it stands
    grievance desk referral export ID -o FILE                the sealed file, as the company gets it (age -d opens it)
    grievance desk referral deliver                          deliveries whose time has come (cron-safe)
    grievance desk referral tell-worker ID                   tell the worker, when the intake server was down at first
    grievance desk referral answer ID --received DAY --remediation yes|no --text - [--file F ...]

A referral is named by its id or a unique prefix of at least 6 characters (the first 8 are shown).
Every action goes into the desk's audit log, as on the desk's pages.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import click

from bot.cli import _settings

from .cli_common import _key_option, _store
from .referral_flow import ReferralDesk
from .referral_store import CompanyContact
from .store import DeskError
from .terminal import terminal_safe


def _desk(ctx: click.Context, store) -> ReferralDesk:
    settings = _settings(ctx)
    from .operator_client import client_for

    return ReferralDesk(settings, store, lambda: client_for(settings))


def _referral_id(work: ReferralDesk, prefix: str) -> str:
    found = work.referrals.resolve(prefix)
    if found is None:
        raise DeskError(f"no single referral starts with '{terminal_safe(prefix[:40])}' (give at least 6 characters of its id)")
    return found


@click.group()
def company() -> None:
    """The directory of companies that referrals go to."""


@company.command("add")
@click.argument("name")
@click.argument("recipient")
@_key_option
@click.pass_context
def company_add(ctx, name, recipient, key_file) -> None:
    """Add a company to the directory, with the age public key it opens referrals with."""
    with _store(ctx, key_file) as store:
        store.add_company(name, recipient)
        store.audit("cli", "company_added", "-", name[:60])
    click.echo(f"{terminal_safe(name)} added to the directory")


@company.command("contact")
@click.argument("name")
@click.option("--webhook", default=None, metavar="URL", help="Its HTTPS endpoint for referrals.")
@click.option("--webhook-secret", default=None, metavar="env:VAR|file:PATH",
              help="Where the webhook's signing secret is (an environment variable or a 0600 file), never the secret.")
@click.option("--email", default=None, metavar="ADDRESS", help="Its address for referrals (through referral.email).")
@_key_option
@click.pass_context
def company_contact(ctx, name, webhook, webhook_secret, email, key_file) -> None:
    """Where a company gets its referrals besides the download (what is not given is removed)."""
    with _store(ctx, key_file) as store:
        work = _desk(ctx, store)
        found = work.referrals.company_named(name)
        if found is None:
            raise DeskError("no such company in the directory")
        contact = CompanyContact(webhook, webhook_secret, email)
        work.referrals.set_contact(found[0], contact)
        routes = ", ".join(route for route, _ in contact.routes()) or "download only"
        store.audit("cli", "company_contact_set", "-", f"{found[1][:60]}: {routes}")
    click.echo(f"{terminal_safe(found[1])} gets its referrals by download" + "".join(f", {r} to {terminal_safe(t)}" for r, t in contact.routes()))


@company.command("list")
@_key_option
@click.pass_context
def company_list(ctx, key_file) -> None:
    with _store(ctx, key_file) as store:
        work = _desk(ctx, store)
        for company_id, name, recipient in store.companies():
            routes = ", ".join(f"{r} {t}" for r, t in work.referrals.contact(company_id).routes()) or "download only"
            click.echo(f"{terminal_safe(name)}\t{recipient}\t{terminal_safe(routes)}")


@click.group()
def referral() -> None:
    """Referrals to the company concerned: the sealed file, deliveries, the company's answers."""


def _day(_ctx, _param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("a day as YYYY-MM-DD") from None


@referral.command("list")
@click.option("--overdue", is_flag=True, help="Only those the company has not answered by the day it was asked to.")
@click.option("--as-of", callback=_day, default=None, metavar="DAY", help="Where they stand on this day (default: today, UTC).")
@_key_option
@click.pass_context
def referral_list(ctx, overdue, as_of, key_file) -> None:
    """id, company, referred on, answer due by, where it stands, whether the worker was told."""
    today = as_of or datetime.now(UTC).date()
    with _store(ctx, key_file) as store:
        views = _desk(ctx, store).referrals.referrals()
    for view in views:
        if overdue and not view.overdue(today):
            continue
        click.echo(f"{view.referral_id[:8]}\t{terminal_safe(view.company)}\t{view.referred_on}\t{view.respond_by}\t"
                   f"{view.state(today)}\tworker: {view.worker_told}")


@referral.command("export")
@click.argument("referral_id")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="Where to write the sealed file (e.g. the name `referral list` suggests: referral-DAY-COMPANY-ID.json.age).")
@_key_option
@click.pass_context
def referral_export(ctx, referral_id, output, key_file) -> None:
    """Write the sealed referral, exactly as the company gets it: `age -d -i company-key.txt FILE` opens it."""
    target = Path(output).resolve()
    if not target.parent.is_dir():
        raise click.ClickException(f"the folder of {output} does not exist")
    with _store(ctx, key_file) as store:
        work = _desk(ctx, store)
        full_id = _referral_id(work, referral_id)
        name, sealed = work.sealed_file(full_id)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        try:
            with os.fdopen(descriptor, "wb") as sink:
                sink.write(sealed)
            os.chmod(temporary, 0o600)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        view = work.referrals.referral(full_id)
        store.audit("cli", "referral_exported", view.case_id, full_id[:8])
    click.echo(f"sealed referral {full_id[:8]} for {terminal_safe(view.company)} written to {output} (suggested name: {name})")


@referral.command("deliver")
@_key_option
@click.pass_context
def referral_deliver(ctx, key_file) -> None:
    """Try the deliveries whose time has come (webhook and e-mail); safe to run from cron."""
    with _store(ctx, key_file) as store:
        counts = _desk(ctx, store).deliver_due()
    click.echo(", ".join(f"{count} {state}" for state, count in sorted(counts.items())) or "nothing due")


@referral.command("tell-worker")
@click.argument("referral_id")
@_key_option
@click.pass_context
def referral_tell_worker(ctx, referral_id, key_file) -> None:
    """Tell the worker that the company was told (kept for STATUS; pushed only if they allowed contact)."""
    with _store(ctx, key_file) as store:
        work = _desk(ctx, store)
        told, why = work.tell_worker(_referral_id(work, referral_id), "cli")
    click.echo(f"worker: {told}" + (f" ({why})" if why else ""))
    if told == "pending":
        ctx.exit(1)


@referral.command("answer")
@click.argument("referral_id")
@click.option("--received", required=True, callback=_day, metavar="DAY", help="The day the company's answer came (YYYY-MM-DD).")
@click.option("--remediation", required=True, type=click.Choice(["yes", "no"]), help="Did the company promise remediation?")
@click.option("--text", "text", required=True, help="What it answered, or a summary ('-': read from standard input).")
@click.option("--file", "files", multiple=True, type=click.Path(exists=True, dir_okay=False), help="A file it sent (repeatable).")
@_key_option
@click.pass_context
def referral_answer(ctx, referral_id, received, remediation, text, files, key_file) -> None:
    """Record the company's answer (kept encrypted, like internal notes)."""
    if text == "-":
        text = sys.stdin.read()
    attached = [(Path(f).name, "application/octet-stream", Path(f).read_bytes()) for f in files]
    with _store(ctx, key_file) as store:
        work = _desk(ctx, store)
        full_id = _referral_id(work, referral_id)
        work.record_answer(full_id, received_on=received, text=text, remediation_promised=remediation == "yes", files=attached, by="cli")
    click.echo(f"answer to referral {full_id[:8]} recorded ({len(attached)} files)")
