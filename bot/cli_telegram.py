"""`grievance telegram ...`: the Telegram channel's commands (channels/telegram.py).

Polling runs as its own process, `grievance telegram poll`, which `serve --telegram-polling`
starts beside gunicorn and the forwarder: a thread with an event loop and open connections
must not live in the process gunicorn forks its workers from.
"""

from __future__ import annotations

import signal
import subprocess

import click

from .cli_context import beside_server, command_services, command_settings
from .config import ConfigError, Settings


def telegram_polling_wanted(settings: Settings, flag: bool) -> bool:
    """Poll when asked (--telegram-polling) or when the config says `mode: polling`."""
    section = settings.channels.telegram
    if flag and not section.enabled:
        raise ConfigError("config error: channels.telegram.enabled: --telegram-polling needs the Telegram channel enabled")
    return flag or (section.enabled and section.mode == "polling")


def start_telegram_poller(ctx: click.Context) -> subprocess.Popen:
    return subprocess.Popen(beside_server(ctx, "telegram", "poll"))  # noqa: S603  this program itself, no shell


def stop_telegram_poller(poller: subprocess.Popen | None) -> None:
    if poller is None:
        return
    poller.send_signal(signal.SIGTERM)
    try:
        poller.wait(timeout=15)
    except subprocess.TimeoutExpired:
        poller.kill()
        poller.wait()


@click.group()
def telegram() -> None:
    """Telegram: register the webhook, or poll when there is no public URL."""


@telegram.command("poll")
@click.pass_context
def telegram_poll(ctx: click.Context) -> None:
    """Receive Telegram messages by polling (getUpdates) until stopped; removes any webhook first."""
    from channels.telegram_polling import poll_until_signalled

    services = command_services(ctx)
    try:
        adapter = services.adapters.get("telegram")
        if adapter is None:
            raise ConfigError("config error: channels.telegram.enabled: polling needs the Telegram channel enabled")
        poll_until_signalled(adapter)
    finally:
        services.close()


def _telegram_api(ctx: click.Context, *, webhook: bool):
    from channels.telegram import api_for, read_credentials

    settings = command_settings(ctx)
    token, secret = read_credentials(settings, webhook=webhook)
    return api_for(settings, token), secret


@telegram.command("set-webhook")
@click.pass_context
def telegram_set_webhook(ctx: click.Context) -> None:
    """Tell Telegram to post updates to server.public_url + /webhooks/telegram, with the webhook secret."""
    from channels.telegram import ALLOWED_UPDATES, WEBHOOK_PATH
    from channels.telegram_api import TelegramCallError

    settings = command_settings(ctx)
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


COMMANDS = (telegram,)
