"""The server's commands: `init`, `chat`, `serve`, `forward`, `purge`."""

from __future__ import annotations

import logging
import secrets
import signal
import subprocess
import sys
import threading
import time

import click

from .cli_context import beside_server, command_services, command_settings
from .cli_telegram import start_telegram_poller, stop_telegram_poller, telegram_polling_wanted
from .config import CHANNEL_TYPES
from .server_lock import hold_server_lock

log = logging.getLogger(__name__)


@click.command()
@click.option("--dev-operator-key", is_flag=True,
              help="Also create an operator key pair here, for a local demo only (never on a production server).")
@click.pass_context
def init(ctx: click.Context, dev_operator_key: bool) -> None:
    """Create the server secrets (pepper, data keys, signing key) and the database."""
    from storage.db import make_engine, migrate
    from storage.keys import init_keys, secrets_in_data_folder

    settings = command_settings(ctx)
    result = init_keys(settings, dev_operator_key=dev_operator_key)
    for path in result.created:
        click.echo(f"created {path} (mode 0600)")
    for path in result.kept:
        click.echo(f"kept    {path}")
    engine = make_engine(settings.database_url)
    migrate(engine)
    engine.dispose()
    click.echo(f"database ready in {settings.data_dir}")
    for key in secrets_in_data_folder(settings):
        click.echo(f"note: {key} is inside the data folder ({settings.data_dir}): a copy of that folder carries the key to it")
    if dev_operator_key:
        click.echo(f"DEMO OPERATOR KEY ON THIS MACHINE: never in production ({settings.path(settings.operator.identity_file)})")
        token_file = _demo_api_token(settings)
        if token_file is not None:
            click.echo(f"created {token_file} (mode 0600): the local desk's token for the operator API (`grievance reply`)")
    else:
        click.echo(
            "No operator key was made here: it belongs on the operator's machine. There, run "
            "`grievance keys new-operator-key` and put the public key it prints (age1...) in "
            "operator.recipients on this server; give the operator this server's signing public key "
            "(`grievance keys export-signing-public`) for operator.intake_signing_keys."
        )


def _demo_api_token(settings):
    """The local demo plays both sides: a token for the operator API, written where
    `operator_client.token` looks for it (a file), once. None when nothing was made."""
    from storage.api_tokens import ApiTokens
    from storage.db import make_engine, session_factory
    from storage.keys import load_server_secrets, write_private_file

    source = settings.operator_client.token
    if not source.file or settings.path(source.file).exists():
        return None
    engine = make_engine(settings.database_url, sqlite_synchronous=settings.paths.sqlite_synchronous)
    try:
        tokens = ApiTokens(session_factory(engine), load_server_secrets(settings))
        name = "local-demo-desk"
        if any(info.name == name for info in tokens.list()):
            tokens.revoke(name)  # its file is gone: a new one replaces it
            name = f"local-demo-desk-{secrets.token_hex(3)}"
        _, token = tokens.create(name)
    finally:
        engine.dispose()
    path = settings.path(source.file)
    write_private_file(path, token + "\n")
    return path


@click.command()
@click.option("--sender", required=True, help="The worker's address on the channel (kept only as a keyed hash).")
@click.option("--channel", "channel_type", type=click.Choice(CHANNEL_TYPES), default="console", show_default=True)
@click.pass_context
def chat(ctx: click.Context, sender: str, channel_type: str) -> None:
    """Chat with the bot as a worker; reads one message per line when stdin is not a terminal.

    What the hotline team sends this worker later (`grievance reply`, "did it help?") is shown
    as it comes, as their phone would show it."""
    from channels.console import ConsoleChannel
    from storage.outbound import OutboundQueue
    from storage.outbox import forward_outbox

    services = command_services(ctx)
    settings = services.settings
    channel = ConsoleChannel(
        services.intake,
        channel_type=channel_type,
        internal_error_text=services.catalogs.text(settings.deployment.default_language, "error.internal"),
        queue=OutboundQueue(services.sessions, services.secrets),
    )

    def forward() -> None:
        forward_outbox(services.sessions, services.sink, max_attempts=settings.queue.max_attempts)

    interactive = sys.stdin.isatty()
    if interactive:
        click.echo("Type as the worker would; the bot answers. Ctrl-D to leave. Start with any message, e.g. 'hi'.")

    def lines():
        while True:
            try:
                line = input("you> ") if interactive else sys.stdin.readline()
            except EOFError:
                return
            if not interactive and line == "":
                return
            yield line

    printing = threading.Lock()

    def write(text: str) -> None:
        with printing:
            click.echo(("bot> " + text.replace("\n", "\n     ")) if interactive else text)

    stop = threading.Event()

    def watch() -> None:
        """While the worker is at the prompt, show what the hotline sends them (every second)."""
        while not stop.wait(1.0):
            try:
                texts = channel.delivered(sender)
            except Exception as error:  # a locked or closed database now: the next round tries again
                log.info("chat: the hotline's messages could not be read now", extra={"error": type(error).__name__})
                continue
            for text in texts:
                with printing:
                    if interactive:
                        click.echo("\nbot> " + text.replace("\n", "\n     ") + "\nyou> ", nl=False)
                    else:
                        click.echo(text)

    watcher = threading.Thread(target=watch, name="chat-watch", daemon=True)
    watcher.start()
    try:
        channel.converse(sender, lines(), write, after_each=forward)
    finally:
        stop.set()
        watcher.join(timeout=5)
        services.close()


@click.command()
@click.option("--host", default=None, help="Listen address (default: server.host).")
@click.option("--port", type=int, default=None, help="Port (default: server.port).")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True)
@click.option("--telegram-polling", is_flag=True,  # Telegram: bot/cli_telegram.py
              help="Also receive Telegram messages by polling, beside the server (no public URL needed).")
