"""What every `grievance desk ...` command needs: the operator's key, and the desk's store for the length of one command."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from bot.cli import _settings

from .audit import heads_file_of
from .store import DeskError, DeskStore


def _identity(settings, key_file: str | None) -> str:
    """The operator's private key: a plain age identity file, or one protected with `desk protect-key`."""
    from storage import crypto
    from storage.keys import load_operator_identity

    path = Path(key_file) if key_file else settings.path(settings.operator.identity_file)
    try:
        head = path.read_bytes()[:40]
    except OSError:
        head = b""
    if head.startswith(b"age-encryption.org/v1"):
        passphrase = os.environ.get("GRIEVANCE_DESK_PASSPHRASE") or click.prompt("Passphrase of the operator key", hide_input=True)
        try:
            return crypto.unlock_identity(path.read_bytes(), passphrase)
        except crypto.DecryptionError as error:
            raise click.ClickException(str(error)) from None
    return load_operator_identity(path)


@contextmanager
def _store(ctx: click.Context, key_file: str | None = None) -> Iterator[DeskStore]:
    """The desk's store for one command: a refused action is one line (exit 1), and the file is closed."""
    from desk.cli_cases import service_levels
    from desk.operator_store import OperatorStore, store_location

    settings = _settings(ctx)
    identity = _identity(settings, key_file)
    store = DeskStore(OperatorStore(store_location(settings), identity, service_levels(settings)), heads_file_of(settings))
    try:
        yield store
    except DeskError as error:
        raise click.ClickException(str(error)) from None
    finally:
        store.close()  # a head of any line this command wrote goes to the heads file


def _key_option(function):
    return click.option("--key", "key_file", type=click.Path(dir_okay=False), default=None,
                        help="Operator private key (default: operator.identity_file).")(function)
