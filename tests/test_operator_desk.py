"""The operator's desk: the status lifecycle, its encrypted history, due dates, overdue, filters, store upgrade, CLI."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from bot.cli import cli
from bot.config import ConfigError, settings_from_mapping
from storage import crypto
from desk.lifecycle import STATUSES, ServiceLevels, TransitionError, allowed_moves, check_transition, due_dates, overdue
from desk.operator_store import (
    STORE_FORMAT,
    CaseFilter,
    OperatorStore,
    OperatorStoreError,
    StatusChangeError,
    UnknownCaseError,
    store_meta,
)

from desk_support import SECRET_REASON, identity_in, store_holds, store_in, make_record, operator_deployment, run_cli, run_main

T0 = datetime(2026, 1, 6, 9, 30, tzinfo=timezone.utc)

# (from, to, allowed without --force): every pair of statuses, decided once here.
FORWARD = [(a, b) for i, a in enumerate(STATUSES) for b in STATUSES[i + 1 :]]
TRANSITIONS = [
    *[(a, b, True) for a, b in FORWARD if a != "closed"],
    ("in_dialogue", "in_review", True),  # back to the desk after talking with the worker
    ("resolved", "in_review", True),  # reopening
    ("acknowledged", "received", False),
    ("in_review", "acknowledged", False),
    ("in_review", "received", False),
    ("in_dialogue", "acknowledged", False),
    ("resolved", "in_dialogue", False),
    ("resolved", "acknowledged", False),
    ("closed", "resolved", False),  # closed is final
    ("closed", "in_review", False),
    ("closed", "received", False),
]


@pytest.mark.parametrize(("current", "new", "allowed"), TRANSITIONS)
def test_lifecycle_table(current, new, allowed):
    if allowed:
        check_transition(current, new)
    else:
        with pytest.raises(TransitionError):
            check_transition(current, new)
        check_transition(current, new, force=True)  # force may do anything but stand still


def test_every_pair_is_decided_and_staying_put_is_refused_even_forced():
    decided = {(a, b) for a, b, _ in TRANSITIONS}
    for a in STATUSES:
        for b in STATUSES:
            if a == b:
                with pytest.raises(TransitionError, match="already"):
                    check_transition(a, b, force=True)
            elif (a, b) not in decided:
                # The moves back not listed in the table must be refused too.
                assert STATUSES.index(b) < STATUSES.index(a)
                with pytest.raises(TransitionError):
                    check_transition(a, b)
    assert allowed_moves("closed") == ()
    assert allowed_moves("resolved") == ("in_review", "closed")
    with pytest.raises(TransitionError, match="unknown status"):
        check_transition("received", "archived", force=True)


@pytest.fixture
def store(operator_store):
    identity, _ = crypto.new_operator_keypair()
    opened = OperatorStore(operator_store, identity, ServiceLevels(7, 90))
    yield opened
    opened.close()


def test_status_changes_keep_an_encrypted_history(store, operator_store):
    record = make_record("2026-01-05T10:00:00Z")
    assert store.add(record)
    change = store.set_status(record["case_id"], "acknowledged", "  Called the duty officer  ", T0)
    assert (change.from_status, change.to_status, change.at, change.reason, change.forced) == (
        "received", "acknowledged", "2026-01-06T09:30:00Z", "Called the duty officer", False)
    store.set_status(record["case_id"], "in_review", SECRET_REASON, T0)  # same minute: order kept by sequence
    store.set_status(record["case_id"], "resolved", "Wages paid", datetime(2026, 2, 1, tzinfo=timezone.utc))
    store.set_status(record["case_id"], "in_review", "Paid only half", datetime(2026, 2, 3, tzinfo=timezone.utc))
    history = store.history(record["case_id"])
    assert [(c.from_status, c.to_status) for c in history] == [
        ("received", "acknowledged"), ("acknowledged", "in_review"), ("in_review", "resolved"), ("resolved", "in_review")]
    assert history[1].reason == SECRET_REASON
    assert store.get(record["case_id"])["status"] == "in_review"
    store.close()
    if isinstance(operator_store, Path):
        for file in operator_store.parent.iterdir():  # the database and its WAL journal
            assert b"Karim" not in file.read_bytes() and b"duty officer" not in file.read_bytes()
    else:  # a full dump of the PostgreSQL database
        assert not store_holds(operator_store, b"Karim") and not store_holds(operator_store, b"duty officer")


@pytest.mark.parametrize(
    ("steps", "attempt", "message"),
    [
        ([], ("received", "why"), "already received"),
        (["acknowledged"], ("received", "why"), "cannot move back from acknowledged to received"),
        (["closed"], ("in_review", "why"), "closed, which is final"),
        ([], ("acknowledged", "   "), "needs a reason"),
    ],
)
def test_refused_changes_leave_the_case_as_it_was(store, steps, attempt, message):
    record = make_record()
    store.add(record)
    for step in steps:
        store.set_status(record["case_id"], step, "step", T0)
    with pytest.raises(StatusChangeError, match=message):
        store.set_status(record["case_id"], attempt[0], attempt[1], T0)
    assert len(store.history(record["case_id"])) == len(steps)
    assert store.get(record["case_id"])["status"] == (steps[-1] if steps else "received")


def test_forced_reopening_is_recorded_as_forced(store):
    record = make_record()
    store.add(record)
    store.set_status(record["case_id"], "closed", "duplicate", T0)
    change = store.set_status(record["case_id"], "in_review", "not a duplicate after all", T0, force=True)
    assert change.forced and store.history(record["case_id"])[-1].forced


def test_change_times_must_follow_the_case(store):
    record = make_record("2026-01-05T10:00:00Z")
    store.add(record)
    with pytest.raises(StatusChangeError, match="before"):
        store.set_status(record["case_id"], "acknowledged", "why", datetime(2026, 1, 5, 9, 59, tzinfo=timezone.utc))
    store.set_status(record["case_id"], "acknowledged", "why", T0)
    with pytest.raises(StatusChangeError, match="before"):
        store.set_status(record["case_id"], "in_review", "why", datetime(2026, 1, 6, 9, 0, tzinfo=timezone.utc))
    with pytest.raises(ValueError, match="timezone"):
        store.set_status(record["case_id"], "in_review", "why", datetime(2026, 1, 7))
    with pytest.raises(UnknownCaseError):
        store.set_status("00000000-0000-4000-8000-000000000000", "acknowledged", "why", T0)


def test_due_dates_count_days_from_the_received_date():
    due = due_dates("2026-01-05T23:00:00Z", ServiceLevels(7, 90))
    assert (due.acknowledge_by, due.feedback_by) == (date(2026, 1, 12), date(2026, 4, 5))
    # The desk's acknowledge-by is the date written in the record and promised to the worker.
    record = make_record("2026-01-05T23:00:00Z")
    assert record["acknowledge_by"] == due.acknowledge_by.isoformat()


@pytest.mark.parametrize(
    ("status", "today", "late"),
    [
        ("received", date(2026, 1, 12), ()),  # the due day itself is still on time
        ("received", date(2026, 1, 13), ("acknowledgement",)),
        ("acknowledged", date(2026, 1, 13), ()),
        ("in_dialogue", date(2026, 4, 5), ()),
        ("in_dialogue", date(2026, 4, 6), ("feedback",)),
        ("received", date(2026, 4, 6), ("acknowledgement", "feedback")),
        ("resolved", date(2027, 1, 1), ()),
        ("closed", date(2027, 1, 1), ()),
    ],
)
def test_overdue_rules_and_the_store_query_agree(store, status, today, late):
    record = make_record("2026-01-05T10:00:00Z")
    store.add(record)
    if status != "received":
        store.set_status(record["case_id"], status, "why", T0)
    assert overdue(status, store.due(record["received_at"]), today) == late
    listed = store.summaries(filters=CaseFilter(overdue_on=today))
    assert [row.case_id for row in listed] == ([record["case_id"]] if late else [])


def test_filters_combine(store):
    records = {
        "old_wages": make_record("2025-12-31T23:00:00Z", category="wages"),
        "jan_safety_urgent": make_record("2026-01-01T00:00:00Z", category="safety", urgent=True),
        "jan_wages": make_record("2026-01-15T12:00:00Z", category="wages"),
        "feb_hours": make_record("2026-02-01T08:00:00Z", category="hours"),
    }
    for record in records.values():
        store.add(record)
    store.set_status(records["jan_wages"]["case_id"], "in_review", "why", datetime(2026, 1, 16, tzinfo=timezone.utc))
    ids = {record["case_id"]: name for name, record in records.items()}

    def names(**kwargs) -> set[str]:
        return {ids[row.case_id] for row in store.summaries(filters=CaseFilter(**kwargs))}

    assert names() == set(records)
    assert names(since=date(2026, 1, 1), until=date(2026, 1, 31)) == {"jan_safety_urgent", "jan_wages"}
    assert names(until=date(2025, 12, 31)) == {"old_wages"}
    assert names(since=date(2026, 2, 1)) == {"feb_hours"}
    assert names(status=("received",)) == {"old_wages", "jan_safety_urgent", "feb_hours"}
    assert names(status=("in_review", "resolved")) == {"jan_wages"}
    assert names(category=("wages",)) == {"old_wages", "jan_wages"}
    assert names(category=("wages", "hours"), since=date(2026, 1, 2)) == {"jan_wages", "feb_hours"}
    assert names(urgent_only=True) == {"jan_safety_urgent"}
    # The old keyword arguments still work, urgent first.
    assert [ids[row.case_id] for row in store.summaries(category="safety")] == ["jan_safety_urgent"]
    assert ids[store.summaries()[0].case_id] == "jan_safety_urgent"
    assert store.count(CaseFilter(category=("wages",))) == 2


def _format_1_store(path: Path, identity: str, record: dict) -> None:
    """A store exactly as the previous version wrote it: the cases table only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TABLE operator_cases (case_id VARCHAR(36) NOT NULL, received_at VARCHAR(20) NOT NULL, "
        "category VARCHAR(40) NOT NULL, urgent BOOLEAN NOT NULL, status VARCHAR(20) NOT NULL, "
        "record BLOB NOT NULL, PRIMARY KEY (case_id))"
    )
    blob = crypto.encrypt_store_record(crypto.operator_store_key(identity), record["case_id"], json.dumps(record).encode())
    connection.execute("INSERT INTO operator_cases VALUES (?, ?, ?, ?, ?, ?)",
                       (record["case_id"], record["received_at"], record["category"], 0, "received", blob))
    connection.commit()
    connection.close()


