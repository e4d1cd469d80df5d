"""The Japanese desk in a real browser (headless Chromium through Selenium, as tests/test_desk_browser.py).

Reported (issue 22): a Japanese case worker saw `received` and `in_dialogue` in the case list and
`config error: operator_client.token: environment variable GRIEVANCE_OPERATOR_API_TOKEN is not set`
when a reply failed. Here a Japanese case worker signs in, reads the statuses in Japanese in the
list and on the case, and sends a reply from a desk whose token is missing: the page says, in
Japanese, to ask the administrator, and names no config key. Then a Japanese analyst reads the
Patterns page, its report included (every heading, category, status and chart). Screenshots are
kept in the test's folder.
"""

from __future__ import annotations

import re
import threading
import uuid

import pytest
from selenium.webdriver.common.by import By
from werkzeug.serving import make_server

from desk.operator_client import client_for
from desk_web_support import PASSWORDS, Clock, Desk
from test_desk_browser import _Quiet, browser, downloads, flashed, shot, sign_in_with_password  # noqa: F401, F811 (the browser fixture and what it needs)

TOKEN_VARIABLE = "GRIEVANCE_OPERATOR_API_TOKEN"
RAW_STATUS = re.compile(r"(?<![\w-])(received|acknowledged|in_review|in_dialogue|resolved|closed)(?![\w-])")


def _record(received: str, language: str) -> dict:
    return {
        "schema_version": 1, "case_id": str(uuid.uuid4()), "code": "41234567890126", "received_at": received,
        "acknowledge_by": "2026-11-25", "channel": "sms", "language": language, "category": "wages", "urgent": False,
        "description": "Overtime has not been paid for two months", "contact": None,
        "answers": {"workplace": "Rahman Knitwear", "location": "Gazipur", "brand": None, "when": "since September",
                    "people_affected": 30, "urgent": False, "contact_consent": False},
        "nlu": {"backend": "builtin", "suggested_category": "wages", "confidence": 0.8, "urgent_signal": False},
    }


@pytest.fixture
def japanese_desk(services, settings_with, monkeypatch):
    monkeypatch.delenv(TOKEN_VARIABLE, raising=False)
    operator_settings = settings_with(operator_client={"url": "http://127.0.0.1:9", "token": {"env": TOKEN_VARIABLE}})
    desk = Desk(services, Clock(), operator_client=lambda: client_for(operator_settings))
    desk.add_accounts()
    desk.store.set_language("cai", "ja")
    desk.store.set_language("ana", "ja")
    waiting, talking = _record("2026-11-18T10:00:00Z", "bn"), _record("2026-11-19T08:00:00Z", "en")
    for record in (waiting, talking):
        desk.cases_store.add(record)
    desk.cases_store.set_status(talking["case_id"], "in_dialogue", "called back", desk.clock())
    desk.context.refresh()
    server = make_server("127.0.0.1", 0, desk.app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield desk, f"http://localhost:{server.server_port}", talking["case_id"]
    server.shutdown()
    thread.join(timeout=5)
    desk.close()


def test_a_japanese_case_worker_reads_statuses_and_a_reply_error_in_japanese(japanese_desk, browser, tmp_path):  # noqa: F811
    desk, base, talking = japanese_desk
    screenshots = tmp_path / "screenshots"
    screenshots.mkdir()
    sign_in_with_password(browser, base, "cai", PASSWORDS["cai"], lands_on="/inbox")

    browser.get(base + "/cases")
    listed = browser.find_element(By.CSS_SELECTOR, "table.cases").text
    assert "受付済み" in listed and "対話中" in listed
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "ベンガル語" in main and RAW_STATUS.search(main) is None
    assert "ケースワーカー" in browser.find_element(By.CSS_SELECTOR, "header .who").text
    shot(browser, screenshots, "21-japanese-case-list")

    browser.get(f"{base}/cases/{talking}")
    assert browser.find_element(By.ID, "status").text == "対話中"
    browser.find_element(By.CSS_SELECTOR, "#reply-form textarea").send_keys("Were you paid this week?")
    browser.find_element(By.ID, "send-reply").click()
    said = flashed(browser, "返信の準備ができていません")
    assert "管理者" in said
    for detail in (TOKEN_VARIABLE, "operator_client", "config error"):
        assert detail not in browser.find_element(By.TAG_NAME, "body").text
    shot(browser, screenshots, "22-japanese-reply-not-set-up")

    # The Patterns page of a Japanese analyst: the report too, not only the page around it.
    browser.delete_all_cookies()
    sign_in_with_password(browser, base, "ana", PASSWORDS["ana"], lands_on="/patterns")
    report = browser.find_element(By.CSS_SELECTOR, "div.report")
    headings = [h.text for h in report.find_elements(By.TAG_NAME, "h2")]
    assert headings[:3] == ["月別の案件", "分類別の案件", "労働者が窓口に連絡した方法"], headings
    shown = report.text
    assert "賃金" in shown and "受付済み" in shown and "対話中" in shown and "ベンガル語" in shown
    for english in ("Cases by category", "Wages", "Where the cases stand", "Internal: do not publish"):
        assert english not in shown
    assert RAW_STATUS.search(shown) is None
    charts = report.find_elements(By.CSS_SELECTOR, ".chart img")
    assert len(charts) == 2 and all(browser.execute_script("return arguments[0].naturalWidth", img) > 100 for img in charts)
    assert "ケースワーカーが設定した分類" in browser.find_element(By.ID, "category-basis").text, "the page's own form too"
    browser.set_window_size(1280, 2400)
    shot(browser, screenshots, "23-japanese-patterns")
    performance = report.find_element(By.XPATH, ".//h2[text()='窓口自身の対応状況']")
    browser.execute_script("arguments[0].scrollIntoView()", performance)
    assert "受領通知までの日数：中央値" in shown and "結果についての労働者の評価" in shown and "公開する苦情の一覧" in shown
    shot(browser, screenshots, "24-japanese-patterns-performance")
    for png in screenshots.glob("*.png"):
        assert png.stat().st_size > 5_000
