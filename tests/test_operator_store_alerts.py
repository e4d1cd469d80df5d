"""The operator's store keeps an urgent alert and the report that completes it as one case.

The report (same case id and code, `"kind": "report"`) replaces the alert and carries it
under "alerts"; `cases show` prints both as one case, `cases list` lists one line, exports
hold the report only. Redeliveries change nothing; an alert that arrives after the report
(answer mode, or queue order) is kept beside it; a newer alert of the same case is shown and
the older kept under "alerts".
"""

from __future__ import annotations

import json

import pytest

from bot.case_record import validate_case_record
from desk.operator_store import CaseFilter, OperatorStore

from desk_support import identity_in, store_in, make_record, operator_deployment, run_cli


def pair() -> tuple[dict, dict]:
    """An urgent alert and the report of the same case, an hour later, with more in it."""
    alert = make_record("2026-01-05T10:00:00Z", category="other", urgent=True)
    alert.update(kind="alert", description="FIRE in factory doors locked people trapped help")
    alert["answers"] = {key: None for key in alert["answers"]}
    report = make_record("2026-01-05T11:00:00Z", category="safety", urgent=True, case_id=alert["case_id"])
    report.update(kind="report", code=alert["code"], description=alert["description"] + "\nThe exit is always locked")
    for record in (alert, report):
        validate_case_record(record)
    return alert, report


@pytest.fixture
def desk(tmp_path, operator_store):
    config = operator_deployment(tmp_path / "operator-machine", operator_store)
    store = OperatorStore(store_in(config), identity_in(config))
    yield config, store
    store.close()


def test_the_report_replaces_its_alert_and_shows_both_as_one_case(desk):
    config, store = desk
    alert, report = pair()
    assert store.add(alert) is True
    assert store.add(alert) is False  # a redelivery
    assert store.add(report) is True
    assert store.add(report) is False
    (summary,) = store.summaries()
    assert (summary.case_id, summary.category, summary.urgent) == (alert["case_id"], "safety", True)
    assert summary.received_at == alert["received_at"], "due dates run from the alert"
    shown = run_cli(config, "cases", "show", alert["case_id"][:8])
    assert shown.exit_code == 0, shown.output
    record = json.loads(shown.output)
    assert record["kind"] == "report" and record["description"] == report["description"]
    assert [kept["description"] for kept in record["alerts"]] == [alert["description"]]
    listed = run_cli(config, "cases", "list")
    assert listed.output.count(alert["case_id"][:8]) == 1
    (exported,) = store.iter_cases(CaseFilter())
    assert "alerts" not in exported.record
    validate_case_record(exported.record)


def test_an_alert_that_arrives_after_the_report_is_kept_beside_it(desk):
    _, store = desk
    alert, report = pair()
    assert store.add(report) is True
    assert store.add(alert) is True  # kept beside the report; the case is urgent
    assert store.add(alert) is False
    record = store.get(alert["case_id"])
    assert record["kind"] == "report" and [kept["kind"] for kept in record["alerts"]] == ["alert"]


def test_a_newer_alert_of_the_same_case_replaces_the_older(desk):
    _, store = desk
    alert, _ = pair()
    newer = {**alert, "description": alert["description"] + "\nThey are still inside"}
    assert store.add(alert) is True
    assert store.add(newer) is True
    kept = store.get(alert["case_id"])
    assert kept["description"] == newer["description"] and kept["alerts"] == [alert]


def test_a_record_with_another_code_under_a_known_case_id_changes_nothing(desk):
    _, store = desk
    alert, report = pair()
    store.add(alert)
    forged = {**report, "code": "00000000000001"}
    assert store.add(forged) is False
    assert store.get(alert["case_id"])["kind"] == "alert"


def test_records_made_before_alerts_existed_are_still_valid():
    old = make_record()
    assert "kind" not in old
    validate_case_record(old)
