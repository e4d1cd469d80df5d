"""The desk's web console: who may do what, sign-in, sessions, CSRF, the audit chain, referrals, a case worker's actions.

Route x role tables cover every page and form for anonymous visitors and each role;
every form is also posted without its CSRF token; sign-in is tested for fixation,
lock-out, TOTP replay and the idle and absolute session limits. The real-browser day
is in tests/test_desk_browser.py.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pyotp
import pytest
from click.testing import CliRunner
from pyrage import x25519
from sqlalchemy import select, text, update

from bot.cli import cli
from desk.audit import desk_audit
from desk.store import DeskError, desk_notes
from desk_web_support import PASSWORDS, Clock, Desk, csrf_of

CASE_TEXT = "The line supervisor locks the fire exit during the night shift"
NOTE_TEXT = "Called the labour inspector; visit planned"


def make_record(case_id: str | None = None, *, urgent: bool = False, category: str = "safety", referral: bool | None = None,
                received: str = "2026-11-18T10:00:00Z", workplace: str = "Sunrise Garments Ltd", language: str = "en") -> dict:
    answers = {"workplace": workplace, "location": "Gazipur", "brand": None, "when": "last week", "ongoing": True,
               "people_affected": 40, "urgent": urgent, "contact_consent": False}
    if referral is not None:
        answers["referral_consent"] = referral
    return {
        "schema_version": 1, "case_id": case_id or str(uuid.uuid4()), "code": "41234567890126",
        "received_at": received, "acknowledge_by": "2026-11-25", "channel": "sms", "language": language,
        "category": category, "urgent": urgent, "description": CASE_TEXT, "answers": answers,
        "nlu": {"backend": "builtin", "suggested_category": category, "confidence": 0.8, "urgent_signal": urgent},
        "contact": None,
    }


@pytest.fixture
def clock() -> Clock:
    return Clock()


def referral_flow() -> list[dict]:
    """The shipped questions, and the one that lets the desk refer the problem to the company."""
    return [
        {"id": "category", "kind": "category"}, {"id": "workplace", "kind": "text", "entity": "workplace"},
        {"id": "location", "kind": "text", "entity": "place"}, {"id": "brand", "kind": "text", "optional": True},
        {"id": "when", "kind": "text", "entity": "time"}, {"id": "ongoing", "kind": "yes_no"},
        {"id": "people_affected", "kind": "number", "entity": "people"}, {"id": "urgent", "kind": "yes_no", "marks_urgent": True},
        {"id": "contact_consent", "kind": "yes_no", "grants_contact": True},
        {"id": "referral_consent", "kind": "yes_no", "grants_referral": True},
    ]


@pytest.fixture
def referral_settings(settings_with):
    return settings_with(flow={"questions": referral_flow()})


@pytest.fixture
def desk(services, clock):
    built = Desk(services, clock)
    built.add_accounts()
    for record in (make_record(urgent=True), make_record(category="wages", workplace="Rahman Knitwear"), make_record(referral=True)):
        built.cases_store.add(record)
    built.context.refresh()
    yield built
    built.close()


def case_ids(desk) -> list[str]:
    return sorted(desk.context.cases)


def signed_in(desk, name: str):
    client = desk.client()
    response = desk.sign_in(client, name)
    assert response.status_code == 302, response.text
    return client


# ---------------------------------------------------------------- who may do what

GET_ROUTES = ["/", "/inbox", "/cases", "/cases/{case}", "/cases/{case}/attachments/0", "/cases/bulk-assign", "/audit",
              "/companies", "/users", "/patterns", "/export"]
POST_ROUTES = ["/pull", "/cases/{case}/note", "/cases/{case}/assign", "/cases/{case}/labels", "/cases/{case}/status",
               "/cases/{case}/reply", "/cases/{case}/refer", "/cases/bulk-assign", "/companies", "/users/cai/state", "/logout",
               "/language", "/users/cai/unlock"]
ALLOWED = {  # route -> roles that may use it
    "/": {"admin", "caseworker", "analyst"}, "/inbox": {"admin", "caseworker"}, "/cases": {"admin", "caseworker"},
    "/cases/{case}": {"admin", "caseworker"}, "/cases/{case}/attachments/0": {"admin", "caseworker"},
    "/cases/bulk-assign": {"admin"}, "/audit": {"admin"}, "/companies": {"admin"}, "/users": {"admin"},
    "/patterns": {"admin", "analyst"}, "/pull": {"admin", "caseworker"}, "/cases/{case}/note": {"admin", "caseworker"},
    "/cases/{case}/assign": {"admin", "caseworker"}, "/cases/{case}/labels": {"admin", "caseworker"},
    "/cases/{case}/status": {"admin", "caseworker"}, "/cases/{case}/reply": {"admin", "caseworker"},
    "/cases/{case}/refer": {"admin", "caseworker"}, "/users/cai/state": {"admin"}, "/users/cai/unlock": {"admin"}, "/logout": {"admin", "caseworker", "analyst"},
    "/language": {"admin", "caseworker", "analyst"}, "/export": {"admin"},
}


@pytest.mark.parametrize("route", GET_ROUTES + POST_ROUTES)
def test_anonymous_visitors_are_sent_to_sign_in_and_see_nothing(desk, route):
    client = desk.client()
    path = route.format(case=case_ids(desk)[0])
    response = client.post(path) if route in POST_ROUTES and route not in GET_ROUTES else client.get(path)
    assert response.status_code == 302 and response.location.endswith("/login")
    assert CASE_TEXT not in response.text


@pytest.mark.parametrize("name", ["ada", "cai", "ana"])
def test_every_page_answers_each_role_as_the_table_says(desk, name):
    client = signed_in(desk, name)
    role = {"ada": "admin", "cai": "caseworker", "ana": "analyst"}[name]
    case = case_ids(desk)[0]
    for route in GET_ROUTES:
        response = client.get(route.format(case=case))
        if role in ALLOWED[route]:
            assert response.status_code in (200, 302, 404), (route, response.status_code)  # 404: the case has no attachment
        else:
            assert response.status_code == 403, (route, role, response.status_code)
            assert CASE_TEXT not in response.text
    token = csrf_of(client.get("/patterns" if role == "analyst" else "/inbox").text)
    for route in POST_ROUTES:
        if route in ("/logout",):
            continue
        response = client.post(route.format(case=case), data={"csrf_token": token})
        if role not in ALLOWED[route]:
            assert response.status_code == 403, (route, role, response.status_code)


def test_a_view_that_names_no_roles_is_closed_to_everyone(desk):
    from desk.web.security import OPEN_ENDPOINTS

    for endpoint, view in desk.app.view_functions.items():
        assert endpoint in OPEN_ENDPOINTS or getattr(view, "desk_roles", None), endpoint


def test_an_analyst_never_sees_case_content(desk):
    client = signed_in(desk, "ana")
    for path in ["/patterns", "/patterns?start=2026-01-01&end=2026-11-30&profile=internal"]:
        response = client.get(path)
        assert response.status_code == 200 and CASE_TEXT not in response.text


# ---------------------------------------------------------------- forms without their token change nothing

@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_form_without_its_csrf_token_is_a_400_and_nothing_changes(desk, token):
    client = signed_in(desk, "cai")
    case = case_ids(desk)[0]
    data = {"text": NOTE_TEXT} | ({"csrf_token": token} if token is not None else {})
    assert client.post(f"/cases/{case}/note", data=data).status_code == 400
    data = {"status": "acknowledged", "reason": "read"} | ({"csrf_token": token} if token is not None else {})
    assert client.post(f"/cases/{case}/status", data=data).status_code == 400
    with desk.cases_store.engine.connect() as connection:
        assert connection.execute(select(desk_notes)).first() is None
    assert desk.cases_store.history(case) == []


# ---------------------------------------------------------------- signing in

def test_sign_in_makes_a_new_session_id_and_sign_out_ends_it(desk):
    client = desk.client()
    client.get("/login")
    before = client.get_cookie("__Host-desk", domain="localhost")
    assert desk.sign_in(client, "cai").status_code == 302
    after = client.get_cookie("__Host-desk", domain="localhost")
    assert after is not None and (before is None or before.value != after.value)
    assert after.secure and after.http_only and after.same_site == "Strict"
    stolen = after.value
    assert client.get("/inbox").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/inbox").text)})
    thief = desk.client()
    thief.set_cookie("__Host-desk", stolen, domain="localhost", secure=True)
    assert thief.get("/inbox").status_code == 302  # the old session is gone on the server


def test_every_page_carries_a_strict_content_security_policy(desk):
    client = signed_in(desk, "ada")
    for path in ["/login", "/inbox", f"/cases/{case_ids(desk)[0]}", "/patterns", "/audit"]:
        response = client.get(path)
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy and "'unsafe-inline'" not in policy
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "<script" not in response.text and " style=" not in response.text.split("<svg")[0]


def test_five_wrong_passwords_make_a_new_browser_wait_for_a_while(desk, clock):
    client = desk.client()
    for _ in range(5):
        page = client.get("/login")
        assert client.post("/login", data={"username": "cai", "password": "wrong-password-123", "csrf_token": csrf_of(page.text)}).status_code == 401
    refused = desk.sign_in(client, "cai")  # the right password, but the wait is on (tests/test_desk_signin.py: the rest)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "30"
    clock.advance(seconds=31)
    assert desk.sign_in(client, "cai").status_code == 302


def test_a_totp_code_works_once(desk):
    first = desk.client()
    assert desk.sign_in(first, "ada").status_code == 302
    replay = desk.client()
    page = replay.get("/login")
    replay.post("/login", data={"username": "ada", "password": PASSWORDS["ada"], "csrf_token": csrf_of(page.text)})
    page = replay.get("/login/code")
    response = replay.post("/login/code", data={"code": desk.code("ada"), "csrf_token": csrf_of(page.text)})
    assert response.status_code == 401, "the same code, replayed"
    page = replay.get("/login/code")
    assert replay.post("/login/code", data={"code": desk.code("ada", 1), "csrf_token": csrf_of(page.text)}).status_code == 302


def test_an_admin_without_a_second_step_must_set_one_up(desk, clock):
    desk.store.add_user("newadmin", "new-admin-passphrase", "admin")
    client = desk.client()
    page = client.get("/login")
    response = client.post("/login", data={"username": "newadmin", "password": "new-admin-passphrase", "csrf_token": csrf_of(page.text)})
    assert response.location.endswith("/login/enroll")
    page = client.get("/login/enroll")
    secret = page.text.split('id="totp-secret">')[1].split("<")[0]
    assert client.get("/inbox").status_code == 302, "no session before the second step"
    code = pyotp.TOTP(secret).at(clock().timestamp())
    enrolled = client.post("/login/enroll", data={"code": code, "csrf_token": csrf_of(page.text)})
    assert enrolled.status_code == 200 and 'id="recovery-codes"' in enrolled.text  # its recovery codes, shown once
    assert client.get("/inbox").status_code == 200


@pytest.mark.parametrize(("idle", "alive"), [({"minutes": 29}, True), ({"minutes": 31}, False)])
def test_an_idle_session_ends_after_30_minutes(desk, clock, idle, alive):
    client = signed_in(desk, "cai")
    clock.advance(**idle)
    assert (client.get("/inbox").status_code == 200) is alive


def test_a_session_ends_after_8_hours_however_busy(desk, clock):
    client = signed_in(desk, "cai")
    for _ in range(16):  # 7 h 44 min of work, never idle for 30 minutes
        clock.advance(minutes=29)
        assert client.get("/inbox").status_code == 200
    clock.advance(minutes=29)  # 8 h 13 min after signing in
    assert client.get("/inbox").status_code == 302


def test_a_reset_or_disabled_account_loses_its_sessions(desk):
    client = signed_in(desk, "cai")
    desk.store.set_disabled("cai", True)
    assert client.get("/inbox").status_code == 302
    assert desk.sign_in(desk.client(), "cai").status_code == 401


# ---------------------------------------------------------------- a case worker's actions

def test_notes_assignment_labels_and_status_are_kept_and_audited(desk, clock):
    client = signed_in(desk, "cai")
    case = case_ids(desk)[0]
    page = client.get(f"/cases/{case}")
    assert CASE_TEXT in page.text
    token = csrf_of(page.text)
    client.post(f"/cases/{case}/note", data={"text": NOTE_TEXT, "csrf_token": token})
    client.post(f"/cases/{case}/assign", data={"assignee": "cai", "csrf_token": token})
    client.post(f"/cases/{case}/labels", data={"labels": "fire, night shift", "csrf_token": token})
    client.post(f"/cases/{case}/status", data={"status": "acknowledged", "reason": "read by the team", "csrf_token": token})
    page = client.get(f"/cases/{case}")
    assert NOTE_TEXT in page.text and 'id="status">acknowledged' in page.text
    assert desk.store.assignments()[case] == "cai" and desk.store.labels()[case] == ["fire", "night shift"]
    assert [c.to_status for c in desk.cases_store.history(case)] == ["acknowledged"]
    mine = client.get("/cases?assignee=cai")
    assert case[:8] in mine.text
    actions = [e.action for e in desk.store.audit_entries()]
    for action in ("sign_in", "case_opened", "note_added", "assigned", "labels_set", "status_changed"):
        assert action in actions
    logged = json.dumps([e.__dict__ for e in desk.store.audit_entries()])
    assert NOTE_TEXT not in logged and CASE_TEXT not in logged, "the audit log says who and what, never content"
    with desk.cases_store.engine.connect() as connection:
        blob = connection.execute(select(desk_notes.c.body)).scalar_one()
    assert NOTE_TEXT.encode() not in blob, "notes are encrypted at rest"


def test_search_and_filters(desk):
    client = signed_in(desk, "cai")
    assert client.get("/cases?q=rahman").text.count("/cases/") >= 1
    rahman = client.get("/cases?q=rahman knitwear")
    assert "1 cases." in rahman.text
    assert "1 cases." in client.get("/cases?urgent=1").text
    assert "2 cases." in client.get("/cases?category=safety").text
    assert "0 cases." in client.get("/cases?q=nothing-like-this").text


def test_the_inbox_shows_an_urgent_banner_and_new_cases(desk):
    client = signed_in(desk, "cai")
    inbox = client.get("/inbox")
    assert 'id="urgent-banner"' in inbox.text
    urgent = next(c for c in desk.context.cases.values() if c.record["urgent"])
    client.get(f"/cases/{urgent.case_id}")
    assert urgent.case_id[:8] not in client.get("/inbox").text.split("New cases")[1].split("New answers")[0]


def test_bulk_assignment_when_someone_leaves(desk):
    for case in case_ids(desk):
        desk.store.assign(case, "cai", "ada", datetime.now(UTC))
    desk.store.add_user("dee", "another-caseworker-1", "caseworker")
    client = signed_in(desk, "ada")
    page = client.get("/cases/bulk-assign")
    client.post("/cases/bulk-assign", data={"from_user": "cai", "to_user": "dee", "csrf_token": csrf_of(page.text)})
    assert set(desk.store.assignments().values()) == {"dee"}
    with pytest.raises(DeskError):
        desk.store.assign(case_ids(desk)[0], "ana", "ada", datetime.now(UTC))  # analysts hold no cases


def test_the_console_speaks_japanese_to_a_japanese_case_worker(desk):
    desk.store.set_language("cai", "ja")
    client = signed_in(desk, "cai")
    inbox = client.get("/inbox")
    assert "受信箱" in inbox.text and "新しい案件" in inbox.text
    page = client.get(f"/cases/{case_ids(desk)[0]}")
    assert "内部メモ" in page.text


# ---------------------------------------------------------------- referrals

@pytest.fixture
def referral_desk(referral_settings, clock):
    from bot.services import build_services
    from storage.keys import init_keys

    init_keys(referral_settings, dev_operator_key=True)
    services = build_services(referral_settings)
    built = Desk(services, clock)
    built.add_accounts()
    yield built
    built.close()
    services.close()


def test_a_referral_shows_a_preview_then_seals_only_the_problem_to_the_companys_key(referral_desk):
    desk = referral_desk
    agreed, declined = make_record(referral=True), make_record(referral=False)
    desk.cases_store.add(agreed)
    desk.cases_store.add(declined)
    desk.context.refresh()
    company_key = x25519.Identity.generate()
    company_id = desk.store.add_company("Sunrise Garments Ltd", str(company_key.to_public()))
    client = signed_in(desk, "cai")
    page = client.get(f"/cases/{declined['case_id']}")
    assert "did not agree" in page.text
    refused = client.post(f"/cases/{declined['case_id']}/refer", data={"company": company_id, "csrf_token": csrf_of(page.text)})
    assert refused.status_code == 302 and desk.store.referrals() == []
    page = client.get(f"/cases/{agreed['case_id']}")
    preview = client.post(f"/cases/{agreed['case_id']}/refer", data={"company": company_id, "csrf_token": csrf_of(page.text)})
    assert preview.status_code == 200 and "referral-preview" in preview.text
    assert agreed["code"] not in preview.text and CASE_TEXT not in preview.text
    assert desk.store.referrals() == [], "nothing is sent before the case worker confirms"
    client.post(f"/cases/{agreed['case_id']}/refer", data={"company": company_id, "confirm": "yes", "csrf_token": csrf_of(preview.text)})
    (referral,) = desk.store.referrals()
    assert referral["referred_by"] == "cai"
    from pyrage import decrypt

    opened = json.loads(decrypt(desk.store.sealed_referral(referral["referral_id"]), [company_key]))
    assert opened["category"] == "safety" and opened["about_the_workplace"]["workplace"] == "Sunrise Garments Ltd"
    serialized = json.dumps(opened)
    for absent in (agreed["code"], CASE_TEXT, "contact_consent", "sms"):
        assert absent not in serialized
    assert "referred" in [e.action for e in desk.store.audit_entries()]
    from datetime import date

    from desk.reports.facts import read_facts
    from desk.reports.build import build_report

    report = build_report(read_facts(desk.cases_store, date(2026, 11, 30), ["referral_consent"]), start=date(2026, 11, 1),
                          end=date(2026, 11, 30), profile="internal", categories=desk.settings.flow.categories)
    assert report.referred == 1 and [line.company for line in report.grievance_list].count("Sunrise Garments Ltd") == 1


# ---------------------------------------------------------------- the audit chain

def run(settings, *args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), obj={"settings": settings}, input=input, catch_exceptions=False)


def test_the_audit_chain_detects_an_edited_a_removed_and_a_cut_off_line(desk, services):
    for n in range(6):
        desk.store.audit("cai", "case_opened", case_ids(desk)[n % 3])
    settings = services.settings
    result = run(settings, "desk", "audit", "verify")
    assert result.exit_code == 0 and "6 lines, chain intact" in result.output
    with desk.cases_store.engine.begin() as connection:
        connection.execute(update(desk_audit).where(desk_audit.c.seq == 3).values(actor="someone-else"))
    result = run(settings, "desk", "audit", "verify")
    assert result.exit_code == 1 and "line 3 was changed" in result.output
    with desk.cases_store.engine.begin() as connection:
        connection.execute(update(desk_audit).where(desk_audit.c.seq == 3).values(actor="cai"))
        connection.execute(text("DELETE FROM desk_audit WHERE seq = 4"))
    assert "line 4 is missing" in run(settings, "desk", "audit", "verify").output
    with desk.cases_store.engine.begin() as connection:
        connection.execute(text("DELETE FROM desk_audit WHERE seq >= 4"))
    result = run(settings, "desk", "audit", "verify")
    assert result.exit_code == 1 and "cut off" in result.output


def test_desk_users_are_managed_from_the_command_line(services):
    settings = services.settings
    result = run(settings, "desk", "user", "add", "boss", "--role", "admin", input="long-admin-password\nlong-admin-password\n")
    assert result.exit_code == 0 and "second step" in result.output
    assert run(settings, "desk", "user", "add", "x", "--role", "admin", input="short\nshort\n").exit_code == 1
    listed = run(settings, "desk", "user", "list").output
    assert "boss\tadmin\ttotp pending\tactive" in listed
    assert run(settings, "desk", "user", "disable", "boss").exit_code == 0
    assert "disabled" in run(settings, "desk", "user", "list").output


def test_the_operator_key_can_be_kept_under_a_passphrase(services, tmp_path, monkeypatch):
    from storage import crypto
    from storage.keys import load_operator_identity

    settings = services.settings
    protected = tmp_path / "protected-identity.age"
    result = run(settings, "desk", "protect-key", "-o", str(protected), input="a long passphrase here\na long passphrase here\n")
    assert result.exit_code == 0, result.output
    identity = load_operator_identity(settings.path(settings.operator.identity_file))
    assert identity.encode() not in protected.read_bytes() and oct(protected.stat().st_mode & 0o777) == "0o600"
    assert crypto.unlock_identity(protected.read_bytes(), "a long passphrase here") == identity
    with pytest.raises(crypto.DecryptionError):
        crypto.unlock_identity(protected.read_bytes(), "the wrong passphrase")
    monkeypatch.setenv("GRIEVANCE_DESK_PASSPHRASE", "a long passphrase here")
    assert run(settings, "desk", "user", "list", "--key", str(protected)).exit_code == 0


def test_the_patterns_page_shows_the_report_without_inline_styles(desk):
    client = signed_in(desk, "ana")
    page = client.get("/patterns?start=2026-11-01&end=2026-11-30&profile=internal")
    assert page.status_code == 200 and "Cases by category" in page.text
    assert "Where the cases stand" in page.text and "<td>received</td>" in page.text, "an English reader's report, as ever"
    assert "data:image/svg+xml;base64," in page.text and "<svg" not in page.text
    assert client.get("/patterns/report.css").status_code == 200


def test_no_stale_timestamps_leak_from_the_clock(desk, clock):
    # The desk takes time from its clock only: a case opened now is stamped now, to the second.
    client = signed_in(desk, "cai")
    client.get(f"/cases/{case_ids(desk)[0]}")
    assert desk.store.audit_entries()[-1].at == clock().strftime("%Y-%m-%dT%H:%M:%SZ")


def test_an_admin_exports_from_the_page_encrypted_to_the_partner_and_nothing_stays(desk, tmp_path):
    from pyrage import decrypt

    partner = x25519.Identity.generate()
    client = signed_in(desk, "ada")
    page = client.get("/export")
    refused = client.post("/export", data={"profile": "redacted", "recipients": "not-a-key", "csrf_token": csrf_of(page.text)})
    assert refused.status_code == 400 and "exported" not in [e.action for e in desk.store.audit_entries()]
    response = client.post("/export", data={"profile": "redacted", "recipients": str(partner.to_public()), "csrf_token": csrf_of(page.text)})
    assert response.status_code == 200 and response.headers["Content-Disposition"].startswith("attachment")
    data = response.data
    response.close()  # the desk's temporary file goes with it
    lines = decrypt(data, [partner]).decode().splitlines()
    assert len(lines) == 3
    for line in lines:
        record = json.loads(line)
        assert record["contact"] is None and record["description"] == "[withheld]" and record["mechanism"]["profile"] == "redacted"
    assert CASE_TEXT.encode() not in data
    (entry,) = [e for e in desk.store.audit_entries() if e.action == "exported"]
    assert entry.detail.startswith("3 cases, redacted")
    caseworker = signed_in(desk, "cai")
    assert caseworker.get("/export").status_code == 403


def test_the_reply_box_counts_the_sms_messages_before_sending(desk):
    client = signed_in(desk, "cai")
    case = case_ids(desk)[0]
    page = client.get(f"/cases/{case}")
    text = "আপনার মজুরির বিষয়ে কারখানার সাথে কথা বলেছি। শুক্রবারের মধ্যে বাকি টাকা দেওয়ার কথা। টাকা পেলে জানাবেন?"
    counted = client.post(f"/cases/{case}/reply", data={"text": text, "action": "count", "csrf_token": csrf_of(page.text)})
    # Alone the text is 2 UCS-2 segments (103 characters); the worker receives it worded in the case's
    # language (English here: "Message from the hotline...", "To answer, just reply here."): 175, 3 segments.
    assert counted.status_code == 200 and "3 paid message(s) (UCS-2, 175 characters)" in counted.text
    assert "To answer, just reply here." in counted.text
    assert text in counted.text, "the text stays in the box"
    assert "reply_sent" not in [e.action for e in desk.store.audit_entries()], "counting sends nothing"
