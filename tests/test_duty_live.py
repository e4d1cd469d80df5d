"""A worker's alert at 3 a.m., end to end: `grievance serve` pages the person on duty, escalates, and a
case worker acknowledges in a real browser.

`grievance serve` runs as an operator would start it (gunicorn, the maintenance loop beside it, the
operator API), with SMS and Telegram against the fake Twilio and Telegram, e-mail against a fake
mail server, all on loopback. The worker's messages are signed Twilio webhooks over HTTP. The
escalation time is three seconds here (`duty.escalate_after_minutes: 0.05`). The desk runs in this
process, pulls from the server like `grievance desk serve`, and Debian's Chromium clicks its button.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest
import yaml
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from werkzeug.serving import WSGIRequestHandler, make_server

from bot.config import load_settings
from browser_support import FLAGS, chromium
from databases import example_config
from duty_support import FIRE, FIRE_WORDS, STAFF_EMAIL_ACCOUNT, STAFF_SMS_PHONE, STAFF_TELEGRAM_CHAT, WORKER_PHONE, write_roster
from fake_smtp import FakeSmtp
from fake_telegram import FakeTelegramServer
from fake_twilio import FakeTwilio
from outage_support import health
from test_channel_twilio import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, new_sid, sign, sms_payload
from test_cli import _free_port
from test_desk_browser import flashed, sign_in_with_password

TELEGRAM_TOKEN = "4242000003:fake-live-duty-token-ZxCvBn"
WEBHOOK_SECRET = "live-duty-hook-secret-0123456789"
DESK_PASSWORD = "caseworker-pass-0002"
SHOWN_REF = re.compile(r"\b([A-Z0-9]{3})-([A-Z0-9]{3})\b")
ESCALATE_SECONDS = 3


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


def grievance(deployment: Path, *args: str, env: dict) -> str:
    result = subprocess.run([sys.executable, "-c", "from bot.cli import main; main()", "--config", str(deployment / "config.yaml"), *args],
                            capture_output=True, text=True, cwd=deployment, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def browser():
    driver_path = shutil.which("chromedriver")
    assert driver_path, "chromedriver is missing: `make test` installs the Debian package chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium()
    for flag in FLAGS:
        options.add_argument(flag.replace("--headless", "--headless=new"))
    profile = tempfile.mkdtemp(prefix="duty-browser-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def fakes():
    twilio, smtp = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN), FakeSmtp()
    with FakeTelegramServer(TELEGRAM_TOKEN) as telegram:
        yield twilio, telegram, smtp
    twilio.close()
    smtp.close()


@pytest.fixture
def deployment(tmp_path, fakes, database_url):
    twilio, telegram, smtp = fakes
    config = example_config(database_url)
    config["channels"]["twilio"].update(enabled=True, api_base_url=twilio.url, rate={"messages_per_second": 100})
    config["channels"]["telegram"].update(enabled=True, base_url=telegram.url + "/bot", base_file_url=telegram.url + "/file/bot")
    config["server"].update(public_url=PUBLIC_URL, forward_interval_seconds=0.2)
    api_port = _free_port()
    config["operator_api"].update(enabled=True, port=api_port)
    config["operator_client"]["url"] = f"http://127.0.0.1:{api_port}"
    config["duty"].update(enabled=True, escalate_after_minutes=ESCALATE_SECONDS / 60, after_last="repeat", rounds=20,
                          smtp={"host": "127.0.0.1", "port": smtp.port, "security": "none", "from_address": "pager@ngo.example.org"})
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    write_roster(tmp_path / "var", [
        {"name": "Ana (first on call)", "language": "es", "sms": STAFF_SMS_PHONE, "email": STAFF_EMAIL_ACCOUNT},
        {"name": "Team chat", "telegram": STAFF_TELEGRAM_CHAT},
    ])
    return tmp_path


def test_an_alert_pages_the_person_on_duty_within_a_minute_escalates_and_stops_when_acknowledged(deployment, fakes, browser, monkeypatch, request):
    twilio, telegram, smtp = fakes
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELEGRAM_", "GRIEVANCE_"))},
           "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
           "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN, "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET}
    grievance(deployment, "init", "--dev-operator-key", env=env)
    token = grievance(deployment, "api-token", "create", "desk", env=env).strip().splitlines()[-1]
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main()", "--config", str(deployment / "config.yaml"),
         "serve", "--port", str(port), "--workers", "1"],
        cwd=deployment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    desk_server = None
    try:
        wait_for(lambda: health(port)[0] == 200, 60, "the server to answer /health")
        http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        request.addfinalizer(http.close)

        def worker_says(text: str) -> str:
            form = sms_payload(WORKER_PHONE, text, sid=new_sid())
            response = http.post("/webhooks/twilio", data=form, headers={"X-Twilio-Signature": sign(PUBLIC_URL + "/webhooks/twilio", form)})
            assert response.status_code == 200, response.text
            return "\n".join(element.text or "" for element in ET.fromstring(response.content).iter("Message"))

        # 3 a.m.: the fire, and YES to the alert (and to whatever the alert asks next).
        read = [worker_says(FIRE)]
        for _ in range(3):
            read.append(worker_says("1"))
            if "code" in read[-1].lower():
                break
        alerted = time.monotonic()
        code = re.search(r"\d{4} \d{3} \d{3} \d{4}", "\n".join(read)).group()

        # Within a minute: Ana's SMS and e-mail, in Spanish, with the reference and nothing of the case.
        (sms,) = wait_for(lambda: [m for m in twilio.messages if m.get("To") == STAFF_SMS_PHONE], 60, "the page by SMS")
        within = time.monotonic() - alerted
        assert within < 60, within
        (mail,) = wait_for(lambda: smtp.to(STAFF_EMAIL_ACCOUNT), 60, "the page by e-mail")
        ref = "".join(SHOWN_REF.search(sms["Body"]).groups())
        for text in (sms["Body"], mail.text):
            assert text.startswith("Línea de denuncias: hay un caso urgente en espera") and f"{ref[:3]}-{ref[3:]}" in text
            for secret in (*FIRE_WORDS, WORKER_PHONE.lstrip("+"), code, code.replace(" ", "")):
                assert secret not in text, secret

        # Nobody acknowledges: after the escalation time, the team chat; then Ana again (repeat).
        (chat,) = wait_for(lambda: telegram.sent(STAFF_TELEGRAM_CHAT), 60, "the escalation to the team chat")
        assert chat["text"] == f"Hotline: an urgent case is waiting. Open the desk now. Ref {ref[:3]}-{ref[3:]}"
        escalated_after = time.monotonic() - alerted
        assert escalated_after >= ESCALATE_SECONDS - 1, escalated_after
        wait_for(lambda: len([m for m in twilio.messages if m.get("To") == STAFF_SMS_PHONE]) >= 2, 60, "Ana paged again")

        # The case worker's desk pulls the alert and the page, and the button acknowledges it.
        from desk.serve import build_desk_app
        from storage.keys import load_operator_identity

        monkeypatch.setenv("GRIEVANCE_OPERATOR_API_TOKEN", token)
        settings = load_settings(deployment / "config.yaml")
        identity = load_operator_identity(settings.path(settings.operator.identity_file))
        app = build_desk_app(settings, identity, secure_cookies=False)
        context = app.extensions["desk"]
        context.store.add_user("cai", DESK_PASSWORD, "caseworker")
        context.pull_now()
        desk_server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
        threading.Thread(target=desk_server.serve_forever, daemon=True).start()
        base = f"http://localhost:{desk_server.server_port}"
        sign_in_with_password(browser, base, "cai", DESK_PASSWORD, lands_on="/inbox")
        banner = browser.find_element(By.ID, "duty-pages").text
        assert f"{ref[:3]}-{ref[3:]}" in banner and "nobody has acknowledged" in banner
        browser.save_screenshot(str(deployment / "duty-banner.png"))
        browser.find_element(By.ID, f"ack-{ref}").click()
        flashed(browser, "Page acknowledged")
        assert not browser.find_elements(By.ID, "duty-pages")

        # Acknowledged: nobody else is called, however long we wait.
        sent = (len(twilio.messages), len(telegram.sent(STAFF_TELEGRAM_CHAT)), len(smtp.messages))
        time.sleep(3 * ESCALATE_SECONDS)
        assert (len(twilio.messages), len(telegram.sent(STAFF_TELEGRAM_CHAT)), len(smtp.messages)) == sent
        with httpx.Client(base_url=settings.operator_client.url, headers={"Authorization": f"Bearer {token}"}) as api:
            (page,) = api.get("/v1/duty/pages", params={"all": "1"}).json()["pages"]
        assert (page["state"], page["acknowledged_by"]) == ("acknowledged", "cai")

        # Every notification and the acknowledgement are in the desk's audit log, its chain whole.
        actions = [(entry.actor, entry.action) for entry in context.store.audit_entries()]
        for line in (("duty-pager", "page_queued"), ("duty-pager", "page_sent"), ("duty-pager", "page_escalated"),
                     ("cai", "page_ack"), ("duty-pager", "page_acknowledged")):
            assert line in actions, line
        assert context.store.verify_audit()[0]
        log = (deployment / "var/data/logs/grievance.log").read_text()
        assert f"duty page {ref} sent to roster position 1" in log and f"duty page {ref} acknowledged" in log
        for secret in (STAFF_SMS_PHONE.lstrip("+"), STAFF_EMAIL_ACCOUNT, str(STAFF_TELEGRAM_CHAT).lstrip("-")):
            assert secret not in log
    finally:
        if desk_server is not None:
            desk_server.shutdown()
            desk_server.server_close()
            app.extensions["desk"].cases_store.close()
        server.terminate()
        _, errors = server.communicate(timeout=60)
    assert server.returncode == 0, errors
