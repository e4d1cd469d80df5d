"""The `grievance` command line: set-up, local chat, the server, and the operator's tools.

Server side: `init`, `chat`, `serve`, `forward`, `purge`, `queue status|retry`,
`keys rotate|export-signing-public`, `api-token`, `operator-api`, `stats` (bot/cli_dialogue.py),
`keys new-operator-key` (run on the operator's machine, but it only writes a key file).
Operator side (with the private key, on the operator's machine): `cases ...`, `reply`, `export`,
`decrypt`, `report`, `demo-data`, `desk ...`, all from desk/, named in DESK_COMMANDS below and
loaded only when called. A configuration problem ends any command with one line on stderr and
exit status 2.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time

import click

from .config import CHANNEL_TYPES, ConfigError, Settings, load_settings
from .logs import setup_logging

log = logging.getLogger(__name__)


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.obj.get("settings")
    if settings is None:
        settings = load_settings(ctx.obj["config_path"])
        ctx.obj["settings"] = settings
        log_file = settings.path(settings.logging.file) if settings.logging.file else None
        # Interactive commands keep the terminal for the conversation: only warnings go to stderr there.
        quiet = bool({"chat", "cases"} & set(ctx.command_path.split()))
        setup_logging(settings.logging.level, log_file, stderr_level="WARNING" if quiet else None)
    return settings


def _services(ctx: click.Context):
    from .services import build_services  # heavy imports only for commands that need them

    return build_services(_settings(ctx))


@click.group()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="GRIEVANCE_CONFIG", default="config.yaml",
              show_default=True, help="Configuration file.")
@click.pass_context
def cli(ctx: click.Context, config_path: str) -> None:
    """Anonymous grievance hotline for supply-chain workers."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path


@cli.command()
@click.option("--dev-operator-key", is_flag=True,
              help="Also create an operator key pair here, for a local demo only (never on a production server).")
@click.pass_context
def init(ctx: click.Context, dev_operator_key: bool) -> None:
    """Create the server secrets (pepper, data keys, signing key) and the database."""
    from storage.db import make_engine, migrate
    from storage.keys import init_keys, secrets_in_data_folder

    settings = _settings(ctx)
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
    else:
        click.echo(
            "No operator key was made here: it belongs on the operator's machine. There, run "
            "`grievance keys new-operator-key` and put the public key it prints (age1...) in "
            "operator.recipients on this server; give the operator this server's signing public key "
            "(`grievance keys export-signing-public`) for operator.intake_signing_keys."
        )


