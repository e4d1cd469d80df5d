"""A referral after "Seal and refer": the company gets the file, answers, and the desk follows it up.

The company is played for real: its age key is made by `age-keygen` and the file is opened
with `age -d`; its webhook is an HTTPS server that checks the signature with its own secret;
its mail arrives through a real SMTP server (aiosmtpd) that requires STARTTLS and a password.
The desk is driven through its pages (Flask's test client over HTTPS, real forms with their
CSRF tokens) and its commands. The worker's side is in tests/test_referral_worker.py, the
desk in a real browser in tests/test_referral_browser.py.
"""

from __future__ import annotations

import email
import json
import re
from datetime import date
from email import policy

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.services import build_services
from desk.operator_store import store_location
from desk_support import store_holds
from desk_web_support import Clock, Desk, csrf_of
from referral_support import COMPANY_SECRET, SMTP_PASSWORD, SMTP_USER, CompanyEndpoint, MailServer, age_decrypt, company_key
from storage.keys import init_keys
from test_desk_web import CASE_TEXT, make_record, referral_flow

COMPANY = "Sunrise Garments Ltd"
ANSWER_TEXT = "We inspected line 4 and found the exit chained; a new door opens on 1 December"
FILE_MARKER = b"%PDF-1.4 remediation plan of Sunrise, page 1 of 3"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_desk(settings_with, clock, monkeypatch):
    """make_desk(referral={...}) -> a desk with the referral question in its flow, two accounts and one company."""
    made = []
    monkeypatch.setenv("COMPANY_WEBHOOK_SECRET", COMPANY_SECRET)
    monkeypatch.setenv("GRIEVANCE_REFERRAL_SMTP_PASSWORD", SMTP_PASSWORD)

    def build(**sections):
        settings = settings_with(flow={"questions": referral_flow()}, **sections)
        init_keys(settings, dev_operator_key=True)
        services = build_services(settings)
        desk = Desk(services, clock)
        desk.add_accounts()
        made.append((desk, services))
        return desk

    yield build
    for desk, services in made:
        desk.close()
        services.close()


@pytest.fixture
def company(tmp_path):
    return company_key(tmp_path / "company")


@pytest.fixture
def endpoint(tmp_path):
    server = CompanyEndpoint(tmp_path)
    yield server
    server.close()


def signed_in(desk, name: str = "cai"):
    client = desk.client()
    assert desk.sign_in(client, name).status_code == 302
    return client


def refer_on_the_page(desk, client, record: dict, company_id: str) -> str:
    """Preview, then "Seal and refer", as a case worker does; the new referral's id."""
    page = client.get(f"/cases/{record['case_id']}")
    preview = client.post(f"/cases/{record['case_id']}/refer", data={"company": company_id, "csrf_token": csrf_of(page.text)})
    assert preview.status_code == 200 and "referral-preview" in preview.text
    done = client.post(f"/cases/{record['case_id']}/refer", data={"company": company_id, "confirm": "yes",
                                                                   "csrf_token": csrf_of(preview.text)})
    assert done.status_code == 302, done.text
    found = re.search(r"/referrals/([0-9a-f]{32})$", done.location)
    assert found, done.location
    return found.group(1)


def a_referable_case(desk) -> dict:
    record = make_record(referral=True)
    desk.cases_store.add(record)
    desk.context.refresh()
    return record


def run(settings, *args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), obj={"settings": settings}, input=input, catch_exceptions=False)


def actions(desk) -> list[str]:
    return [entry.action for entry in desk.store.audit_entries()]


# ---------------------------------------------------------------- the file the company gets

