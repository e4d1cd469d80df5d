"""A referral followed up in a real browser (Debian's headless Chromium through Selenium).

An admin sets where a company gets its referrals (its HTTPS webhook, its e-mail address) on
the Companies page, refers a case the worker agreed to refer, sees it delivered by both,
downloads the sealed file (opened by the real `age` CLI with the company's key), records the
company's answer with its letter, and, weeks later, finds another referral overdue in the inbox.
The worker, who said NO to contact, reads on STATUS that the company was told. Screenshots of
each step are kept in the test's folder.
"""

from __future__ import annotations

import json
import threading

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from bot.messages import InboundMessage
from desk_web_support import PASSWORDS, Clock, Desk
from dialogue_support import CODE_SHOWN, LiveOperatorApi, new_token
from referral_support import COMPANY_SECRET, SMTP_PASSWORD, SMTP_USER, CompanyEndpoint, MailServer, age_decrypt, company_key
from test_desk_browser import _Quiet, browser, downloaded, downloads, flashed, shot, sign_in_in_browser  # noqa: F401  the browser's fixtures
from test_desk_web import referral_flow
from worker_scripts import ENGLISH_INTAKE

COMPANY = "Sunrise Garments Ltd"
ANSWER = "We found the exit chained on line 4 and removed the chain; a new door will be fitted by 1 December."
NOTICE = "The company concerned was told about the problem, without your name or number."


def report_and_agree_to_referral(services, sender: str) -> str:
    """A whole English intake: NO to contact, YES to telling the company; the code shown to the worker."""
    for text in [*ENGLISH_INTAKE[:-2], "no", "yes", "1"]:
        replies = services.intake.receive(InboundMessage(channel="sms", sender=sender, text=text, adapter="console")).texts
    (code,) = CODE_SHOWN.findall(replies[-1])
    return code


@pytest.fixture
def company_side(tmp_path):
    endpoint, mail = CompanyEndpoint(tmp_path), MailServer(tmp_path)
    yield endpoint, mail, company_key(tmp_path / "company")
    endpoint.close()
    mail.close()


