"""`grievance queue status|retry`: the outbox and the case queue."""

from __future__ import annotations

import click

from .cli_context import command_services


@click.group()
def queue() -> None:
    """The outbox and the case queue."""


@queue.command("status")
@click.pass_context
def queue_status(ctx: click.Context) -> None:
    """Cases per outbox state, the queue's depth, and the dead-lettered case ids with their last error kind."""
    from storage.outbox import dead_letters, outbox_counts
    from storage.sinks import SourceError

    services = command_services(ctx)
    try:
        counts = outbox_counts(services.sessions)
        dead = dead_letters(services.sessions)
        depth = getattr(services.sink, "depth", None)
        if depth is None:
            queue_line = "cases go to the operator's own system (no queue to count here)"
        else:
            try:
                waiting, urgent = depth()
                queue_line = f"{waiting} waiting, {urgent} urgent"
            except SourceError as error:
                queue_line = f"cannot be read ({error.kind})"
    finally:
        services.close()
    click.echo(
        f"outbox: {counts.get('pending', 0)} pending, {counts.get('dead', 0)} dead-lettered, "
        f"{counts.get('delivered', 0)} delivered (not yet purged)"
    )
    click.echo(f"queue ({services.sink.kind}): {queue_line}")
    for case_id, error_kind in dead:
        click.echo(f"dead  {case_id}  {error_kind}")
    if counts.get("dead", 0) > len(dead):
        click.echo(f"... and {counts['dead'] - len(dead)} more dead-lettered cases")


@queue.command("retry")
@click.pass_context
def queue_retry(ctx: click.Context) -> None:
    """Put dead-lettered cases back in line for delivery."""
    from storage.outbox import retry_dead

    services = command_services(ctx)
    try:
        click.echo(f"{retry_dead(services.sessions)} dead-lettered cases will be retried")
    finally:
        services.close()


COMMANDS = (queue,)