def test_the_company_gets_the_sealed_file_by_download_and_command_and_opens_it_with_age(make_desk, company, tmp_path):
    desk = make_desk(referral={"reply_to": "referrals@ngo.example"})
    identity, public = company
    company_id = desk.store.add_company(COMPANY, public)
    record = a_referable_case(desk)
    client = signed_in(desk)
    referral_id = refer_on_the_page(desk, client, record, company_id)

    response = client.get(f"/referrals/{referral_id}/file")
    assert response.status_code == 200 and response.mimetype == "application/octet-stream"
    name = f"referral-2026-11-20-sunrise-garments-ltd-{referral_id[:8]}.json.age"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    opened = json.loads(age_decrypt(identity, response.data))
    assert opened["referral_id"] == referral_id and opened["company"] == COMPANY
    assert opened["referred_on"] == "2026-11-20" and opened["respond_by"] == "2027-01-04"  # 45 days, the default
    assert opened["reply_to"] == "referrals@ngo.example" and opened["from"] == "Test hotline"
    assert opened["category"] == "safety" and opened["about_the_workplace"]["workplace"] == COMPANY
    assert referral_id in opened["asked"] and "2027-01-04" in opened["asked"]
    words = json.dumps(opened)
    for absent in (record["case_id"], record["code"], CASE_TEXT, "contact_consent", "referral_consent", '"sms"'):
        assert absent not in words
    assert "referral_downloaded" in actions(desk)

    # The same file from the command line, for a company that takes it on a USB stick or a portal.
    output = tmp_path / "out" / name
    output.parent.mkdir()
    result = run(desk.settings, "desk", "referral", "export", referral_id[:8], "-o", str(output))
    assert result.exit_code == 0, result.output
    assert output.read_bytes() == response.data and output.stat().st_mode & 0o777 == 0o600
    assert json.loads(age_decrypt(identity, output.read_bytes()))["referral_id"] == referral_id
    assert "referral_exported" in actions(desk)
    assert run(desk.settings, "desk", "referral", "export", "nothing", "-o", str(output)).exit_code == 1

    # Only case workers and admins take it; the desk itself cannot open it.
    analyst = signed_in(desk, "ana")
    assert analyst.get(f"/referrals/{referral_id}/file").status_code == 403
    assert desk.client().get(f"/referrals/{referral_id}/file").status_code == 302
    assert client.get("/referrals/" + "0" * 32 + "/file").status_code == 404


def test_a_case_whose_worker_did_not_agree_is_never_referred(make_desk, company):
    desk = make_desk()
    company_id = desk.store.add_company(COMPANY, company[1])
    declined = make_record(referral=False)
    desk.cases_store.add(declined)
    desk.context.refresh()
    client = signed_in(desk)
    page = client.get(f"/cases/{declined['case_id']}")
    for confirm in ("", "yes"):
        answer = client.post(f"/cases/{declined['case_id']}/refer", data={"company": company_id, "confirm": confirm,
                                                                           "csrf_token": csrf_of(page.text)})
        assert answer.status_code == 302
    assert desk.store.referrals() == []
    from desk.referral_flow import ReferralDesk
    from desk.store import DeskError

    with pytest.raises(DeskError, match="did not agree"):
        ReferralDesk(desk.settings, desk.store).refer(declined, company_id, "cai")


# ---------------------------------------------------------------- delivery by webhook

def test_a_referral_reaches_the_companys_webhook_signed_once_and_is_tried_again_while_it_is_down(
        make_desk, company, endpoint, clock):
    desk = make_desk(referral={"webhook": {"ca_file": str(endpoint.cert_file)}})
    identity, public = company
    company_id = desk.store.add_company(COMPANY, public)
    admin = signed_in(desk, "ada")
    page = admin.get("/companies")
    saved = admin.post(f"/companies/{company_id}/contact", data={"webhook_url": endpoint.url, "webhook_secret": "env:COMPANY_WEBHOOK_SECRET",
                                                               "email": "", "csrf_token": csrf_of(page.text)})
    assert saved.status_code == 302
    assert endpoint.url in admin.get("/companies").text
    record = a_referable_case(desk)
    endpoint.answers = [503]  # the company's server is down at first
    client = signed_in(desk)
    referral_id = refer_on_the_page(desk, client, record, company_id)
    page = client.get(f"/referrals/{referral_id}").text
    assert "did not go through yet" in page and "http_503" in page
    from desk.web.referrals import referral_desk

    work = desk.app.extensions["desk"].referral_desk or referral_desk()
    (delivery,) = work.referrals.deliveries(referral_id)
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("pending", 1, "http_503")
    assert work.deliver_due() == {}  # its next try is a minute away
    clock.advance(minutes=2)
    assert work.deliver_due() == {"delivered": 1}
    assert endpoint.posts == [referral_id] and endpoint.refused == 0
    assert json.loads(age_decrypt(identity, endpoint.sealed(referral_id)))["referral_id"] == referral_id
    assert endpoint.kept[referral_id]["file_name"].endswith(f"{referral_id[:8]}.json.age")
    # Delivered stays delivered: asking again sends nothing twice.
    assert work.deliver_again(referral_id, "cai") == []
    assert endpoint.posts == [referral_id]
    details = [entry.detail for entry in desk.store.audit_entries() if entry.action == "referral_delivery"]
    assert details == [f"{referral_id[:8]} webhook will retry: http_503", f"{referral_id[:8]} webhook delivered"]


