"""A case worker's day in a real browser: Debian's headless Chromium, driven by Selenium through chromium-driver.

The desk is served over HTTP on 127.0.0.1 by a real server; a real case is reported
through the intake and pulled with the operator's key; replies go through the real
operator API. The admin signs in with a TOTP code, sees the urgent banner, filters,
opens a case, adds a note, assigns it, replies to the worker, moves it on, adds a company
and refers a case to it, then exports a redacted batch for a partner, which the real `age`
CLI opens. Screenshots of each step are kept in the test's folder (var/test-runs/... after
`make test`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pyotp
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from werkzeug.serving import WSGIRequestHandler, make_server

from browser_support import FLAGS, chromium
from desk.store import stamp
from desk_web_support import PASSWORDS, Clock, Desk
from dialogue_support import LiveOperatorApi, confirm_case, new_token
from pyrage import x25519
from test_desk_web import CASE_TEXT, make_record

REPLY_TEXT = "We spoke to the factory. Are the exits open tonight?"
NOTE_TEXT = "Urgent: asked the fire service to visit"


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


@pytest.fixture
def downloads(tmp_path) -> Path:
    folder = tmp_path / "downloads"
    folder.mkdir()
    return folder


@pytest.fixture
def browser(downloads):
    driver_path = shutil.which("chromedriver")
    assert driver_path, "chromedriver is missing: `make test` installs the Debian package chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium()
    for flag in FLAGS:
        options.add_argument(flag.replace("--headless", "--headless=new"))
    options.add_argument("--window-size=1280,1000")
    profile = tempfile.mkdtemp(prefix="desk-browser-")
    options.add_argument(f"--user-data-dir={profile}")
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def live_desk(services, referral_questions_settings, monkeypatch):
    clock = Clock()
    api = LiveOperatorApi(services)
    monkeypatch.setenv("GRIEVANCE_OPERATOR_API_TOKEN", new_token(services, "desk"))
    from desk.operator_client import client_for

    operator_settings = referral_questions_settings(operator_client={"url": api.url})
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


@pytest.fixture
def referral_questions_settings(settings_with):
    def build(**sections):
        from test_desk_web import referral_flow

        return settings_with(flow={"questions": referral_flow()}, **sections)

    return build


def flashed(driver, *texts: str) -> str:
    """Wait for the page the last click led to, and the message it shows."""
    return WebDriverWait(driver, 15, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda d: _flash_on_page(d, texts))


def _flash_on_page(driver, texts) -> str | None:
    """The flash message holding one of `texts` on the page shown now, or None while the page is
    still being replaced: an element read while the browser swaps documents may be stale, or
    chromedriver may answer "unhandled inspector error: Cannot find context with specified id"
    (seen once in CI right after a form was posted); both mean "not yet", never a failure."""
    try:
        return next((e.text for e in driver.find_elements(By.CSS_SELECTOR, "p.flash")
                     if any(t in e.text for t in texts)), None)
    except WebDriverException as error:
        if isinstance(error, StaleElementReferenceException) or "inspector error" in (error.msg or ""):
            return None
        raise


def shot(driver, folder: Path, name: str) -> None:
    driver.save_screenshot(str(folder / f"{name}.png"))


def downloaded(folder: Path, suffix: str, timeout: float = 20) -> Path:
    """The one file ending in `suffix` the browser finished downloading into `folder`: Chromium
    writes to hidden `.org.chromium.*` and `.crdownload` files first and renames at the end."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        names = [f.name for f in folder.iterdir()]
        busy = [n for n in names if n.startswith(".") or n.endswith(".crdownload")]
        done = [folder / n for n in names if n.endswith(suffix)]
        if done and not busy:
            assert len(done) == 1, names
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"no download finished in {timeout} s: {[f.name for f in folder.iterdir()]}")


