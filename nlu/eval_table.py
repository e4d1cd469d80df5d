"""The tables `grievance nlu eval` prints: one column per backend, as plain text or as
Markdown for BENCHMARKS.md."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from nlu.evaluation import Danger, Evaluation, Report, Score

Cell = Callable[[Evaluation], str]


def score(value: Score | None) -> str:
    return f"{value.accuracy:.1%} ({value.right}/{value.total})" if value else "-"


def recall(value: Danger | None) -> str:
    return f"{value.recall:.1%} ({value.caught}/{value.urgent})" if value and value.urgent else "-"


def false_alarms(value: Danger | None) -> str:
    return f"{value.false_alarm_rate:.1%} ({value.false_alarms}/{value.not_urgent})" if value and value.not_urgent else "-"


def evaluation_tables(evaluations: Mapping[str, Evaluation]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of every table, one column per backend."""
    backends = list(evaluations)
    first = next(iter(evaluations.values()))
    tables = []

    def table(title: str, keys: Sequence[str], cell: Callable[[Evaluation, str], str], last: tuple[str, Cell] | None = None) -> None:
        rows = [[key, *(cell(evaluations[backend], key) for backend in backends)] for key in keys]
        if last is not None:
            rows.append([last[0], *(last[1](evaluations[backend]) for backend in backends)])
        tables.append((title, ["", *backends], rows))

    table("category, by language", list(first.category.rows), lambda e, key: score(e.category.rows.get(key)),
          (f"macro, {len(first.category.by_language)} languages", lambda e: f"{e.category.macro_accuracy:.1%}"))
    table("category, by category (none: no category suggested)", list(first.by_category),
          lambda e, key: score(e.by_category.get(key)),
          ("macro, categories", lambda e: f"{_mean(s.accuracy for s in e.by_category.values()):.1%}"))
    table("danger recall (urgent messages flagged)", list(first.danger_by_language),
          lambda e, key: recall(e.danger_by_language.get(key)), ("all", lambda e: recall(e.danger)))
    table("danger false alarms (messages flagged that are not urgent)", list(first.danger_by_language),
          lambda e, key: false_alarms(e.danger_by_language.get(key)), ("all", lambda e: false_alarms(e.danger)))
    table("time per parse, language known (ms)", ["mean", "median", "p95"],
          lambda e, key: f"{getattr(e.timing, key + '_ms'):.3f}")
    return tables


def detection_table(report: Report) -> tuple[str, list[str], list[list[str]]]:
    rows = [[row, score(value)] for row, value in report.rows.items()]
    rows.append([f"macro, {len(report.by_language)} languages", f"{report.macro_accuracy:.1%}"])
    return "language detection (native script, all 13 candidates)", ["", "detection"], rows


def render(title: str, header: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = [f"**{title}**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    lines = [title]
    for row in [header, *rows]:
        lines.append("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0
