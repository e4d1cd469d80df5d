"""A case worker's day with the dialogue after the report, in a real browser (Debian's headless Chromium, Selenium).

Four workers text the live hotline over HTTP (tests/personas/persona_support.py): one who
will answer the team directly, one who will answer with danger, a trapped worker who sends
an urgent alert and lets the team write back, and one whose case is closed and who says
whether it helped. The desk is served by a real server on 127.0.0.1, pulls cases from the
queue and answers from the operator API (the inbox's button), and writes through that API.
Screenshots of each step are kept in the test's folder.
"""

from __future__ import annotations

import threading

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from werkzeug.serving import WSGIRequestHandler, make_server

from personas.test_desk_after_the_report import ANSWER, COMMENT, DANGER, FIRE, QUESTION, live_desk  # noqa: F401  (a fixture)
from test_desk_browser import browser, downloads, flashed, shot, sign_in_with_password  # noqa: F401  (fixtures)
from desk_web_support import PASSWORDS
from personas.persona_support import case_code_in
from worker_scripts import ENGLISH_INTAKE_CONTACT_YES

TO_THE_TRAPPED = "Are you still inside? The fire service is on its way"
COUNTED = "We spoke to the factory manager today. The wages for October will be paid on Friday. Did you get them?"


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


def sign_in(driver, base: str, name: str) -> None:
    sign_in_with_password(driver, base, name, PASSWORDS[name])


def open_case(driver, base: str, case_id: str) -> None:
    driver.get(f"{base}/cases/{case_id}")
    WebDriverWait(driver, 15).until(lambda d: d.find_elements(By.ID, "reach"))


def shot_of(driver, folder, name: str, element_id: str) -> None:
    """A screenshot with `element_id` in view (the page's own script is none: WebDriver scrolls)."""
    driver.execute_script("document.getElementById(arguments[0]).scrollIntoView({block: 'center'})", element_id)
    shot(driver, folder, name)


def write(driver, text: str) -> None:
    driver.find_element(By.CSS_SELECTOR, "#reply-form textarea").send_keys(text)
    driver.find_element(By.ID, "send-reply").click()


