"""What every `grievance` command shares: its settings and, for those that need them, the services.

Loaded once per command from `--config` (kept by the root group in `ctx.obj`); loading the
settings also sets up logging. A separate module so that each group of commands (and the
desk's, in desk/) imports it without importing the command line that registers them.
"""

from __future__ import annotations

import click

from .config import Settings, load_settings
from .logs import setup_logging


def command_settings(ctx: click.Context) -> Settings:
    """This command's settings, read once from `--config`; the first call also sets up logging."""
    settings = ctx.obj.get("settings")
    if settings is None:
        settings = load_settings(ctx.obj["config_path"])
        ctx.obj["settings"] = settings
        log_file = settings.path(settings.logging.file) if settings.logging.file else None
        # Interactive commands keep the terminal for the conversation: only warnings go to stderr there.
        quiet = bool({"chat", "cases"} & set(ctx.command_path.split()))
        setup_logging(settings.logging.level, log_file, stderr_level="WARNING" if quiet else None)
    return settings


def command_services(ctx: click.Context):
    """The running bot's parts (`bot.services.Services`), built from this command's settings.

    The config's warnings are logged, unless `serve` started this process beside itself and printed them.
    """
    from .services import build_services  # heavy imports only for commands that need them

    return build_services(command_settings(ctx), warn=ctx.obj.get("config_warnings", True))


def beside_server(ctx: click.Context, *command: str) -> list[str]:
    """The argument list of a `grievance` process that `serve` starts beside itself, with its config.

    `--config-checked`: `serve` has checked the config and printed its warnings, once for the start."""
    import sys

    return [sys.executable, "-c", "from bot.cli import main; main()", "--config", ctx.obj["config_path"], "--config-checked", *command]