def test_a_case_workers_day_in_a_real_browser(live_desk, browser, downloads, services, tmp_path):
    desk, base = live_desk
    screenshots = tmp_path / "screenshots"
    screenshots.mkdir()
    # The morning's cases: one reported through the intake, an urgent one, one the worker agreed to refer.
    reported_id, reported_code = confirm_case(services, "+8801711000777")
    urgent = make_record(urgent=True, workplace="Lotus Footwear")
    referable = make_record(referral=True, category="wages")
    desk.cases_store.add(urgent)
    desk.cases_store.add(referable)
    desk.context.pull = desk.pull_from_intake  # what the background puller calls
    assert desk.context.pull_now() == 1

    # Sign in: password, then the code from the authenticator app.
    browser.get(base + "/login")
    browser.find_element(By.NAME, "username").send_keys("ada")
    browser.find_element(By.NAME, "password").send_keys(PASSWORDS["ada"])
    shot(browser, screenshots, "01-sign-in")
    browser.find_element(By.ID, "sign-in").click()
    browser.find_element(By.NAME, "code").send_keys(pyotp.TOTP(desk.secrets["ada"]).at(desk.clock().timestamp()))
    browser.find_element(By.ID, "verify").click()
    WebDriverWait(browser, 15).until(lambda d: d.current_url.endswith("/inbox"))
    assert "Last pulled: 20" in browser.find_element(By.CSS_SELECTOR, "header .pulled").text
    banner = browser.find_element(By.ID, "urgent-banner")
    assert "urgent" in banner.text.lower()
    shot(browser, screenshots, "02-inbox-urgent")

    # Filter the list: urgent cases only, then open it.
    browser.find_element(By.LINK_TEXT, "Cases").click()
    browser.find_element(By.NAME, "urgent").click()
    browser.find_element(By.ID, "apply-filters").click()
    WebDriverWait(browser, 15).until(lambda d: "urgent=1" in d.current_url)
    assert "1 cases." in browser.find_element(By.TAG_NAME, "main").text
    shot(browser, screenshots, "03-filtered")
    browser.find_element(By.LINK_TEXT, urgent["case_id"][:8]).click()
    assert CASE_TEXT in browser.find_element(By.ID, "description").text

    # A note, the assignment, and the status moved on with a reason.
    browser.find_element(By.CSS_SELECTOR, "form[action$='/note'] textarea").send_keys(NOTE_TEXT)
    browser.find_element(By.ID, "add-note").click()
    flashed(browser, "Note added")
    assert NOTE_TEXT in browser.find_element(By.ID, "notes").text
    Select(browser.find_element(By.ID, "assignee")).select_by_value("cai")
    browser.find_element(By.ID, "assign").click()
    flashed(browser, "Assignment saved")
    Select(browser.find_element(By.ID, "new-status")).select_by_value("acknowledged")
    browser.find_element(By.ID, "status-reason").send_keys("Read by the duty team")
    browser.find_element(By.ID, "change-status").click()
    flashed(browser, "Status changed")
    assert browser.find_element(By.ID, "status").text == "acknowledged"
    shot(browser, screenshots, "04-urgent-case")

    # Filed as safety, it is about harassment: re-categorised with a reason; the NLU's suggestion stays in view.
    assert "80% confidence" in browser.find_element(By.ID, "nlu-suggestion").text
    Select(browser.find_element(By.ID, "new-category")).select_by_value("harassment")
    browser.find_element(By.ID, "category-reason").send_keys("The supervisor's threats are harassment")
    browser.find_element(By.ID, "change-category").click()
    flashed(browser, "Category changed")
    assert "filed as" in browser.find_element(By.ID, "category-filed").text
    assert "threats are harassment" in browser.find_element(By.ID, "category-history").text
    shot(browser, screenshots, "04b-category-changed")
    assert desk.cases_store.get(urgent["case_id"])["category"] == "safety", "the record keeps what was filed"

    # Reply to the worker of the reported case, through the operator API.
    browser.get(f"{base}/cases/{reported_id}")
    browser.find_element(By.CSS_SELECTOR, "#reply-form textarea").send_keys(REPLY_TEXT)
    browser.find_element(By.ID, "send-reply").click()
    assert "Kept for the worker" in flashed(browser, "Kept for the worker", "Sent to the worker", "not sent")
    assert REPLY_TEXT in browser.find_element(By.ID, "thread").text
    shot(browser, screenshots, "05-reply")

    # A company in the directory, and a referral: preview first, then sealed.
    company_key = x25519.Identity.generate()
    browser.get(base + "/companies")
    browser.find_element(By.ID, "company-name").send_keys("Sunrise Garments Ltd")
    browser.find_element(By.ID, "company-key").send_keys(str(company_key.to_public()))
    browser.find_element(By.ID, "add-company").click()
    flashed(browser, "Company added")
    browser.get(f"{base}/cases/{referable['case_id']}")
    browser.find_element(By.ID, "preview-referral").click()
    WebDriverWait(browser, 15).until(lambda d: d.find_elements(By.ID, "referral-preview"))
    preview = browser.find_element(By.ID, "referral-preview").text
    assert "Sunrise Garments Ltd" in preview and CASE_TEXT not in preview
    shot(browser, screenshots, "06-referral-preview")
    browser.find_element(By.ID, "confirm-referral").click()
    flashed(browser, "Referred to Sunrise Garments Ltd")

    # A redacted batch for a partner: the browser downloads it, the partner's own key opens it
    # with the real age CLI, and it holds the cases but no words, contact or case code.
    partner_key = tmp_path / "partner-key.txt"
    subprocess.run(["age-keygen", "-o", str(partner_key)], check=True, capture_output=True)
    partner = subprocess.run(["age-keygen", "-y", str(partner_key)], check=True, capture_output=True, text=True).stdout.strip()
    browser.get(base + "/export")
    Select(browser.find_element(By.ID, "export-profile")).select_by_value("redacted")
    browser.find_element(By.ID, "export-recipients").send_keys(partner)
    shot(browser, screenshots, "07-export")
    browser.find_element(By.ID, "export-now").click()
    batch = downloaded(downloads, ".jsonl.age")
    assert CASE_TEXT.encode() not in batch.read_bytes()
    opened = subprocess.run(["age", "--decrypt", "-i", str(partner_key), str(batch)], check=True, capture_output=True, text=True).stdout
    exported = [json.loads(line) for line in opened.splitlines() if line.strip()]
    assert {case["case_id"] for case in exported} == {reported_id, urgent["case_id"], referable["case_id"]}
    assert CASE_TEXT not in opened and "+8801711000777" not in opened
    assert all(case["contact"] is None and case["description"] == "[withheld]" for case in exported)
    assert str(reported_code).replace(" ", "") not in opened.replace(" ", "")

    # The audit log holds the day, and the chain is whole.
    browser.get(base + "/audit")
    assert "chain intact" in browser.find_element(By.ID, "audit-state").text
    shot(browser, screenshots, "08-audit")
    actions = [entry.action for entry in desk.store.audit_entries()]
    for action in ("sign_in", "case_opened", "note_added", "assigned", "status_changed", "category_changed", "reply_sent",
                   "company_added", "referred", "exported"):
        assert action in actions
    assert desk.store.audit_entries()[-1].at <= stamp(desk.clock())
    for png in screenshots.glob("*.png"):
        assert png.stat().st_size > 5_000