def test_a_case_workers_day_with_the_dialogue_after_the_report(hotline, live_desk, browser, tmp_path):  # noqa: F811
    screenshots = tmp_path / "screenshots"
    screenshots.mkdir()
    direct, danger, closing = (hotline.sms_worker(f"+88017110007{n:02d}") for n in (1, 2, 3))
    codes = {worker: case_code_in(worker.script(*ENGLISH_INTAKE_CONTACT_YES, "1")[-1]) for worker in (direct, danger, closing)}
    trapped = hotline.telegram_worker(777000701)
    trapped.say(FIRE)
    trapped.say("yes")  # the alert
    trapped.say("yes")  # and the team may write back here
    desk = live_desk()
    server = make_server("127.0.0.1", 0, desk.app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://localhost:{server.server_port}"
    try:
        assert desk.context.pull_now() == 4
        (alert_id,) = [case.case_id for case in desk.context.cases.values() if case.record["kind"] == "alert"]
        case_of = {worker: next(c.case_id for c in desk.context.cases.values() if c.record["code"] == code) for worker, code in codes.items()}

        # The morning: the alert waits in the banner.
        sign_in(browser, base, "cai")
        banner = browser.find_element(By.ID, "urgent-banner")
        assert alert_id[:8] in banner.text
        shot(browser, screenshots, "01-inbox-alert")

        # The trapped worker allowed contact after the alert: the desk says so, and the team writes at once.
        open_case(browser, base, alert_id)
        reach = browser.find_element(By.ID, "reach").text
        assert reach == "Can be written to on their Telegram chat (they allowed it after the alert); they answer directly."
        assert "said NO" not in browser.find_element(By.TAG_NAME, "main").text
        write(browser, TO_THE_TRAPPED)
        flashed(browser, "Sent to the worker's chat")
        assert "yes, after the alert" in browser.find_element(By.CSS_SELECTOR, "table.answers").text
        shot(browser, screenshots, "02-alert-reachable")
        hotline.settle()
        assert TO_THE_TRAPPED in trapped.fake.sent(trapped.chat_id)[-1]["text"]

        # What a message costs by SMS, worded for the worker, before it goes; then it goes.
        open_case(browser, base, case_of[direct])
        browser.find_element(By.CSS_SELECTOR, "#reply-form textarea").send_keys(COUNTED)
        browser.find_element(By.ID, "count-segments").click()
        counted = WebDriverWait(browser, 15).until(lambda d: d.find_elements(By.ID, "segment-count"))[0].text
        assert "2 paid message(s) (GSM-7, 174 characters)" in counted
        assert "To answer, just reply here." in browser.find_element(By.CSS_SELECTOR, "blockquote.worded").text
        assert browser.find_element(By.CSS_SELECTOR, "form[action$='/note'] textarea").get_attribute("value") == "", \
            "the message stays in the reply box, never in the note box"
        shot_of(browser, screenshots, "03-sms-count", "segment-count")
        browser.find_element(By.ID, "send-reply").click()
        flashed(browser, "Sent to the worker's chat")
        open_case(browser, base, case_of[danger])
        write(browser, QUESTION)
        flashed(browser, "Sent to the worker's chat")
        open_case(browser, base, case_of[closing])
        Select(browser.find_element(By.ID, "new-status")).select_by_value("closed")
        browser.find_element(By.ID, "status-reason").send_keys("Wages paid in part; the factory promised the rest")
        browser.find_element(By.ID, "change-status").click()
        flashed(browser, "Status changed")

        # The workers answer on their phones, as anyone answers a message.
        direct.say(ANSWER)
        danger.say(DANGER)
        closing.say("1")  # it helped
        closing.say(COMMENT)
        desk.clock.advance(minutes=5)

        # The next pull: the urgent answer joins the banner, the answers wait as new.
        browser.get(base + "/inbox")
        browser.find_element(By.ID, "pull-now").click()
        flashed(browser, "new cases")
        assert case_of[danger][:8] in browser.find_element(By.ID, "urgent-banner").text
        answered = browser.find_element(By.TAG_NAME, "main").text.split("New answers from workers")[1].split("Assigned to me")[0]
        for worker in (direct, danger, closing):
            assert case_of[worker][:8] in answered
        shot(browser, screenshots, "04-inbox-urgent-answer")

        open_case(browser, base, case_of[danger])
        urgent = browser.find_element(By.CSS_SELECTOR, "#thread li.urgent")
        assert DANGER in urgent.text and "URGENT" in urgent.text
        assert browser.find_element(By.CSS_SELECTOR, "h1 .tag.urgent").text == "URGENT"
        shot_of(browser, screenshots, "05-urgent-answer", "thread")

        open_case(browser, base, case_of[direct])
        lines = browser.find_element(By.ID, "thread").text
        assert lines.index(COUNTED) < lines.index(ANSWER)
        shot_of(browser, screenshots, "06-direct-answer", "thread")

        open_case(browser, base, case_of[closing])
        outcome = browser.find_element(By.ID, "outcome").text
        assert "It helped." in outcome and COMMENT in outcome
        assert COMMENT not in browser.find_element(By.ID, "thread").text
        shot(browser, screenshots, "07-outcome")

        # The analyst sees the count on the Patterns page, never the words.
        browser.find_element(By.ID, "sign-out").click()
        sign_in(browser, base, "ana")
        today = desk.clock().date()
        browser.get(f"{base}/patterns?start={today.replace(day=1)}&end={today}&profile=internal")
        table = browser.find_element(By.ID, "worker-view").text
        assert "It helped" in table and COMMENT not in browser.find_element(By.TAG_NAME, "main").text
        shot_of(browser, screenshots, "08-patterns-outcome", "worker-view")
    finally:
        server.shutdown()
        thread.join(timeout=5)
    for png in screenshots.glob("*.png"):
        assert png.stat().st_size > 5_000