@pytest.mark.parametrize("trouble, kind", [("refused", "http_400"), ("no_secret", "secret_missing"), ("wrong_secret", "http_401")])
def test_a_delivery_that_cannot_get_better_fails_at_once_until_a_person_tries_again(
        make_desk, company, endpoint, clock, monkeypatch, trouble, kind):
    desk = make_desk(referral={"webhook": {"ca_file": str(endpoint.cert_file)}})
    company_id = desk.store.add_company(COMPANY, company[1])
    from desk.referral_store import CompanyContact
    from desk.web.referrals import referral_desk

    with desk.app.test_request_context():
        work = referral_desk()
    work.referrals.set_contact(company_id, CompanyContact(endpoint.url, "env:COMPANY_WEBHOOK_SECRET"))
    if trouble == "refused":
        endpoint.answers = [400]
    elif trouble == "no_secret":
        monkeypatch.delenv("COMPANY_WEBHOOK_SECRET")
    else:
        monkeypatch.setenv("COMPANY_WEBHOOK_SECRET", "not-what-the-company-holds")
    record = a_referable_case(desk)
    made = work.refer(record, company_id, "cai")
    assert made.deliveries == [("webhook", "failed")]
    (delivery,) = work.referrals.deliveries(made.view.referral_id)
    assert delivery.last_error == kind and endpoint.posts == []
    clock.advance(days=1)
    assert work.deliver_due() == {}  # failed: not tried again by itself
    monkeypatch.setenv("COMPANY_WEBHOOK_SECRET", COMPANY_SECRET)  # someone fixed the cause
    client = signed_in(desk)
    page = client.get(f"/referrals/{made.view.referral_id}")
    assert kind in page.text
    again = client.post(f"/referrals/{made.view.referral_id}/deliver", data={"csrf_token": csrf_of(page.text)})
    assert again.status_code == 302
    assert endpoint.posts == [made.view.referral_id]
    assert "referral_delivery_retried" in actions(desk)


def test_a_company_webhook_must_be_https_with_a_secret_kept_elsewhere(make_desk, company):
    desk = make_desk()
    added = run(desk.settings, "desk", "company", "add", COMPANY, company[1])
    assert added.exit_code == 0 and "added to the directory" in added.output
    assert run(desk.settings, "desk", "company", "add", "Other Ltd", "age1notakey").exit_code == 1
    for webhook, secret, email_address in [("http://sunrise.example/hook", "env:X", ""), ("https://sunrise.example/hook", "", ""),
                                           ("https://sunrise.example/hook", "the-secret-itself", ""), ("", "", "not an address")]:
        result = run(desk.settings, "desk", "company", "contact", COMPANY, *(["--webhook", webhook] if webhook else []),
                     *(["--webhook-secret", secret] if secret else []), *(["--email", email_address] if email_address else []))
        assert result.exit_code == 1, (webhook, secret, email_address)
    result = run(desk.settings, "desk", "company", "contact", COMPANY, "--webhook", "https://sunrise.example/hook",
                 "--webhook-secret", "file:keys/sunrise-webhook-secret", "--email", "ethics@sunrise.example")
    assert result.exit_code == 0 and "webhook to https://sunrise.example/hook" in result.output
    listed = run(desk.settings, "desk", "company", "list").output
    assert "email ethics@sunrise.example" in listed and "the-secret" not in listed
    assert "company_contact_set" in actions(desk)


# ---------------------------------------------------------------- delivery by e-mail

def _email_settings(mail: MailServer) -> dict:
    return {"email": {"host": "127.0.0.1", "port": mail.port, "username": SMTP_USER,
                      "password": {"env": "GRIEVANCE_REFERRAL_SMTP_PASSWORD"}, "from_address": SMTP_USER,
                      "ca_file": str(mail.cert_file) if mail.cert_file else None, "timeout_seconds": 10}}


