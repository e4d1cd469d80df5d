"""The `grievance` command line: set-up, local chat, the server, and the operator's tools.

Server side: `init`, `chat`, `serve`, `forward`, `purge` (bot/cli_server.py), `queue status|retry`
(bot/cli_queue.py), `keys rotate|export-signing-public` (bot/cli_keys.py), `telegram ...`
(bot/cli_telegram.py), `api-token`, `operator-api`, `stats` (bot/cli_dialogue.py), `nlu ...`
(nlu/cli.py); `keys new-operator-key` (run on the operator's machine, but it only writes a key file).
What they share, the settings and services of a command, is in bot/cli_context.py.
Operator side (with the private key, on the operator's machine): `cases ...`, `reply`, `export`,
`decrypt`, `report`, `demo-data`, `desk ...`, `duty ...`, all from desk/, named in DESK_COMMANDS below and
loaded only when called. A configuration problem ends any command with one line on stderr and
exit status 2.
"""

from __future__ import annotations

import sys

import click

from nlu.cli import nlu as nlu_group

from . import cli_dialogue, cli_keys, cli_queue, cli_server, cli_telegram, cli_voice
from .cli_context import command_settings as _settings  # noqa: F401  desk/'s commands import it from here
from .config import ConfigError


@click.group()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="GRIEVANCE_CONFIG", default="config.yaml",
              show_default=True, help="Configuration file.")
# Given by `serve` to the processes it starts beside itself (bot/cli_server.py): it has checked the
# config and printed its warnings once for the whole start, so they do not print them again.
@click.option("--config-checked", is_flag=True, hidden=True)
@click.pass_context
def cli(ctx: click.Context, config_path: str, config_checked: bool) -> None:
    """Anonymous grievance hotline for supply-chain workers."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    ctx.obj["config_warnings"] = not config_checked


for command in (*cli_server.COMMANDS, *cli_queue.COMMANDS, *cli_keys.COMMANDS, *cli_telegram.COMMANDS,
                *cli_dialogue.COMMANDS, *cli_voice.COMMANDS, nlu_group):
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
    "duty": ("desk.cli_duty", "duty", "Pages to the person on duty: status, acknowledge, test (operator side)."),
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