def sign_in_with_password(browser, base: str, name: str, password: str, lands_on: str | None = None) -> None:
    """Sign in an account without a second factor (the desk's default when `desk.totp` is off), and
    wait until the sign-in page is left (for `lands_on`, if given)."""
    browser.get(base + "/login")
    browser.find_element(By.NAME, "username").send_keys(name)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.ID, "sign-in").click()
    WebDriverWait(browser, 15).until(
        lambda d: d.current_url.endswith(lands_on) if lands_on else "/login" not in d.current_url)


def sign_in_in_browser(browser, base: str, desk, name: str, password: str) -> None:
    browser.get(base + "/login")
    browser.find_element(By.NAME, "username").send_keys(name)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.ID, "sign-in").click()
    browser.find_element(By.NAME, "code").send_keys(pyotp.TOTP(desk.secrets[name]).at(desk.clock().timestamp()))
    browser.find_element(By.ID, "verify").click()
    # Signed in once the code's page is left: a get() sent before would race the form's own redirect
    # (seen on PostgreSQL, whose sign-in is slower: the case asked for, then the inbox shown).
    WebDriverWait(browser, 15).until(lambda d: "/login" not in d.current_url)


def test_an_admin_signs_in_through_a_strangers_guessing_and_unlocks_a_colleague(live_desk, browser, tmp_path):
    """A stranger guesses ada's password and, with cai's phished password, cai's codes; ada still signs in
    from her browser, sees cai's locked second step on the Accounts page, unlocks it, and the audit log
    holds every wrong code, whole, with its heads kept outside the store agreeing."""
    from desk_web_support import csrf_of

    desk, base = live_desk
    screenshots = tmp_path / "screenshots"
    screenshots.mkdir()
    desk.secrets["cai"] = pyotp.random_base32()
    desk.store.enroll_totp("cai", desk.secrets["cai"])

    sign_in_in_browser(browser, base, desk, "ada", PASSWORDS["ada"])  # yesterday, in her own browser
    WebDriverWait(browser, 15).until(lambda d: d.current_url.endswith("/inbox"))
    browser.find_element(By.ID, "sign-out").click()
    WebDriverWait(browser, 15).until(lambda d: d.current_url.endswith("/login"))
    assert desk.store.audit_entries()[-1].action == "sign_out", [e.action for e in desk.store.audit_entries()]
    desk.clock.advance(hours=15)

    stranger = desk.client()
    stranger.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for _ in range(20):
        page = stranger.get("/login")
        stranger.post("/login", data={"username": "ada", "password": "guessing-her-password", "csrf_token": csrf_of(page.text)})
    wrong = next(code for code in ("111111", "222222", "333333") if code != pyotp.TOTP(desk.secrets["cai"]).at(desk.clock().timestamp()))
    for _ in range(2):  # cai's phished password, then codes guessed until the second step locks
        page = stranger.get("/login")
        stranger.environ_base["REMOTE_ADDR"] = f"203.0.113.{10 + _}"
        stranger.post("/login", data={"username": "cai", "password": PASSWORDS["cai"], "csrf_token": csrf_of(page.text)})
        for _ in range(3):
            code_page = stranger.get("/login/code")
            if code_page.status_code == 200:
                stranger.post("/login/code", data={"code": wrong, "csrf_token": csrf_of(code_page.text)})
    assert desk.context.signins.second_step_locked("cai")

    sign_in_in_browser(browser, base, desk, "ada", PASSWORDS["ada"])
    WebDriverWait(browser, 15).until(lambda d: d.current_url.endswith("/inbox"))
    shot(browser, screenshots, "11-signed-in-through-the-guessing")
    browser.find_element(By.LINK_TEXT, "Accounts").click()
    state = browser.find_element(By.CSS_SELECTOR, "#account-cai .signin-state").text
    assert "second step locked after wrong codes" in state
    shot(browser, screenshots, "12-accounts-cai-locked")
    browser.find_element(By.ID, "unlock-cai").click()
    flashed(browser, "cai is unlocked")
    assert browser.find_element(By.CSS_SELECTOR, "#account-cai .signin-state").text.startswith("-")
    shot(browser, screenshots, "13-cai-unlocked")

    browser.get(base + "/audit")
    assert "chain intact" in browser.find_element(By.ID, "audit-state").text
    assert "kept outside the store agree" in browser.find_element(By.ID, "audit-state").text
    shot(browser, screenshots, "14-audit-wrong-codes")
    actions = [entry.action for entry in desk.store.audit_entries()]
    assert actions.count("totp_refused") == 5 and "totp_locked" in actions and "account_unlocked" in actions
    unlocked = next(entry for entry in desk.store.audit_entries() if entry.action == "account_unlocked")
    assert (unlocked.actor, unlocked.target) == ("ada", "cai")

    # What a browser sees when it guesses: waits that grow, the same for every name.
    browser.find_element(By.ID, "sign-out").click()
    WebDriverWait(browser, 15).until(lambda d: d.current_url.endswith("/login"))
    for _ in range(6):
        browser.get(base + "/login")
        browser.find_element(By.NAME, "username").send_keys("ana")
        browser.find_element(By.NAME, "password").send_keys("not-her-password-at-all")
        browser.find_element(By.ID, "sign-in").click()
        answer = flashed(browser, "Wrong username or password", "Too many wrong tries")  # before the next page
    assert answer == "Too many wrong tries. Try again in 1 minute(s)."
    shot(browser, screenshots, "15-a-guessing-browser-waits")
    for png in screenshots.glob("*.png"):
        assert png.stat().st_size > 5_000


