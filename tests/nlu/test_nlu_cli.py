"""`grievance nlu parse|eval|bench`: JSON per message, accuracy tables, timings."""

import json

import pytest
from click.testing import CliRunner

from bot.cli import cli

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run


@pytest.fixture
def run():
    def invoke(*args: str, stdin: str | None = None):
        return CliRunner().invoke(cli, ["nlu", *args], input=stdin, catch_exceptions=False)

    return invoke


def test_parse_one_message(run):
    result = run("parse", "কারখানায় আগুন লেগেছে, ২০ জন আটকে আছে")
    assert result.exit_code == 0
    (line,) = result.output.splitlines()
    parsed = json.loads(line)
    assert parsed == {
        "language": "bn",
        "category": "safety",
        "confidence": parsed["confidence"],
        "urgent": True,
        "entities": [{"type": "people", "value": 20, "text": "20 জন"}],
    }
    assert 0 < parsed["confidence"] <= 1


def test_parse_reads_one_message_per_line_from_stdin(run):
    result = run("parse", stdin="they did not pay us\n\nmuchas gracias, hasta luego\n工厂着火了\n")
    assert result.exit_code == 0
    parsed = [json.loads(line) for line in result.output.splitlines()]
    assert [(p["language"], p["category"], p["urgent"]) for p in parsed] == [
        ("en", "wages", False),
        ("es", None, False),  # a thank-you names no problem
        ("zh", "safety", True),
    ]


def test_parse_with_rasa_down_fails_instead_of_measuring_the_builtin(run):
    result = CliRunner().invoke(cli, ["nlu", "parse", "--backend", "rasa", "--rasa-url", "http://127.0.0.1:9", "no pay"])
    assert result.exit_code == 1
    assert "Rasa did not answer" in result.output and "no pay" not in result.output


def test_eval_prints_category_danger_and_time_for_every_available_backend(run):
    # No Rasa server nor e5 worker at that port: every available backend is the built-in one alone.
    result = run("eval", "--rasa-url", "http://127.0.0.1:9", "--e5-url", "http://127.0.0.1:9")
    assert result.exit_code == 0
    out = result.output
    assert "(rasa: not measured, no server at http://127.0.0.1:9)" in out
    assert "(e5: not measured, no server at http://127.0.0.1:9)" in out
    for title in ("category, by language", "category, by category", "danger recall", "danger false alarms",
                  "time per parse", "language detection"):
        assert title in out
    for row in ("bn", "bn-Latn", "hi-Latn", "my", "km", "zh", "macro, 13 languages", "safety", "none", "all", "p95"):
        assert f"  {row} " in out
    assert "builtin" in out


def test_eval_of_a_backend_asked_for_fails_when_its_server_is_down(run):
    result = run("eval", "--backend", "rasa", "--rasa-url", "http://127.0.0.1:9")
    assert result.exit_code == 1
    assert "Rasa did not answer" in result.output
    result = run("eval", "--backend", "e5", "--e5-url", "http://127.0.0.1:9")
    assert result.exit_code == 1
    assert "The e5 worker did not answer at http://127.0.0.1:9/parse (unreachable)" in result.output


def test_eval_prints_markdown_tables_for_benchmarks(run):
    result = run("eval", "--backend", "builtin", "--markdown")
    assert result.exit_code == 0
    assert "**danger recall (urgent messages flagged)**" in result.output
    assert "|  | builtin |" in result.output and "| all | " in result.output


def test_bench_times_both_ways_of_calling(run):
    result = run("bench", "--rounds", "1")
    assert result.exit_code == 0
    assert "language known" in result.output and "language detected" in result.output
    assert "ms" in result.output