def test_a_store_of_the_previous_version_is_upgraded_without_losing_cases(tmp_path):
    identity, _ = crypto.new_operator_keypair()
    record = make_record()
    path = tmp_path / "operator" / "cases.db"
    _format_1_store(path, identity, record)
    store = OperatorStore(path, identity)
    assert store.format() == STORE_FORMAT == 2
    assert store.get(record["case_id"])["description"] == record["description"]
    store.set_status(record["case_id"], "acknowledged", "why", T0)
    assert store.add(record) is False  # still idempotent
    store.close()
    reopened = OperatorStore(path, identity)
    assert [c.to_status for c in reopened.history(record["case_id"])] == ["acknowledged"]
    reopened.close()
    tables = {row[0] for row in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"operator_cases", "status_changes", "store_meta", "category_changes"}  # what the desk re-categorised
    indexes = {row[0] for row in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "ix_operator_cases_received" in indexes  # exports page through cases by it


def test_a_store_from_a_newer_version_is_refused(operator_store):
    identity, _ = crypto.new_operator_keypair()
    path = operator_store
    store = OperatorStore(path, identity)
    with store.engine.begin() as connection:
        connection.execute(update(store_meta).where(store_meta.c.name == "format").values(value="99"))
    store.close()
    with pytest.raises(OperatorStoreError, match="newer version"):
        OperatorStore(path, identity)


def test_history_needs_the_same_key(operator_store):
    identity, _ = crypto.new_operator_keypair()
    other, _ = crypto.new_operator_keypair()
    path = operator_store
    store = OperatorStore(path, identity)
    record = make_record()
    store.add(record)
    store.set_status(record["case_id"], "acknowledged", "why", T0)
    store.close()
    with pytest.raises(OperatorStoreError, match="another operator key"):
        wrong = OperatorStore(path, other)
        try:
            wrong.history(record["case_id"])
        finally:
            wrong.close()


def test_service_levels_config():
    settings = settings_from_mapping({"deployment": {"acknowledge_within_days": 5}, "operator": {"service_levels": {"feedback_within_days": 60}}})
    assert settings.operator.service_levels.feedback_within_days == 60
    assert settings_from_mapping({}).operator.service_levels.feedback_within_days == 90
    with pytest.raises(ConfigError, match=r"^config error: operator.service_levels: acknowledge_within_days is set once, in deployment"):
        settings_from_mapping({"operator": {"service_levels": {"acknowledge_within_days": 3}}})
    with pytest.raises(ConfigError, match=r"^config error: operator.service_levels.feedback_within_days:"):
        settings_from_mapping({"operator": {"service_levels": {"feedback_within_days": 0}}})


# ---------------------------------------------------------------- the CLI


@pytest.fixture
def desk(tmp_path: Path, operator_store):
    """An operator deployment (feedback within 30 days) with three cases in its store."""
    config = operator_deployment(tmp_path / "desk", operator_store, feedback_within_days=30)
    store = OperatorStore(store_in(config), identity_in(config))
    cases = {
        "early": make_record("2026-01-02T10:00:00Z", category="wages"),
        "urgent": make_record("2026-01-10T10:00:00Z", category="safety", urgent=True),
        "late": make_record("2026-02-20T10:00:00Z", category="hours"),
    }
    for record in cases.values():
        store.add(record)
    store.close()
    return config, {name: record["case_id"] for name, record in cases.items()}


def _listed(result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [line.split()[0] for line in result.output.strip().splitlines() if line != "no cases"]


def test_cli_status_list_overdue_and_show(desk):
    config, ids = desk
    moved = run_cli(config, "cases", "status", ids["early"][:8], "acknowledged", "--reason", SECRET_REASON, "--at", "2026-01-03T08:15",
                    "--local-only")
    assert moved.exit_code == 0, moved.output
    assert moved.output.strip() == f"{ids['early']}: received -> acknowledged at 2026-01-03T08:15:00Z"

    from_stdin = CliRunner().invoke(cli, ["--config", str(config), "cases", "status", ids["late"], "in_review", "--reason", "-",
                                          "--local-only"],
                                    input=SECRET_REASON + "\n", obj={})
    assert from_stdin.exit_code == 0, from_stdin.output
    store = OperatorStore(store_in(config), identity_in(config))
    assert store.history(ids["late"])[0].reason == SECRET_REASON
    store.close()

    assert _listed(run_cli(config, "cases", "list", "--status", "acknowledged")) == [ids["early"]]
    assert _listed(run_cli(config, "cases", "list", "--category", "hours", "--category", "safety")) == [ids["urgent"], ids["late"]]
    assert _listed(run_cli(config, "cases", "list", "--urgent")) == [ids["urgent"]]
    assert set(_listed(run_cli(config, "cases", "list", "--since", "2026-01-05", "--until", "2026-02-20"))) == {ids["urgent"], ids["late"]}

    # On 2026-01-20: "urgent" (received 01-10) missed its acknowledgement (due 01-17); "early" was acknowledged.
    assert _listed(run_cli(config, "cases", "overdue", "--as-of", "2026-01-20")) == [ids["urgent"]]
    # On 2026-02-05: "early" (received 01-02) also missed feedback (due 02-01, 30 days).
    listed = run_cli(config, "cases", "list", "--overdue", "--as-of", "2026-02-05")
    assert _listed(listed) == [ids["urgent"], ids["early"]]
    assert f"{ids['urgent']}  2026-01-10T10:00:00Z  URGENT safety  received  OVERDUE acknowledgement (due 2026-01-17)\n" in listed.output
    assert f"{ids['early']}  2026-01-02T10:00:00Z  wages  acknowledged  OVERDUE feedback (due 2026-02-01)" in listed.output
    assert _listed(run_cli(config, "cases", "list", "--overdue", "--as-of", "2026-01-09")) == []

    shown = run_cli(config, "cases", "show", ids["early"], "--as-of", "2026-02-05")
    assert shown.exit_code == 0, shown.output
    case = json.loads(shown.output)
    assert case["status"] == "acknowledged"
    assert case["due"] == {"acknowledge_by": "2026-01-09", "feedback_by": "2026-02-01", "overdue": ["feedback"]}
    assert case["status_history"] == [
        {"at": "2026-01-02T10:00:00Z", "status": "received", "from": None, "reason": None, "forced": False},
        {"at": "2026-01-03T08:15:00Z", "status": "acknowledged", "from": "received", "reason": SECRET_REASON, "forced": False},
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["acknowledged"], "Missing option '--reason'"),
        (["archived", "--reason", "x"], "'archived' is not one of"),
        (["acknowledged", "--reason", " "], "Error: a status change needs a reason"),
    ],
)
def test_cli_status_refuses_bad_requests(desk, args, message):
    config, ids = desk
    result = run_cli(config, "cases", "status", ids["late"], *args, "--local-only")
    assert result.exit_code == 2 and message in result.output