def test_a_voice_report_plays_in_the_browser(live_desk, browser, tmp_path):
    """The recording of a voice report loads in the case page's player (the CSP lets the desk's own
    audio in: without `media-src 'self'` Chromium refuses it) and plays as long as it is."""
    from test_desk_voice import recording
    from test_voice_disguise import voiced
    from channels.voice_disguise import Disguise, disguise_recording
    from bot.config import MediaCleaning

    desk, base = live_desk
    voice = disguise_recording(voiced(), "audio/wav", Disguise(4.0, -2.0), max_bytes=1_000_000, limits=MediaCleaning())
    record = make_record() | {"story_kind": "voice", "description": "\U0001f3a4 0:03",
                              "attachments": [recording(voice.data, "disguised", voice.seconds)]}
    desk.cases_store.add(record)
    desk.context.refresh()
    sign_in_in_browser(browser, base, desk, "ada", PASSWORDS["ada"])
    browser.get(f"{base}/cases/{record['case_id']}")
    assert browser.find_element(By.ID, "voice-report").text == "voice report"
    duration = WebDriverWait(browser, 15).until(lambda d: d.execute_script(
        "const a = document.querySelector('audio'); return a.readyState >= 1 && !a.error ? a.duration : null;"))
    assert duration == pytest.approx(3.0, abs=0.2)
    shot(browser, tmp_path, "voice-report")