def test_a_referral_goes_by_email_over_starttls_with_nothing_of_the_case_in_the_clear(make_desk, company, tmp_path):
    mail = MailServer(tmp_path)
    try:
        desk = make_desk(referral=_email_settings(mail))
        identity, public = company
        company_id = desk.store.add_company(COMPANY, public)
        assert run(desk.settings, "desk", "company", "contact", COMPANY, "--email", "ethics@sunrise.example").exit_code == 0
        record = a_referable_case(desk)
        client = signed_in(desk)
        referral_id = refer_on_the_page(desk, client, record, company_id)
        assert "Delivered to the company by e-mail" in client.get(f"/referrals/{referral_id}").text
        (sent,) = mail.messages
        assert sent["encrypted"] and sent["to"] == ["ethics@sunrise.example"] and sent["from"] == SMTP_USER
        message = email.message_from_bytes(sent["content"], policy=policy.default)
        assert message["Subject"] == f"Referral {referral_id[:8]} from Test hotline"
        body = message.get_body(("plain",)).get_content()
        assert referral_id in body and "2027-01-04" in body and "age -d" in body
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_filename() == f"referral-2026-11-20-sunrise-garments-ltd-{referral_id[:8]}.json.age"
        opened = json.loads(age_decrypt(identity, attachment.get_content()))
        assert opened["referral_id"] == referral_id
        for absent in (CASE_TEXT, "Gazipur", "safety", COMPANY, record["case_id"], record["code"]):
            assert absent.encode() not in sent["content"], absent
    finally:
        mail.close()


def test_a_mail_server_without_starttls_gets_nothing(make_desk, company, tmp_path):
    mail = MailServer(tmp_path, tls=False)
    try:
        desk = make_desk(referral=_email_settings(mail))
        company_id = desk.store.add_company(COMPANY, company[1])
        run(desk.settings, "desk", "company", "contact", COMPANY, "--email", "ethics@sunrise.example")
        from desk.referral_flow import ReferralDesk

        work = ReferralDesk(desk.settings, desk.store)
        made = work.refer(a_referable_case(desk), company_id, "cai")
        assert made.deliveries == [("email", "failed")] and mail.messages == []
        (delivery,) = work.referrals.deliveries(made.view.referral_id)
        assert delivery.last_error == "smtp_no_starttls"
    finally:
        mail.close()


def test_a_wrong_smtp_password_fails_and_says_so(make_desk, company, tmp_path, monkeypatch):
    mail = MailServer(tmp_path)
    try:
        monkeypatch.setenv("GRIEVANCE_REFERRAL_SMTP_PASSWORD", "not-the-password")
        desk = make_desk(referral=_email_settings(mail))
        monkeypatch.setenv("GRIEVANCE_REFERRAL_SMTP_PASSWORD", "not-the-password")
        company_id = desk.store.add_company(COMPANY, company[1])
        run(desk.settings, "desk", "company", "contact", COMPANY, "--email", "ethics@sunrise.example")
        from desk.referral_flow import ReferralDesk

        work = ReferralDesk(desk.settings, desk.store)
        made = work.refer(a_referable_case(desk), company_id, "cai")
        (delivery,) = work.referrals.deliveries(made.view.referral_id)
        assert (delivery.state, delivery.last_error) == ("failed", "smtp_auth") and mail.messages == []
    finally:
        mail.close()


# ---------------------------------------------------------------- the company's answer

