"""`grievance duty`: pages to the person on duty, for those without the web console (operator side).

Through the operator API, like `grievance reply`: `duty status` lists the pages nobody has
acknowledged yet (`--all`: the recent ended ones too), `duty ack REF` acknowledges one (the
server stops calling the next person; the desk's audit log gets the server's event at its next
pull), `duty test` sends a test page to a person on the server's roster, to check that it arrives.
"""

from __future__ import annotations

import getpass

import click

from bot.cli import _settings

from .terminal import terminal_safe


def _client(ctx: click.Context):
    from .operator_client import client_for

    return client_for(_settings(ctx))


def _api_call(function):
    from .operator_client import OperatorApiError

    try:
        return function()
    except OperatorApiError as error:
        raise click.ClickException(str(error)) from None


@click.group("duty")
def duty() -> None:
    """Pages to the person on duty: status, acknowledge, test (operator side, through the operator API)."""


@duty.command("status")
@click.option("--all", "include_ended", is_flag=True, help="Also the recent pages that ended.")
@click.pass_context
def status(ctx: click.Context, include_ended: bool) -> None:
    """The pages nobody has acknowledged yet."""
    with _client(ctx) as client:
        pages = _api_call(lambda: client.duty_pages(include_ended))
    if not pages:
        click.echo("no page waits for an acknowledgement" if not include_ended else "no pages")
        return
    for page in pages:
        case = (page.get("case_id") or "-")[:8]
        by = f" by {page['acknowledged_by']}" if page.get("acknowledged_by") else ""
        click.echo(terminal_safe(f"{page['shown_ref']}  {page['state']}{by}  case {case}  {page['reason']}  "
                                 f"since {str(page['created_at'])[:16]}  roster step {int(page['step']) + 1}"))


@duty.command("ack")
@click.argument("ref")
@click.option("--as", "by", default=None, help="Who acknowledges (default: your user name on this machine).")
@click.pass_context
def ack(ctx: click.Context, ref: str, by: str | None) -> None:
    """Acknowledge page REF (as the page shows it, e.g. K7Q-4MR): nobody else is called about it."""
    from storage.duty import parse_ref

    canonical = parse_ref(ref)
    if canonical is None:
        raise click.ClickException(f"'{terminal_safe(ref)}' is not a page reference (six letters and digits, like K7Q-4MR)")
    with _client(ctx) as client:
        answer = _api_call(lambda: client.ack_page(canonical, by or getpass.getuser()))
    shown = answer.get("page", {}).get("shown_ref", ref)
    if answer.get("acknowledged"):
        click.echo(f"page {shown} acknowledged: nobody else will be called about it")
    else:
        page = answer.get("page", {})
        by = f" by {page['acknowledged_by']}" if page.get("acknowledged_by") else ""
        click.echo(terminal_safe(f"page {shown} was {page.get('state', 'ended')} already{by}"))


@duty.command("test")
@click.option("--person", default=None, help="The name of the person on the roster (default: the first).")
@click.pass_context
def test(ctx: click.Context, person: str | None) -> None:
    """Send a test page (marked as a test, never escalated) to check that it arrives."""
    with _client(ctx) as client:
        answer = _api_call(lambda: client.test_page(person))
    click.echo(terminal_safe(f"test page {answer.get('shown_ref')} queued for {answer.get('person')}: "
                             "it should arrive within a minute"))