@cli.command()
@click.option("--sender", required=True, help="The worker's address on the channel (kept only as a keyed hash).")
@click.option("--channel", "channel_type", type=click.Choice(CHANNEL_TYPES), default="console", show_default=True)
@click.pass_context
def chat(ctx: click.Context, sender: str, channel_type: str) -> None:
    """Chat with the bot as a worker; reads one message per line when stdin is not a terminal."""
    from channels.console import ConsoleChannel
    from storage.outbox import forward_outbox

    services = _services(ctx)
    settings = services.settings
    channel = ConsoleChannel(
        services.intake,
        channel_type=channel_type,
        internal_error_text=services.catalogs.text(settings.deployment.default_language, "error.internal"),
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

    def write(text: str) -> None:
        click.echo(("bot> " + text.replace("\n", "\n     ")) if interactive else text)

    try:
        channel.converse(sender, lines(), write, after_each=forward)
    finally:
        services.close()


@cli.command()
@click.option("--host", default=None, help="Listen address (default: server.host).")
@click.option("--port", type=int, default=None, help="Port (default: server.port).")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True)
@click.option("--telegram-polling", is_flag=True,  # Telegram: see the Telegram block below
              help="Also receive Telegram messages by polling, beside the server (no public URL needed).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int, telegram_polling: bool) -> None:
    """Start the HTTP app under gunicorn, with the outbox forwarder (and the Telegram poller) beside it."""
    from .server import run_gunicorn

    from storage.keys import refuse_operator_identity_on_server

    settings = _settings(ctx)
    if refuse_operator_identity_on_server(settings):  # a real operator key readable here: refused, one line
        click.echo("DEMO OPERATOR KEY ON THIS MACHINE: never in production (made by `grievance init --dev-operator-key`)")
    poll_telegram = _telegram_polling_wanted(settings, telegram_polling)  # Telegram
    _services(ctx).close()  # fail fast on missing secrets or an unreachable database, before forking
    _hold_server_lock(settings)  # `keys rotate` refuses while this is held
    maintenance = subprocess.Popen(  # noqa: S603  this program itself, argument list, no shell
        [sys.executable, "-c", "from bot.cli import main; main()", "--config", ctx.obj["config_path"], "forward", "--loop"]
    )
    poller = _start_telegram_poller(ctx) if poll_telegram else None  # Telegram
    operator_api = (  # the operator API: its own gunicorn, on its own address (bot/cli_dialogue.py)
        subprocess.Popen([sys.executable, "-c", "from bot.cli import main; main()", "--config", ctx.obj["config_path"], "operator-api"])  # noqa: S603  this program itself
        if settings.operator_api.enabled
        else None
    )
    click.echo(f"serving on http://{host or settings.server.host}:{port or settings.server.port} (Ctrl-C to stop)")
    try:
        run_gunicorn(ctx.obj["config_path"], host or settings.server.host, port or settings.server.port, workers)
    finally:
        _stop_telegram_poller(operator_api)  # the same polite stop: SIGTERM, then kill after 15 s
        _stop_telegram_poller(poller)  # Telegram
        maintenance.send_signal(signal.SIGTERM)
        maintenance.wait(timeout=10)


@cli.command()
@click.option("--loop", is_flag=True, help="Keep forwarding and purging until stopped.")
@click.pass_context
def forward(ctx: click.Context, loop: bool) -> None:
    """Deliver sealed cases to the queue and queued messages to workers (with --loop: also purge on schedule)."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    from storage.outbox import forward_outbox
    from storage.retention import purge_expired

    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    interval = _settings(ctx).server.forward_interval_seconds
    if loop:
        _hold_server_lock(_settings(ctx))

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
            services = _services(ctx)
            break
        except unreachable as error:
            wait_out(error)
            pause()
            if stop["now"]:
                return
    settings = services.settings
    last_purge = 0.0
    try:
        while True:
            try:
                result = forward_outbox(services.sessions, services.sink, max_attempts=settings.queue.max_attempts)
                sent = services.dispatcher.run_once()
                if not loop:
                    click.echo(f"delivered {result.delivered}, failed {result.failed}, dead-lettered {result.dead}")
                    click.echo(f"messages sent {sent.sent}, to retry {sent.retried}, dead {sent.dead}, deferred {sent.deferred}")
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
        services.close()


@cli.command()
@click.pass_context
def purge(ctx: click.Context) -> None:
    """Erase what retention says to: drafts, reply addresses, receipts, old outbound and outbox rows (cron-safe)."""
    from storage.retention import purge_expired

    services = _services(ctx)
    try:
        result = purge_expired(services.sessions, services.settings.retention, throttle=services.settings.status_throttle)
    finally:
        services.close()
    click.echo(
        f"erased {result.conversations} expired drafts, {result.reply_addresses} reply addresses, "
        f"{result.outbox_entries} delivered outbox entries, {result.receipts} receipts, "
        f"{result.dead_outbound} outbound messages, {result.status_counters} STATUS counters"
    )


@cli.group()
def queue() -> None:
    """The outbox and the case queue."""


@queue.command("status")
@click.pass_context
def queue_status(ctx: click.Context) -> None:
    """Cases per outbox state, the queue's depth, and the dead-lettered case ids with their last error kind."""
    from storage.outbox import dead_letters, outbox_counts
    from storage.sinks import SourceError

    services = _services(ctx)
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

    services = _services(ctx)
    try:
        click.echo(f"{retry_dead(services.sessions)} dead-lettered cases will be retried")
    finally:
        services.close()


@cli.group()
def keys() -> None:
    """Server keys."""


def _server_lock_path(settings: Settings):
    return settings.data_dir / "server.lock"


_held_locks: list = []  # open files whose flock lives as long as this process


def _hold_server_lock(settings: Settings) -> None:
    """Mark this process as a running server (a shared flock): `keys rotate` refuses meanwhile."""
    import fcntl

    path = _server_lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a")  # noqa: SIM115  held open for the life of the process
    fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
    _held_locks.append(handle)


def _refuse_while_serving(settings: Settings):
    """An exclusive flock of the server lock, or ConfigError if a server on this machine holds it."""
    import fcntl

    path = _server_lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a")  # noqa: SIM115  closed by the caller
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ConfigError(
            "config error: secrets.data_keys: the server is running on this machine (`grievance serve` or "
            "`forward --loop`); its processes hold the old keys and would lose the conversations in progress. "
            "Stop it, run `grievance keys rotate`, and start it again"
        ) from None
    return handle


@keys.command("rotate")
@click.option("--retire-old", is_flag=True, help="After re-encrypting, remove the old data keys from the keyring.")
@click.pass_context
def keys_rotate(ctx: click.Context, retire_old: bool) -> None:
    """Add a new data key, re-encrypt every draft and reply address with it (with the server stopped)."""
    from storage.keys import add_data_key, retire_data_keys
    from storage.rotation import reencrypt_all

    settings = _settings(ctx)
    lock = _refuse_while_serving(settings)  # held until the end, so no server starts meanwhile
    try:
        new_id = add_data_key(settings)
        services = _services(ctx)
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

    click.echo(crypto.signing_public_key(load_signing_key(_settings(ctx))))


@keys.command("new-operator-key")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), default=None,
              help="Where to write the private key (default: operator.identity_file). Never overwritten.")