def test_the_companys_answer_is_recorded_encrypted_with_its_files(make_desk, company, clock):
    desk = make_desk()
    company_id = desk.store.add_company(COMPANY, company[1])
    record = a_referable_case(desk)
    client = signed_in(desk)
    referral_id = refer_on_the_page(desk, client, record, company_id)
    clock.advance(days=12)
    client = signed_in(desk)  # twelve days later, a new session
    page = client.get(f"/referrals/{referral_id}")
    token = csrf_of(page.text)
    # Bad input: nothing is recorded, and the page says what is missing.
    refused = client.post(f"/referrals/{referral_id}/answer", data={"received_on": "2026-12-01", "text": ANSWER_TEXT,
                                                                   "remediation": "", "csrf_token": token})
    assert refused.status_code == 400 and "whether it promised remediation" in refused.text
    future = client.post(f"/referrals/{referral_id}/answer", data={"received_on": "2027-06-01", "text": ANSWER_TEXT,
                                                                  "remediation": "yes", "csrf_token": token})
    assert future.status_code == 400 and "future" in future.text
    import io

    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import encode_multipart

    boundary, body = encode_multipart(MultiDict({  # in memory: the test client would spool it to a file it never closes
        "received_on": "2026-12-01", "text": ANSWER_TEXT, "remediation": "yes", "csrf_token": token,
        "files": FileStorage(io.BytesIO(b"x" * (11 * 1024 * 1024)), "huge.bin")}))
    too_big = client.post(f"/referrals/{referral_id}/answer", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert too_big.status_code == 413 and "too large" in too_big.text and "Nothing was saved" in too_big.text
    from desk.web.referrals import referral_desk

    with desk.app.test_request_context():
        work = referral_desk()
    assert work.referrals.answers(referral_id) == []
    # The answer with its letter.
    recorded = client.post(f"/referrals/{referral_id}/answer", content_type="multipart/form-data", data={
        "received_on": "2026-12-01", "text": ANSWER_TEXT, "remediation": "yes", "csrf_token": token,
        "files": [(io.BytesIO(FILE_MARKER), "remediation-plan.pdf"), (io.BytesIO(b"second"), "photo.jpg")]})
    assert recorded.status_code == 302, recorded.text
    page = client.get(f"/referrals/{referral_id}")
    assert ANSWER_TEXT in page.text and "remediation-plan.pdf" in page.text and 'id="referral-state" class="tag answered"' in page.text
    (answer,) = work.referrals.answers(referral_id)
    assert answer.remediation_promised and answer.received_on == "2026-12-01" and answer.recorded_by == "cai"
    plan = next(file for file in answer.files if file.name == "remediation-plan.pdf")
    download = client.get(f"/referrals/{referral_id}/files/{plan.file_id}")
    assert download.data == FILE_MARKER and download.mimetype == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert client.get(f"/referrals/{referral_id}/files/{'0' * 32}").status_code == 404
    assert (work.referrals.referral(referral_id).first_answer_on, work.referrals.referral(referral_id).state(clock().date())) == \
        ("2026-12-01", "answered")
    for action in ("company_answer_recorded", "company_answer_file_opened"):
        assert action in actions(desk)
    assert not any(ANSWER_TEXT in entry.detail for entry in desk.store.audit_entries())
    # Neither the text nor the file is readable in the store.
    desk.cases_store.engine.dispose()
    location = store_location(desk.settings)
    assert not store_holds(location, ANSWER_TEXT.encode()) and not store_holds(location, FILE_MARKER)


def test_an_answer_recorded_from_the_command_line(make_desk, company, clock, tmp_path):
    desk = make_desk()
    company_id = desk.store.add_company(COMPANY, company[1])
    from desk.referral_flow import ReferralDesk

    made = ReferralDesk(desk.settings, desk.store, clock=clock).refer(a_referable_case(desk), company_id, "cai")
    letter = tmp_path / "letter.pdf"
    letter.write_bytes(FILE_MARKER)
    result = run(desk.settings, "desk", "referral", "answer", made.view.referral_id[:8], "--received", "2026-11-25",
                 "--remediation", "no", "--text", "-", "--file", str(letter), input=ANSWER_TEXT)
    assert result.exit_code == 0, result.output
    (answer,) = ReferralDesk(desk.settings, desk.store).referrals.answers(made.view.referral_id)
    assert answer.text == ANSWER_TEXT and not answer.remediation_promised and answer.files[0].name == "letter.pdf"


# ---------------------------------------------------------------- due dates and overdue

def test_an_overdue_referral_shows_in_the_inbox_on_the_case_page_and_in_the_list(make_desk, company, clock):
    desk = make_desk(referral={"response_days": 30})
    company_id = desk.store.add_company(COMPANY, company[1])
    record = a_referable_case(desk)
    client = signed_in(desk)
    referral_id = refer_on_the_page(desk, client, record, company_id)
    inbox = client.get("/inbox").text
    assert referral_id[:8] not in inbox.split('id="overdue-referrals"')[1]
    case_page = client.get(f"/cases/{record['case_id']}").text
    assert "answer due by 2026-12-20" in case_page  # 30 days, as configured
    clock.advance(days=31)
    client = signed_in(desk)  # a new day, a new session
    overdue_part = client.get("/inbox").text.split('id="overdue-referrals"')[1]
    assert referral_id[:8] in overdue_part and COMPANY in overdue_part and "2026-12-20" in overdue_part
    assert "OVERDUE" in client.get(f"/cases/{record['case_id']}").text
    listed = run(desk.settings, "desk", "referral", "list", "--overdue", "--as-of", "2026-12-21").output
    assert referral_id[:8] in listed and "overdue" in listed
    # Once the company's answer is recorded, it is no longer overdue.
    from desk.referral_flow import ReferralDesk

    ReferralDesk(desk.settings, desk.store, clock=clock).record_answer(
        referral_id, received_on=clock().date(), text=ANSWER_TEXT, remediation_promised=False, files=[], by="cai")
    assert referral_id[:8] not in client.get("/inbox").text.split('id="overdue-referrals"')[1]


def test_a_japanese_case_worker_follows_a_referral_in_japanese(make_desk, company):
    desk = make_desk()
    company_id = desk.store.add_company(COMPANY, company[1])
    desk.store.set_language("cai", "ja")
    record = a_referable_case(desk)
    client = signed_in(desk)
    referral_id = refer_on_the_page(desk, client, record, company_id)
    page = client.get(f"/referrals/{referral_id}").text
    for words in ("会社に渡るファイル", "会社の回答を記録", "デスクをホットラインにつなぐよう"):  # no operator API here: what to ask for
        assert words in page, words


# ---------------------------------------------------------------- who may do what

def test_the_referral_routes_answer_each_role_as_their_table_says_and_want_their_csrf_token(make_desk, company):
    desk = make_desk()
    company_id = desk.store.add_company(COMPANY, company[1])
    from desk.referral_flow import ReferralDesk

    work = ReferralDesk(desk.settings, desk.store, clock=desk.clock)
    made = work.refer(a_referable_case(desk), company_id, "cai")
    work.record_answer(made.view.referral_id, received_on=date(2026, 11, 20), text=ANSWER_TEXT, remediation_promised=True,
                       files=[("plan.pdf", "application/pdf", FILE_MARKER)], by="cai")
    (file_id,) = [f.file_id for f in work.referrals.answers(made.view.referral_id)[0].files]
    rid = made.view.referral_id
    routes = {  # route -> (method, roles allowed)
        f"/referrals/{rid}": ("get", {"admin", "caseworker"}),
        f"/referrals/{rid}/file": ("get", {"admin", "caseworker"}),
        f"/referrals/{rid}/files/{file_id}": ("get", {"admin", "caseworker"}),
        f"/referrals/{rid}/deliver": ("post", {"admin", "caseworker"}),
        f"/referrals/{rid}/tell-worker": ("post", {"admin", "caseworker"}),
        f"/referrals/{rid}/answer": ("post", {"admin", "caseworker"}),
        f"/companies/{company_id}/contact": ("post", {"admin"}),
    }
    anonymous = desk.client()
    for route, (method, _roles) in routes.items():
        response = getattr(anonymous, method)(route)
        assert response.status_code == 302 and response.location.endswith("/login"), route
    for name, role in (("ada", "admin"), ("cai", "caseworker"), ("ana", "analyst")):
        client = signed_in(desk, name)
        token = csrf_of(client.get("/patterns" if role == "analyst" else "/inbox").text)
        for route, (method, roles) in routes.items():
            data = {"csrf_token": token} if method == "post" else None
            response = getattr(client, method)(route, data=data)
            if role in roles:
                assert response.status_code in (200, 302, 400), (route, role, response.status_code)  # 400: the answer form, empty
            else:
                assert response.status_code == 403, (route, role, response.status_code)
                assert ANSWER_TEXT.encode() not in response.data and FILE_MARKER not in response.data
        if role != "analyst":
            for route, (method, roles) in routes.items():
                if method == "post" and role in roles:  # without its token: refused, and nothing changes
                    assert client.post(route, data={"text": "forged", "remediation": "yes", "received_on": "2026-11-20",
                                                    "webhook_url": "https://evil.example/"}).status_code == 400, route
    assert len(work.referrals.answers(rid)) == 1 and work.referrals.contact(company_id).webhook_url is None
