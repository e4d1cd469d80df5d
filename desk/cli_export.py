"""`grievance export` and `grievance decrypt`: encrypted batches of cases for partners (operator's machine).

`export` reads cases from the local operator store (so it needs the operator's key)
and writes them as age-encrypted JSON Lines to the partners' public keys
(desk/export.py); a partner opens the file with `age -d -i key.txt FILE`, or
with `grievance decrypt FILE --key key.txt`, which needs no config file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .cli_cases import DeskError, _key_option, desk_store, filter_options, make_filter


def _recipients(recipients: tuple[str, ...], recipients_file: str | None) -> list[str]:
    keys = list(recipients)
    if recipients_file:
        try:
            text = Path(recipients_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise DeskError(f"cannot read the recipients file {recipients_file}") from None
        # The format of `age -R`: one key a line, blank lines and # comments allowed.
        keys += [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not keys:
        raise click.UsageError("give at least one --recipient age1... or a --recipients-file")
    return keys


@click.command("export")
@_key_option
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The encrypted file to write (e.g. batch.jsonl.age); replaced only once complete.")
@click.option("--recipient", "recipients", multiple=True, metavar="AGE1...", help="An age public key to encrypt to (repeatable).")
@click.option("--recipients-file", type=click.Path(dir_okay=False), default=None,
              help="A file of age public keys, one a line (# comments allowed).")
@click.option("--profile", required=True, type=click.Choice(["full", "redacted"]),
              help="full: every field, photos and contact; redacted: no contact, no attachments, no case code, no free text.")
@click.option("--include-text", is_flag=True, help="Redacted profile: keep the description and text answers.")
@filter_options
@click.pass_context
def export(ctx: click.Context, key_file, output, recipients, recipients_file, profile, include_text, statuses, categories, urgent, since, until) -> None:
    """Write the cases of the local store as age-encrypted JSON Lines (one case record a line)."""
    from storage.crypto import CryptoError
    from desk.export import write_export

    if include_text and profile != "redacted":
        raise click.UsageError("--include-text applies to --profile redacted (the full profile has all text)")
    keys = _recipients(recipients, recipients_file)
    filters = make_filter(statuses, categories, urgent, since, until)
    output_path = Path(output).resolve()
    if not output_path.parent.is_dir():
        raise DeskError(f"the folder of {output} does not exist")
    _, store = desk_store(ctx, key_file)
    try:
        if sys.stderr.isatty():
            with click.progressbar(length=store.count(filters), label="exporting", file=sys.stderr) as bar:
                count = write_export(store, filters, keys, output_path, profile=profile, include_text=include_text, on_case=lambda: bar.update(1))
        else:
            count = write_export(store, filters, keys, output_path, profile=profile, include_text=include_text)
    except CryptoError as error:
        raise DeskError(str(error)) from None
    finally:
        store.close()
    click.echo(f"exported {count} cases ({profile}{', with text' if include_text else ''}) to {output}, for {len(keys)} recipient(s)")


@click.command("decrypt")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", "key_file", required=True, type=click.Path(dir_okay=False), help="An age private key file (mode 0600).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Where to write the JSON Lines (mode 0600; default: standard output).")
def decrypt(file: str, key_file: str, output: str | None) -> None:
    """Decrypt an export (FILE) with an age private key, streaming."""
    from storage.crypto import DecryptionError
    from desk.export import decrypt_export
    from storage.keys import load_operator_identity

    identity = load_operator_identity(Path(key_file))
    try:
        decrypt_export(Path(file), identity, Path(output).resolve() if output else None, sys.stdout.buffer)
    except DecryptionError as error:
        raise DeskError(str(error)) from None
    except BrokenPipeError:  # piped into `head`: the reader has what it wanted; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