def test_a_new_admin_sets_up_the_second_step_from_a_qr_code_on_a_narrow_screen(live_desk, browser, tmp_path):
    """Issue 22: a QR code drawn on the server (allowed by the CSP: the browser shows it), the key and the
    otpauth link behind "Can't scan the code?" and inside their card, then the recovery codes, once."""
    desk, base = live_desk
    screenshots = tmp_path / "screenshots"
    screenshots.mkdir()
    desk.store.add_user("newadmin", "new-admin-passphrase", "admin")
    browser.set_window_size(420, 900)  # a phone's width: the 103-character link must wrap, not run out of its card
    browser.get(base + "/login")
    browser.find_element(By.NAME, "username").send_keys("newadmin")
    browser.find_element(By.NAME, "password").send_keys("new-admin-passphrase")
    browser.find_element(By.ID, "sign-in").click()
    qr = browser.find_element(By.CSS_SELECTOR, "#totp-qr svg")
    assert qr.size["width"] >= 150 and qr.size["height"] >= 150, qr.size  # drawn: not blocked, not collapsed
    assert not browser.find_element(By.ID, "totp-secret").is_displayed(), "the key waits behind the disclosure"
    shot(browser, screenshots, "16-enrol-qr-code")
    browser.find_element(By.CSS_SELECTOR, "#cant-scan summary").click()
    link, card = browser.find_element(By.ID, "totp-uri"), browser.find_element(By.CSS_SELECTOR, "div.card.enrol")
    assert link.is_displayed() and link.text.startswith("otpauth://totp/")
    assert link.location["x"] + link.size["width"] <= card.location["x"] + card.size["width"], "the link stays in its card"
    shot(browser, screenshots, "17-enrol-cant-scan")
    secret = browser.find_element(By.ID, "totp-secret").text
    browser.find_element(By.NAME, "code").send_keys(pyotp.TOTP(secret).at(desk.clock().timestamp()))
    browser.find_element(By.ID, "verify").click()
    codes = [item.text for item in browser.find_elements(By.CSS_SELECTOR, "#recovery-codes li code")]
    assert len(codes) == 10 and all(len(code) == 11 for code in codes)
    shot(browser, screenshots, "18-recovery-codes")
    browser.find_element(By.ID, "codes-kept").click()
    WebDriverWait(browser, 15).until(lambda d: d.current_url.endswith("/inbox"))