@pytest.fixture
def live_desk(services, settings_with, company_side, monkeypatch):
    endpoint, mail, _ = company_side
    clock = Clock()
    api = LiveOperatorApi(services)
    monkeypatch.setenv("GRIEVANCE_OPERATOR_API_TOKEN", new_token(services, "desk"))
    monkeypatch.setenv("SUNRISE_WEBHOOK_SECRET", COMPANY_SECRET)
    monkeypatch.setenv("GRIEVANCE_REFERRAL_SMTP_PASSWORD", SMTP_PASSWORD)
    from desk.operator_client import client_for

    operator_settings = settings_with(flow={"questions": referral_flow()}, operator_client={"url": api.url}, referral={
        "reply_to": "referrals@ngo.example", "webhook": {"ca_file": str(endpoint.cert_file)},
        "email": {"host": "127.0.0.1", "port": mail.port, "username": SMTP_USER, "password": {"env": "GRIEVANCE_REFERRAL_SMTP_PASSWORD"},
                  "from_address": SMTP_USER, "ca_file": str(mail.cert_file)}})
    desk = Desk(services, clock, operator_client=lambda: client_for(operator_settings))
    desk.context.settings = operator_settings
    desk.add_accounts()
    server = make_server("127.0.0.1", 0, desk.app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield desk, f"http://localhost:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    api.close()
    desk.close()


def sign_in(driver, desk, base: str) -> None:
    sign_in_in_browser(driver, base, desk, "ada", PASSWORDS["ada"])
    WebDriverWait(driver, 15).until(lambda d: d.current_url.endswith("/inbox"))


def test_a_referral_delivered_answered_and_overdue_in_a_real_browser(live_desk, company_side, browser, downloads,  # noqa: F811
                                                                     services, tmp_path):
    desk, base = live_desk
    endpoint, mail, (company_identity, company_public) = company_side
    screenshots = tmp_path / "screenshots"
    screenshots.mkdir()
    code = report_and_agree_to_referral(services, "+8801711000901")
    report_and_agree_to_referral(services, "+8801711000902")
    desk.context.pull = desk.pull_from_intake
    assert desk.context.pull_now() == 2
    first = next(cid for cid, case in desk.context.cases.items() if case.record["code"] == code.replace(" ", ""))
    (second,) = set(desk.context.cases) - {first}

    # The company, and where it gets its referrals.
    sign_in(browser, desk, base)
    browser.get(base + "/companies")
    browser.find_element(By.ID, "company-name").send_keys(COMPANY)
    browser.find_element(By.ID, "company-key").send_keys(company_public)
    browser.find_element(By.ID, "add-company").click()
    flashed(browser, "Company added")
    browser.find_element(By.CSS_SELECTOR, "#companies details summary").click()
    form = browser.find_element(By.CSS_SELECTOR, "#companies form.contact-form")
    form.find_element(By.NAME, "webhook_url").send_keys(endpoint.url)
    form.find_element(By.NAME, "webhook_secret").send_keys("env:SUNRISE_WEBHOOK_SECRET")
    form.find_element(By.NAME, "email").send_keys("ethics@sunrise.example")
    shot(browser, screenshots, "01-company-contact")
    form.find_element(By.TAG_NAME, "button").click()
    flashed(browser, "gets its referrals is saved")

    # Refer the first case: the preview says how it will reach the company, then it is sealed and delivered.
    browser.get(f"{base}/cases/{first}")
    browser.find_element(By.ID, "preview-referral").click()
    routes = browser.find_element(By.ID, "referral-routes").text
    assert endpoint.url in routes and "ethics@sunrise.example" in routes
    letter = browser.find_element(By.ID, "referral-preview").text  # a letter to read, the exact file behind a disclosure
    assert "Answer by\n2027-01-04" in letter or "Answer by 2027-01-04" in letter, letter
    preview = json.loads(browser.find_element(By.ID, "referral-json").get_attribute("textContent"))
    assert preview["respond_by"] == "2027-01-04" and preview["company"] == COMPANY
    shot(browser, screenshots, "02-referral-preview")
    browser.find_element(By.ID, "confirm-referral").click()
    flashed(browser, "Referred to Sunrise Garments Ltd")
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "Delivered to the company by webhook" in page and "Delivered to the company by e-mail" in page
    assert "they send STATUS and their code; nothing is pushed to them: they asked not to be contacted" in \
        browser.find_element(By.ID, "worker-told").text
    assert not browser.find_elements(By.ID, "deliver-again")  # delivered everywhere: nothing to deliver again
    shot(browser, screenshots, "03-referral-delivered")
    (referral_id,) = endpoint.kept
    assert len(mail.messages) == 1 and mail.messages[0]["encrypted"]

    # The file, downloaded as the company would get it, opens with the company's key and the real age CLI.
    browser.find_element(By.ID, "download-referral").click()
    sealed = downloaded(downloads, ".json.age")
    assert sealed.read_bytes() == endpoint.sealed(referral_id)
    opened = json.loads(age_decrypt(company_identity, sealed.read_bytes()))
    assert opened["referral_id"] == referral_id and opened["reply_to"] == "referrals@ngo.example"
    assert "+8801711000901" not in json.dumps(opened) and code.replace(" ", "") not in json.dumps(opened)

    # The worker reads on STATUS that the company was told, and nothing about which company.
    status = services.intake.receive(InboundMessage(channel="sms", sender="+8801711000999", text=f"STATUS {code}",
                                                    adapter="console")).texts
    assert NOTICE in "\n".join(status) and COMPANY not in "\n".join(status)

    # Twelve days later the company's answer comes, with its letter.
    desk.clock.advance(days=12)
    sign_in(browser, desk, base)
    browser.get(f"{base}/referrals/{referral_id}")
    letter = tmp_path / "sunrise-letter.pdf"
    letter.write_bytes(b"%PDF-1.4 Sunrise remediation plan")
    browser.find_element(By.ID, "answer-text").send_keys(ANSWER)
    browser.find_element(By.CSS_SELECTOR, "#answer-remediation option[value='yes']").click()
    browser.find_element(By.ID, "answer-files").send_keys(str(letter))
    shot(browser, screenshots, "04-answer-form")
    browser.find_element(By.ID, "record-answer").click()
    flashed(browser, "The company's answer is recorded")
    assert ANSWER in browser.find_element(By.ID, "company-answers").text
    assert "sunrise-letter.pdf" in browser.find_element(By.ID, "company-answers").text
    assert browser.find_element(By.ID, "referral-state").text == "answered"
    shot(browser, screenshots, "05-answer-recorded")

    # The second case is referred too; no answer comes, and 46 days on it shows in the inbox.
    browser.get(f"{base}/cases/{second}")
    browser.find_element(By.ID, "preview-referral").click()
    browser.find_element(By.ID, "confirm-referral").click()
    flashed(browser, "Referred to Sunrise Garments Ltd")
    desk.clock.advance(days=46)
    sign_in(browser, desk, base)
    browser.get(base + "/inbox")
    overdue = browser.find_element(By.ID, "overdue-referrals").text
    assert COMPANY in overdue and referral_id[:8] not in overdue and "2027-01-16" in overdue
    shot(browser, screenshots, "06-inbox-overdue-referral")
    browser.get(f"{base}/cases/{second}")
    assert "OVERDUE" in browser.find_element(By.TAG_NAME, "main").text
    shot(browser, screenshots, "07-case-overdue-referral")

    actions = [entry.action for entry in desk.store.audit_entries()]
    for action in ("company_added", "company_contact_set", "referred", "referral_delivery", "worker_told_of_referral",
                   "referral_downloaded", "company_answer_recorded"):
        assert action in actions
    for png in screenshots.glob("*.png"):
        assert png.stat().st_size > 5_000