@click.pass_context
def keys_new_operator_key(ctx: click.Context, out_file: str | None) -> None:
    """On the operator's machine: make the operator key pair; prints the public key for the server."""
    from pathlib import Path

    from storage.keys import new_operator_key

    settings = _settings(ctx)
    path = Path(out_file) if out_file else settings.path(settings.operator.identity_file)
    if path.exists():
        raise ConfigError(f"config error: --out: {path} exists (an operator key is never overwritten)")
    recipient = new_operator_key(path)
    click.echo(f"private key written to {path} (mode 0600): keep it on this machine only, and a backup offline")
    click.echo("public key, for operator.recipients on the intake server:")
    click.echo(recipient)


# ---------------------------------------------------------------- Telegram (begin)
# The Telegram channel's commands (channels/telegram.py). Polling runs as its own process,
# `grievance telegram poll`, which `serve --telegram-polling` starts beside gunicorn and the
# forwarder: a thread with an event loop and open connections must not live in the process
# gunicorn forks its workers from.


def _telegram_polling_wanted(settings: Settings, flag: bool) -> bool:
    """Poll when asked (--telegram-polling) or when the config says `mode: polling`."""
    section = settings.channels.telegram
    if flag and not section.enabled:
        raise ConfigError("config error: channels.telegram.enabled: --telegram-polling needs the Telegram channel enabled")
    return flag or (section.enabled and section.mode == "polling")


def _start_telegram_poller(ctx: click.Context) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603  this program itself, argument list, no shell
        [sys.executable, "-c", "from bot.cli import main; main()", "--config", ctx.obj["config_path"], "telegram", "poll"]
    )


def _stop_telegram_poller(poller: subprocess.Popen | None) -> None:
    if poller is None:
        return
    poller.send_signal(signal.SIGTERM)
    try:
        poller.wait(timeout=15)
    except subprocess.TimeoutExpired:
        poller.kill()
        poller.wait()


@cli.group()
def telegram() -> None:
    """Telegram: register the webhook, or poll when there is no public URL."""


@telegram.command("poll")
@click.pass_context
def telegram_poll(ctx: click.Context) -> None:
    """Receive Telegram messages by polling (getUpdates) until stopped; removes any webhook first."""
    from channels.telegram_polling import poll_until_signalled

    services = _services(ctx)
    try:
        adapter = services.adapters.get("telegram")
        if adapter is None:
            raise ConfigError("config error: channels.telegram.enabled: polling needs the Telegram channel enabled")
        poll_until_signalled(adapter)
    finally:
        services.close()


def _telegram_api(ctx: click.Context, *, webhook: bool):
    from channels.telegram import api_for, read_credentials

    settings = _settings(ctx)
    token, secret = read_credentials(settings, webhook=webhook)
    return api_for(settings, token), secret


