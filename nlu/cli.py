"""`grievance nlu`: read messages with an understander, measure it, time it.

    grievance nlu parse "they did not pay us"         # one JSON object per message
    printf 'msg one\\nmsg two\\n' | grievance nlu parse   # one message per stdin line
    grievance nlu eval                                # every backend available here
    grievance nlu eval --backend builtin --markdown   # the tables of BENCHMARKS.md
    grievance nlu bench --backend builtin

These commands print what a worker wrote back to the terminal of whoever typed it; they
log nothing. The Rasa backend needs a running server (`make rasa-run`), the e5 backend its
worker (`make e5-run`).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from nlu.backends import BACKENDS
from nlu.e5_backend import E5Unavailable, E5Understander
from nlu.eval_table import detection_table, evaluation_tables, render
from nlu.evaluation import detection_report, evaluate, time_calls
from nlu.rasa_backend import RasaUnavailable, RasaUnderstander
from nlu.statistical import SUPPORTED_LANGUAGES, NgramUnderstander, category_model
from nlu.training_data import examples
from nlu.understanding import Understander, Understanding, builtin_understander

DEFAULT_RASA_URL = "http://127.0.0.1:5005"
DEFAULT_E5_URL = "http://127.0.0.1:5006"
# Generous for a command line run by hand; the bot's own timeout is in config.yaml.
CLI_RASA_TIMEOUT_SECONDS = 10.0

_backend_option = click.option(
    "--backend", type=click.Choice(BACKENDS), default="builtin", show_default=True, help="Which understander reads the messages."
)
_rasa_url_option = click.option(
    "--rasa-url", default=DEFAULT_RASA_URL, show_default=True, help="The Rasa server (`rasa run --enable-api`)."
)
_e5_url_option = click.option(
    "--e5-url", default=DEFAULT_E5_URL, show_default=True, help="The e5 worker (`make e5-run`)."
)


def _understander(backend: str, rasa_url: str, e5_url: str = DEFAULT_E5_URL) -> Understander:
    if backend == "rasa":
        return _StrictRasa(rasa_url)
    if backend == "e5":
        return _StrictE5(e5_url)
    return builtin_understander()


def _token_file(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


class _StrictRasa(RasaUnderstander):
    """Rasa without the silent fallback: a measurement of Rasa must fail, not quietly
    measure the built-in model, when the server is down."""

    def __init__(self, url: str) -> None:
        # The token `make rasa-run` started Rasa with: $GRIEVANCE_RASA_TOKEN, else its file.
        token = os.environ.get("GRIEVANCE_RASA_TOKEN") or _token_file(Path("var/keys/rasa-token"))
        super().__init__(url, CLI_RASA_TIMEOUT_SECONDS, fallback=builtin_understander(), token=token)

    def understand(self, text: str, language: str | None = None) -> Understanding:
        try:
            return self.understand_with_rasa(text, language)
        except RasaUnavailable as failure:
            raise click.ClickException(
                f"Rasa did not answer at {self.endpoint} ({failure.reason}); start it with `make rasa-run`"
            ) from None


class _StrictE5(E5Understander):
    """The e5 worker without the silent fallback, for the same reason as `_StrictRasa`."""

    def __init__(self, url: str) -> None:
        token = os.environ.get("GRIEVANCE_E5_TOKEN") or _token_file(Path("var/keys/e5-token")) or ""
        super().__init__(url, CLI_RASA_TIMEOUT_SECONDS, fallback=NgramUnderstander(category_model()), token=token)

    def understand(self, text: str, language: str | None = None) -> Understanding:
        try:
            return self.understand_with_e5(text, language)
        except E5Unavailable as failure:
            raise click.ClickException(
                f"The e5 worker did not answer at {self.endpoint} ({failure.reason}); start it with `make e5-run`"
            ) from None


@click.group("nlu")
def nlu() -> None:
    """Language detection and category suggestion: try, measure and time them."""


@nlu.command()
@click.argument("text", required=False)
@_backend_option
@_rasa_url_option
@_e5_url_option
def parse(text: str | None, backend: str, rasa_url: str, e5_url: str) -> None:
    """Read TEXT (or each line of stdin) and print one JSON object per message."""
    understander = _understander(backend, rasa_url, e5_url)
    for message in [text] if text is not None else _stdin_lines():
        click.echo(json.dumps(understander.understand(message).as_dict(), ensure_ascii=False))


def _stdin_lines() -> Iterator[str]:
    for line in sys.stdin:
        if line.strip():
            yield line.rstrip("\n")


@nlu.command("eval")
@click.option(
    "--backend", "backends", type=click.Choice(BACKENDS), multiple=True,
    help="Understander to measure; repeat to compare several. Default: every one available "
         "(builtin, rasa when its server answers at --rasa-url, e5 when its worker answers at --e5-url).",
)  # fmt: skip
@_rasa_url_option
@_e5_url_option
@click.option("--markdown", is_flag=True, help="Print Markdown tables (for BENCHMARKS.md).")
def evaluate_command(backends: tuple[str, ...], rasa_url: str, e5_url: str, markdown: bool) -> None:
    """Category per language and per category, danger recall and false alarms, and time
    per parse, per backend, on the evaluation split (never trained on); then language
    detection on native-script messages."""
    held_out = examples("eval")
    urgent = sum(example.urgent for example in held_out)
    click.echo(f"Evaluation split nlu/data/eval/: {len(held_out)} messages, {urgent} of them urgent")
    understanders = {}
    for backend in backends or BACKENDS:
        understander = _understander(backend, rasa_url, e5_url)
        if not backends and not _answers(understander):
            click.echo(f"({backend}: not measured, no server at {e5_url if backend == 'e5' else rasa_url})")
            continue
        understanders[backend] = understander
    evaluations = {backend: evaluate(understander, held_out) for backend, understander in understanders.items()}
    for title, header, rows in evaluation_tables(evaluations):
        click.echo("\n" + render(title, header, rows, markdown))
    click.echo("\n" + render(*detection_table(detection_report(SUPPORTED_LANGUAGES)), markdown))


def _answers(understander: Understander) -> bool:
    """Whether a backend that needs a server can be measured now."""
    try:
        understander.understand("hello", "en")
    except click.ClickException:
        return False
    return True


@nlu.command()
@_backend_option
@_rasa_url_option
@_e5_url_option
@click.option("--rounds", type=click.IntRange(1, 100), default=5, show_default=True, help="Passes over the messages.")
def bench(backend: str, rasa_url: str, e5_url: str, rounds: int) -> None:
    """Time one parse per message over the evaluation messages: as the conversation
    calls it (language known), and as `nlu parse` does (language detected)."""
    understander = _understander(backend, rasa_url, e5_url)
    held_out = examples("eval")
    language_of = {example.text: example.language for example in held_out}
    texts = list(language_of)
    known = time_calls(lambda text: understander.understand(text, language_of[text]), texts, rounds)
    detected = time_calls(understander.understand, texts, rounds)
    click.echo(f"{backend}: {len(texts)} messages x {rounds} rounds")
    for label, timing in (("language known", known), ("language detected", detected)):
        click.echo(
            f"  {label:<18} mean {timing.mean_ms:.3f} ms  median {timing.median_ms:.3f} ms  "
            f"p95 {timing.p95_ms:.3f} ms  ({timing.calls} calls)"
        )
