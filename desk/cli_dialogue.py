"""The operator's side of the dialogue with the worker, on the operator's machine.

`reply CASE "text"` (sent through the operator API, kept in the local thread),
`cases replies` (fetch the workers' answers and open them with the private key),
`cases thread CASE`. The API's tokens and server are the intake server's (bot/cli_dialogue.py).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import click

from bot.cli import _settings

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
    from desk.operator_store import OperatorStore, store_location

    settings = _settings(ctx)
    store = OperatorStore(store_location(settings), identity)
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
    from desk.operator_store import CASE_PREFIX_MIN

    raise click.ClickException(f"no single case matches '{terminal_safe(case[:40])}' in the local store (give a unique prefix"
                               f" of at least {CASE_PREFIX_MIN} characters of its id; run `grievance cases pull`, or give the full case id)")


def _api_call(function):
    """Run an operator API call; its failure is one line, without the token or the text."""
    from .operator_client import OperatorApiError

    try:
        return function()
    except OperatorApiError as error:
        raise click.ClickException(str(error)) from None


@click.command("reply")
@_key_option
@click.argument("case")
@click.argument("text")
@click.pass_context
def reply(ctx: click.Context, key_file: str | None, case: str, text: str) -> None:
    """Send TEXT to the worker of CASE (a case id, or a unique prefix from the local store)."""
    from storage.db import utcnow

    from .dialogue import OperatorDialogue
    from .operator_client import client_for, delivery_sentence
    from .operator_store import store_location

    identity = _operator_identity(ctx, key_file)
    case_id = _resolve_case(ctx, identity, case)
    settings = _settings(ctx)
    with client_for(settings) as client:
        answer = _api_call(lambda: client.post_message(case_id, text))
    dialogue = OperatorDialogue(store_location(settings), identity)
    try:
        dialogue.add_sent(case_id, text, utcnow().isoformat(), answer)
    finally:
        dialogue.close()
    click.echo(delivery_sentence(answer, case_id))


@click.command("replies")
@_key_option
@click.pass_context
def cases_replies(ctx: click.Context, key_file: str | None) -> None:
    """Fetch the workers' answers from the operator API, open them with the key, keep them locally."""
    from .dialogue import OperatorDialogue, pull_answers
    from .operator_store import store_location

    from .operator_client import client_for

    identity = _operator_identity(ctx, key_file)
    settings = _settings(ctx)
    dialogue = OperatorDialogue(store_location(settings), identity)
    try:
        with client_for(settings) as client:
            result = _api_call(lambda: pull_answers(client, dialogue, identity))
    finally:
        dialogue.close()
    click.echo(f"kept {result.kept} new answers from workers ({result.already_had} already here)")
    if result.urgent:
        click.echo(f"URGENT: {result.urgent} of them spoke of danger; the case is urgent now (grievance cases list --urgent)")


@click.command("thread")
@_key_option
@click.argument("case")
@click.pass_context
def cases_thread(ctx: click.Context, key_file: str | None, case: str) -> None:
    """The dialogue with the worker of CASE, oldest first (run `grievance cases replies` to fetch new answers).

    First how the worker can be reached (and why not); then each message, the worker's urgent
    answers marked URGENT, their contact answer after an alert and their view of the outcome.
    """
    from .dialogue import OperatorDialogue
    from .operator_store import OperatorStore, store_location
    from .reach import reach_of

    identity = _operator_identity(ctx, key_file)
    case_id = _resolve_case(ctx, identity, case)
    settings = _settings(ctx)
    dialogue = OperatorDialogue(store_location(settings), identity)
    try:
        entries = dialogue.thread(case_id)
    finally:
        dialogue.close()
    store = OperatorStore(store_location(settings), identity)
    try:
        record = store.get(case_id)
    finally:
        store.close()
    if record is not None:
        reach = reach_of(record, entries, [q.id for q in settings.flow.questions if q.grants_contact])
        click.echo(terminal_safe("reach   " + reach.sentence() + (f" {reach.note}" if reach.note else "")))
    if not entries:
        click.echo("no messages yet")
    for entry in entries:
        click.echo(terminal_safe(thread_line(entry)))


_HELPED = {"yes": "it helped", "partly": "it helped partly", "no": "it did not help", None: "no answer chosen"}


def thread_line(entry) -> str:
    """One entry of `cases thread`: when, who, and what (continuation lines indented under the words)."""
    who = "you   " if entry.direction == "operator" else "worker"
    if entry.kind == "contact":
        words = ("[contact] after the alert: the team may write to them on this chat" if entry.contact_allowed
                 else "[contact] after the alert: they asked the team not to write to them")
    elif entry.kind == "feedback":
        words = f"[outcome] {_HELPED.get(entry.helped, 'no answer chosen')}" + (f": {entry.text}" if entry.text else "")
    else:
        words = ("URGENT: " if entry.urgent else "") + entry.text
        if entry.direction == "operator" and entry.delivery:
            words += "  (sent to their chat)" if entry.delivery == "sent_to_channel" else f"  (kept for STATUS: {entry.why or 'not sent'})"
    return f"{entry.at}  {who}  " + words.replace("\n", "\n" + " " * 36)