@telegram.command("set-webhook")
@click.pass_context
def telegram_set_webhook(ctx: click.Context) -> None:
    """Tell Telegram to post updates to server.public_url + /webhooks/telegram, with the webhook secret."""
    from channels.telegram import ALLOWED_UPDATES, WEBHOOK_PATH
    from channels.telegram_api import TelegramCallError

    settings = _settings(ctx)
    if not settings.server.public_url:
        raise ConfigError("config error: server.public_url: required to set the Telegram webhook (the public HTTPS address)")
    if settings.channels.telegram.mode != "webhook":
        raise ConfigError("config error: channels.telegram.mode: set-webhook needs mode 'webhook' (polling cannot run with a webhook set)")
    api, secret = _telegram_api(ctx, webhook=True)
    url = settings.server.public_url.rstrip("/") + WEBHOOK_PATH
    try:
        api.set_webhook(url, secret or "", ALLOWED_UPDATES)
    except TelegramCallError as error:
        raise click.ClickException(f"Telegram refused the webhook ({error.kind}): check the bot token and that the URL is public HTTPS")
    finally:
        api.close()
    click.echo(f"webhook set: {url} (updates: {', '.join(ALLOWED_UPDATES)}; pending updates kept)")


@telegram.command("delete-webhook")
@click.pass_context
def telegram_delete_webhook(ctx: click.Context) -> None:
    """Stop Telegram posting to the webhook (pending updates are kept, e.g. for polling)."""
    from channels.telegram_api import TelegramCallError

    api, _ = _telegram_api(ctx, webhook=False)
    try:
        api.delete_webhook()
    except TelegramCallError as error:
        raise click.ClickException(f"Telegram refused ({error.kind}): check the bot token")
    finally:
        api.close()
    click.echo("webhook deleted (pending updates kept)")


# ---------------------------------------------------------------- Telegram (end)


from nlu.cli import nlu as nlu_group  # noqa: E402

from .cli_dialogue import api_token as api_token_group  # noqa: E402
from .cli_dialogue import operator_api as operator_api_command  # noqa: E402
from .cli_dialogue import stats as stats_command  # noqa: E402

for command in (nlu_group, api_token_group, operator_api_command, stats_command):
    cli.add_command(command)


# ---------------------------------------------------------------- the operator's desk (desk/)
# The one place the intake server's command line names the desk: its commands are imported
# only when one of them is called, so `grievance serve` never loads desk/. The help line of
# each is written here, so that `grievance --help` need not import them either.

DESK_COMMANDS = {
    "cases": ("desk.cli_cases", "cases", "Operator side: pull, list and read cases with the operator's private key."),
    "reply": ("desk.cli_dialogue", "reply", "Send TEXT to the worker of CASE (a case id, or a unique prefix from the local store)."),
    "export": ("desk.cli_export", "export", "Write the cases of the local store as age-encrypted JSON Lines (one case record a line)."),
    "decrypt": ("desk.cli_export", "decrypt", "Decrypt an export (FILE) with an age private key, streaming."),
    "report": ("desk.reports.cli", "report", "Patterns across cases for a period (operator side)."),
    "demo-data": ("desk.reports.cli", "demo_data", "Fill the operator store with FAKE cases (operator side)."),
    "desk": ("desk.cli", "desk", "The operator's web console and its accounts (operator side)."),
}


class _DeskCommand(click.Command):
    """A desk command known by name and help only, until it is called."""

    def __init__(self, name: str, module: str, attribute: str, help_text: str) -> None:
        super().__init__(name, help=help_text, context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
                         add_help_option=False)
        self.target = (module, attribute)

    def _load(self) -> click.Command:
        import importlib

        module, attribute = self.target
        return getattr(importlib.import_module(module), attribute)

    def main(self, *args, **kwargs):  # pragma: no cover - only when run as its own program
        return self._load().main(*args, **kwargs)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["desk_args"] = list(args)
        return []

    def invoke(self, ctx: click.Context):
        import importlib

        command = self._load()
        store_error = importlib.import_module("desk.operator_store").OperatorStoreError
        try:
            with command.make_context(self.name, ctx.meta.get("desk_args", []), parent=ctx.parent) as sub:
                return command.invoke(sub)
        except store_error as error:  # e.g. a store written with another key: one line, exit 2
            raise _OneLineError(str(error)) from None


class _OneLineError(Exception):
    """A refusal of a desk command, said in one line by `main` (as a configuration problem is)."""


for name, (module, attribute, help_text) in DESK_COMMANDS.items():
    cli.add_command(_DeskCommand(name, module, attribute, help_text))


def main() -> None:
    """Console script entry point."""
    from storage.crypto import CryptoError

    try:
        cli.main(prog_name="grievance")
    except (ConfigError, CryptoError, _OneLineError) as error:
        click.echo(str(error), err=True)
        sys.exit(2)