def test_cli_refusals_are_one_line_with_status_2(desk):
    config, ids = desk
    assert run_main(config, "cases", "status", ids["late"], "closed", "--reason", "duplicate of an earlier case",
                    "--local-only").returncode == 0
    refused = run_main(config, "cases", "status", ids["late"], "in_review", "--reason", "reopen")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == ["Error: the case is closed, which is final (use --force to reopen it, with a reason)"]
    forced = run_main(config, "cases", "status", ids["late"], "in_review", "--reason", "reopen", "--force", "--local-only")
    assert forced.returncode == 0 and forced.stdout.strip().endswith("(forced)")
    unknown = run_main(config, "cases", "status", "ffffffff", "acknowledged", "--reason", "x")
    assert unknown.returncode == 2 and unknown.stderr.strip().splitlines() == [
        "Error: no single case matches 'ffffffff' (give a unique prefix of at least 6 characters of its id, or the whole id)"
    ]


def test_a_prefix_too_short_says_how_long_it_must_be(desk):
    """Issue 22: `cases show 7d38` (unique, 4 characters) said only "no single case matches"."""
    config, ids = desk
    short = ids["late"][:4]
    for command in (["cases", "show", short], ["cases", "status", short, "acknowledged", "--reason", "x", "--local-only"],
                    ["cases", "push-status", short]):
        refused = run_cli(config, *command)
        assert refused.exit_code == 2 and "at least 6 characters" in refused.output, command
    shown = run_cli(config, "cases", "show", ids["late"][:6])
    assert shown.exit_code == 0 and json.loads(shown.output)["case_id"] == ids["late"]