@click.option("--print-address", is_flag=True, help="Print the address it would serve on (http://HOST:PORT) and exit.")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int, telegram_polling: bool,
          print_address: bool) -> None:
    """Start the HTTP app under gunicorn, with the outbox forwarder (and the Telegram poller) beside it."""
    from .server import run_gunicorn

    from storage.keys import refuse_operator_identity_on_server

    settings = command_settings(ctx)
    if print_address:  # `make run` says where the hotline starts, from the config it starts with
        click.echo(f"http://{host or settings.server.host}:{port or settings.server.port}")
        return
    if refuse_operator_identity_on_server(settings):  # a real operator key readable here: refused, one line
        click.echo("DEMO OPERATOR KEY ON THIS MACHINE: never in production (made by `grievance init --dev-operator-key`)")
    poll_telegram = telegram_polling_wanted(settings, telegram_polling)  # Telegram
    command_services(ctx).close()  # fail fast on missing secrets or an unreachable database, before forking
    from nlu.statistical import urgency_model

    urgency_model()  # trained once here, before the fork: the workers share it (it is trained at first use elsewhere)
    hold_server_lock(settings)  # `keys rotate` refuses while this is held
    maintenance = subprocess.Popen(beside_server(ctx, "forward", "--loop"))  # noqa: S603  this program itself, no shell
    poller = start_telegram_poller(ctx) if poll_telegram else None  # Telegram
    operator_api = (  # the operator API: its own gunicorn, on its own address (bot/cli_dialogue.py)
        subprocess.Popen(beside_server(ctx, "operator-api"))  # noqa: S603  this program itself, no shell
        if settings.operator_api.enabled
        else None
    )
    click.echo(f"serving on http://{host or settings.server.host}:{port or settings.server.port} (Ctrl-C to stop)")
    try:
        run_gunicorn(ctx.obj["config_path"], host or settings.server.host, port or settings.server.port, workers)
    finally:
        stop_telegram_poller(operator_api)  # the same polite stop: SIGTERM, then kill after 15 s
        stop_telegram_poller(poller)  # Telegram
        maintenance.send_signal(signal.SIGTERM)
        maintenance.wait(timeout=10)


@click.command()
@click.option("--loop", is_flag=True, help="Keep forwarding and purging until stopped.")
@click.pass_context
def forward(ctx: click.Context, loop: bool) -> None:
    """Page the person on duty, deliver sealed cases to the queue and queued messages to workers (with --loop: also purge on schedule)."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    from storage.outbox import forward_outbox
    from storage.retention import purge_expired

    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    interval = command_settings(ctx).server.forward_interval_seconds
    if loop:
        hold_server_lock(command_settings(ctx))

    def pause() -> None:
        deadline = time.monotonic() + interval
        while not stop["now"] and time.monotonic() < deadline:
            time.sleep(0.1)

    # With --loop this process runs beside the server (`serve`), which does not restart it: a
    # database that is down (at start-up or later) only delays forwarding, it must not end it.
    unreachable = (OperationalError, InterfaceError)

    def wait_out(error: Exception) -> None:
        """Once: fail as before. In the loop: note it (the error's type only) and try again later."""
        if not loop:
            raise error
        log.warning("forwarder: database unavailable, will retry", extra={"reason": type(error).__name__})
    while True:
        try:
            services = command_services(ctx)
            break
        except unreachable as error:
            wait_out(error)
            pause()
            if stop["now"]:
                return
    settings = services.settings
    last_purge = 0.0
    pager_stop, pager_thread = threading.Event(), None
    if loop and services.pager is not None:
        # Pages to the person on duty on a thread of their own: an urgent alert waits for nothing else.
        pager_thread = services.pager.run_in_background(pager_stop, min(interval, 1.0))
    try:
        while True:
            try:
                paged = services.pager.run_once() if services.pager is not None and not loop else None
                result = forward_outbox(services.sessions, services.sink, max_attempts=settings.queue.max_attempts)
                sent = services.dispatcher.run_once()
                if not loop:
                    click.echo(f"delivered {result.delivered}, failed {result.failed}, dead-lettered {result.dead}")
                    click.echo(f"messages sent {sent.sent}, to retry {sent.retried}, dead {sent.dead}, deferred {sent.deferred}")
                    if paged is not None:
                        click.echo(f"duty pages sent {paged.sent}, to retry {paged.retried}, escalated {paged.escalated}, ended {paged.ended}")
                    return
                if time.monotonic() - last_purge >= settings.server.purge_interval_seconds:
                    purge_expired(services.sessions, settings.retention, throttle=settings.status_throttle)
                    last_purge = time.monotonic()
            except unreachable as error:
                wait_out(error)
            pause()
            if stop["now"]:
                return
    finally:
        pager_stop.set()
        if pager_thread is not None:
            pager_thread.join(timeout=30)  # a page being sent is finished, not cut off
        services.close()


@click.command()
@click.pass_context
def purge(ctx: click.Context) -> None:
    """Erase what retention says to: drafts, reply addresses, receipts, old outbound and outbox rows (cron-safe)."""
    from storage.retention import purge_expired

    services = command_services(ctx)
    try:
        result = purge_expired(services.sessions, services.settings.retention, throttle=services.settings.status_throttle)
    finally:
        services.close()
    click.echo(
        f"erased {result.conversations} expired drafts, {result.reply_addresses} reply addresses, "
        f"{result.outbox_entries} delivered outbox entries, {result.receipts} receipts, "
        f"{result.dead_outbound} outbound messages, {result.status_counters} STATUS counters"
    )


COMMANDS = (init, chat, serve, forward, purge)
