"""Setting up the second step (issue 22): a QR code drawn on the server, the secret behind "can't scan?", and
recovery codes: shown once, kept as Argon2id hashes, each good once instead of a code, their use audited."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
import segno
from sqlalchemy import select

from desk_web_support import Clock, Desk, csrf_of

NEW = ("newadmin", "new-admin-passphrase")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk(services, clock):
    built = Desk(services, clock)
    built.add_accounts()
    built.store.add_user(*NEW, "admin")
    yield built
    built.close()


def _password(client, name: str, password: str):
    page = client.get("/login")
    return client.post("/login", data={"username": name, "password": password, "csrf_token": csrf_of(page.text)})


def _enrolment_page(desk):
    client = desk.client()
    assert _password(client, *NEW).location.endswith("/login/enroll")
    return client, client.get("/login/enroll")


def _otpauth(page: str) -> str:
    found = re.search(r'id="totp-uri"[^>]*>([^<]+)<', page)
    assert found, "the otpauth link is on the page"
    return html.unescape(found.group(1))


def _enrol(desk, clock):
    """A first sign-in through the enrolment page: (client, the page shown after the right code)."""
    client, page = _enrolment_page(desk)
    secret = parse_qs(urlparse(_otpauth(page.text)).query)["secret"][0]
    done = client.post("/login/enroll", data={"code": pyotp.TOTP(secret).at(clock().timestamp()), "csrf_token": csrf_of(page.text)})
    return client, done, secret


def _recovery_codes(page: str) -> list[str]:
    listed = re.search(r'<ol id="recovery-codes"[^>]*>(.*?)</ol>', page, re.S)
    assert listed, "the recovery codes are shown"
    return re.findall(r"<code>([^<]+)</code>", listed.group(1))


def test_the_enrolment_page_draws_the_qr_code_on_the_server_and_hides_the_secret_behind_cant_scan(desk):
    _client, page = _enrolment_page(desk)
    assert page.status_code == 200
    uri = _otpauth(page.text)
    assert uri.startswith("otpauth://totp/") and "issuer=" in uri
    svg = re.search(r'<figure id="totp-qr"[^>]*>\s*(<svg.*?</svg>)', page.text, re.S)
    assert svg, "an inline SVG QR code"
    # The QR code holds exactly the link shown under "can't scan?": drawn from it, module for module.
    expected = segno.make(uri, error="m").svg_inline(scale=5, light="#fff", title=None)
    assert re.findall(r' d="([^"]+)"', svg.group(1)) == re.findall(r' d="([^"]+)"', expected)
    # Inline markup only: nothing the Content-Security-Policy would block (no script, no style attribute).
    assert "<script" not in svg.group(1) and "style=" not in svg.group(1)
    csp = page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "script-src" not in csp
    # The secret and the link are there for whoever cannot scan, behind a disclosure that needs no script.
    disclosure = re.search(r'<details id="cant-scan">\s*<summary>([^<]+)</summary>(.*?)</details>', page.text, re.S)
    assert disclosure and "scan" in disclosure.group(1)
    assert 'id="totp-secret"' in disclosure.group(2) and 'id="totp-uri"' in disclosure.group(2)
    assert 'id="totp-secret"' not in page.text.split('<details id="cant-scan">')[0]


def test_recovery_codes_are_shown_once_kept_as_argon2_hashes_and_each_signs_in_once(desk, clock):
    from desk.recovery_codes import desk_recovery_codes

    client, done, secret = _enrol(desk, clock)
    assert done.status_code == 200, "the codes are on the answer to the right code, and nowhere else later"
    codes = _recovery_codes(done.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/inbox").status_code == 200, "signed in"
    with desk.store.engine.connect() as connection:
        rows = connection.execute(select(desk_recovery_codes).where(desk_recovery_codes.c.username == NEW[0])).mappings().all()
    assert len(rows) == 10 and all(row["code_hash"].startswith("$argon2id$") for row in rows)
    stored = repr([dict(row) for row in rows])
    assert not any(code in stored or code.replace("-", "") in stored for code in codes)
    assert "recovery_codes_made" in [e.action for e in desk.store.audit_entries()]

    # A lost phone: the password, then one recovery code instead of the app's code (typed loosely).
    browser = desk.client()
    assert _password(browser, *NEW).location.endswith("/login/code")
    assert "/login/recovery" in browser.get("/login/code").text
    page = browser.get("/login/recovery")
    typed = "  " + codes[3].upper().replace("-", " ") + " "
    used = browser.post("/login/recovery", data={"code": typed, "csrf_token": csrf_of(page.text)})
    assert used.status_code == 302
    inbox = browser.get("/inbox")
    assert inbox.status_code == 200 and "Signed in with a recovery code; 9 left." in inbox.text
    (entry,) = [e for e in desk.store.audit_entries() if e.action == "recovery_code_used"]
    assert entry.actor == NEW[0] and entry.detail == "9 left"
    assert codes[3] not in repr(desk.store.audit_entries())

    # The same code a second time: refused, counted like a wrong code.
    again = desk.client()
    _password(again, *NEW)
    page = again.get("/login/recovery")
    refused = again.post("/login/recovery", data={"code": codes[3], "csrf_token": csrf_of(page.text)})
    assert refused.status_code == 401 and again.get("/inbox").status_code == 302
    assert [e.action for e in desk.store.audit_entries()].count("totp_refused") == 1


def test_new_recovery_codes_need_a_current_code_and_void_the_old_ones(desk, clock):
    client, done, secret = _enrol(desk, clock)
    old = _recovery_codes(done.text)
    page = client.get("/account/recovery-codes")
    assert page.status_code == 200 and "10" in page.text
    wrong = client.post("/account/recovery-codes", data={"code": "000000", "csrf_token": csrf_of(page.text)})
    assert wrong.status_code == 401 and 'id="recovery-codes"' not in wrong.text
    clock.advance(seconds=30)
    made = client.post("/account/recovery-codes",
                       data={"code": pyotp.TOTP(secret).at(clock().timestamp()), "csrf_token": csrf_of(page.text)})
    new = _recovery_codes(made.text)
    assert made.status_code == 200 and len(new) == 10 and not set(new) & set(old)
    assert [e.action for e in desk.store.audit_entries()].count("recovery_codes_made") == 2
    other = desk.client()
    _password(other, *NEW)
    page = other.get("/login/recovery")
    assert other.post("/login/recovery", data={"code": old[0], "csrf_token": csrf_of(page.text)}).status_code == 401
    assert other.post("/login/recovery", data={"code": new[0], "csrf_token": csrf_of(page.text)}).status_code == 302


def test_the_recovery_pages_are_closed_to_anonymous_visitors_and_open_to_every_signed_in_role(desk):
    anonymous = desk.client()
    for path in ("/account/recovery-codes", "/login/recovery"):
        assert anonymous.get(path).location.endswith("/login"), path
        assert anonymous.post(path).status_code in (302, 400), path  # sent to sign in, or refused without its CSRF token
    assert anonymous.get("/inbox").status_code == 302
    for name in ("ada", "cai", "ana"):
        client = desk.client()
        assert desk.sign_in(client, name).status_code == 302
        page = client.get("/account/recovery-codes")
        assert page.status_code == 200
        assert ('id="codes-left"' in page.text) == (name == "ada"), name  # only ada has a second step here
