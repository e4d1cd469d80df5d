"""Signing in to the desk under attack: guessing the second factor, locking staff out, and what the audit log keeps.

The second security audit (issue 20) found that the count of wrong TOTP codes lived in the
client's signed session cookie (replaying it gave 19 guesses), that signing in again opened a
fresh window of guesses, that five wrong passwords from anywhere locked any account for 15
minutes, and that wrong codes left no audit line. Each of those is a test here, played the
way the auditor played it, through the real forms.
"""

from __future__ import annotations

import pyotp
import pytest

from desk_web_support import PASSWORDS, Clock, Desk, csrf_of


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk(services, clock):
    built = Desk(services, clock)
    built.add_accounts()
    yield built
    built.close()


def client_at(desk, address: str):
    """A browser at `address` (the address the desk sees the connection come from)."""
    client = desk.client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def wrong_code(desk, name: str) -> str:
    """A 6-digit code that is none of the three the desk accepts now."""
    totp, now = pyotp.TOTP(desk.secrets[name]), desk.clock().timestamp()
    right = {totp.at(now + 30 * offset) for offset in (-1, 0, 1)}
    return next(code for code in (f"{n:06d}" for n in range(123456, 999999, 111111)) if code not in right)


def password_step(desk, client, name: str, password: str | None = None):
    page = client.get("/login")
    return client.post("/login", data={"username": name, "password": password or PASSWORDS[name], "csrf_token": csrf_of(page.text)})


def code_step(client, code: str):
    page = client.get("/login/code")
    if page.status_code != 200:
        return page
    return client.post("/login/code", data={"code": code, "csrf_token": csrf_of(page.text)})


def signed_in(client) -> bool:
    return client.get("/inbox").status_code == 200


# ---------------------------------------------------------------- finding 2: the second factor can be guessed

def test_a_replayed_cookie_does_not_give_more_guesses_at_the_code(desk):
    client = client_at(desk, "198.51.100.7")
    assert password_step(desk, client, "ada").location.endswith("/login/code")
    page = client.get("/login/code")
    token = csrf_of(page.text)
    saved = client.get_cookie("__Host-desk", domain="localhost").value  # the cookie before any wrong code
    wrong = wrong_code(desk, "ada")
    for _ in range(19):
        client.set_cookie("__Host-desk", saved, domain="localhost", secure=True)
        client.post("/login/code", data={"code": wrong, "csrf_token": token})
    client.set_cookie("__Host-desk", saved, domain="localhost", secure=True)
    response = client.post("/login/code", data={"code": desk.code("ada"), "csrf_token": token})
    assert not (response.status_code == 302 and response.location.endswith("/inbox")), "the 20th guess signed in"
    assert not signed_in(client)


def test_signing_in_again_with_the_password_opens_no_fresh_window_of_guesses(desk):
    client = client_at(desk, "198.51.100.7")
    wrong = wrong_code(desk, "ada")
    for _ in range(3):  # three sign-ins with the right password, two wrong codes each
        assert password_step(desk, client, "ada").location.endswith("/login/code")
        for _ in range(2):
            code_step(client, wrong)
    password_step(desk, client, "ada")
    code_step(client, desk.code("ada"))
    assert not signed_in(client), "after six wrong codes in a row the account's second step is locked"


# ---------------------------------------------------------------- finding 7: wrong codes leave no audit line

def test_every_wrong_code_leaves_an_audit_line(desk):
    client = client_at(desk, "198.51.100.7")
    password_step(desk, client, "ada")
    code_step(client, wrong_code(desk, "ada"))
    code_step(client, wrong_code(desk, "ada"))
    refused = [entry for entry in desk.store.audit_entries() if entry.action == "totp_refused"]
    assert [entry.actor for entry in refused] == ["ada", "ada"]


# ---------------------------------------------------------------- finding 5: anyone can lock any account

def test_a_stranger_cannot_lock_an_admin_out(desk, clock):
    laptop = client_at(desk, "10.20.0.15")
    assert desk.sign_in(laptop, "ada").status_code == 302 and signed_in(laptop)
    laptop.post("/logout", data={"csrf_token": csrf_of(laptop.get("/inbox").text)})
    clock.advance(hours=15)  # the next morning
    stranger = client_at(desk, "203.0.113.9")
    for _ in range(20):
        password_step(desk, stranger, "ada", "a-wrong-guess-of-hers")
    assert desk.sign_in(laptop, "ada").status_code == 302 and signed_in(laptop), "ada signs in from her own laptop"


# ---------------------------------------------------------------- the throttles, one by one

def wrong_password(desk, client, name: str = "cai"):
    return password_step(desk, client, name, "not-the-password-at-all")


def test_wrong_passwords_from_a_new_browser_slow_it_down_more_and_more(desk, clock):
    client = client_at(desk, "198.51.100.7")
    for _ in range(4):
        assert wrong_password(desk, client).status_code == 401
    expected_waits = [30, 60, 120, 240, 480, 900, 900]  # seconds after the 5th, 6th, ... wrong password
    for wait in expected_waits:
        assert wrong_password(desk, client).status_code == 401
        refused = wrong_password(desk, client)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == str(wait), refused.headers.get("Retry-After")
        assert "Too many wrong tries" in refused.text
        clock.advance(seconds=wait)
    assert desk.sign_in(client, "cai").status_code == 302
    clock.advance(seconds=1)
    for _ in range(4):  # the right password forgave the earlier ones
        assert wrong_password(desk, client_at(desk, "198.51.100.7")).status_code == 401


def test_one_address_trying_many_names_is_slowed_down_too(desk, clock):
    sprayer = client_at(desk, "203.0.113.50")
    for n in range(10):
        assert password_step(desk, sprayer, f"guess{n}", "Winter2026!-guess").status_code == 401
    assert password_step(desk, sprayer, "ana", PASSWORDS["ana"]).status_code == 429, "the address waits, whatever the name"
    assert desk.sign_in(client_at(desk, "203.0.113.51"), "ana").status_code == 302, "another address is not held"
    clock.advance(days=1, seconds=1)
    assert password_step(desk, sprayer, "ana", PASSWORDS["ana"]).status_code == 302, "an address is forgotten after a quiet day"


def test_guessing_from_many_addresses_is_still_held_and_an_admin_unlocks_it(desk, clock):
    laptop = client_at(desk, "10.20.0.16")
    assert desk.sign_in(laptop, "cai").status_code == 302
    clock.advance(minutes=1)
    for n in range(100):  # a botnet: every guess from a new address, each after the account's wait
        assert wrong_password(desk, client_at(desk, f"198.18.{n // 250}.{n % 250 + 1}")).status_code == 401
        clock.advance(minutes=16)
    new_browser = client_at(desk, "10.20.0.99")
    held = desk.sign_in(new_browser, "cai")
    assert held.status_code == 429 and "Ask an admin to unlock it" in held.text and "Retry-After" not in held.headers
    clock.advance(days=30)
    assert desk.sign_in(new_browser, "cai").status_code == 429, "held until an admin unlocks it, however long"
    assert desk.sign_in(laptop, "cai").status_code == 302, "the browser cai uses is not held"
    slowed = [e for e in desk.store.audit_entries() if e.action == "sign_in_slowed"]
    assert slowed[-1].detail == "account: held until an admin unlocks it" and slowed[-1].target == "cai"

    admin = client_at(desk, "10.20.0.15")
    assert desk.sign_in(admin, "ada").status_code == 302
    users = admin.get("/users")
    assert "new browsers held after 100 wrong passwords" in users.text
    assert admin.post("/users/cai/unlock", data={}).status_code == 400, "the unlock form needs its CSRF token"
    assert admin.post("/users/cai/unlock", data={"csrf_token": csrf_of(users.text)}).status_code == 302
    assert desk.sign_in(new_browser, "cai").status_code == 302
    (unlocked,) = [e for e in desk.store.audit_entries() if e.action == "account_unlocked"]
    assert (unlocked.actor, unlocked.target) == ("ada", "cai")


def test_forwarded_for_is_ignored_unless_the_desk_is_told_how_many_proxies_add_it(desk):
    stranger = client_at(desk, "203.0.113.9")
    for n in range(12):  # a new made-up address in the header each time: still one client
        stranger.environ_base["HTTP_X_FORWARDED_FOR"] = f"192.0.2.{n + 1}"
        password_step(desk, stranger, f"guess{n}", "Winter2026!-guess")
    assert password_step(desk, stranger, "ana", PASSWORDS["ana"]).status_code == 429

    from desk.web import create_desk_app

    behind_proxy = create_desk_app(desk.context, trusted_proxies=1).test_client()
    behind_proxy.environ_base.update({"wsgi.url_scheme": "https", "REMOTE_ADDR": "10.0.0.2"})  # the proxy's own address
    for n in range(12):  # the proxy appends the real address; what the client wrote before it is ignored
        behind_proxy.environ_base["HTTP_X_FORWARDED_FOR"] = f"192.0.2.{n + 1}, 198.51.100.23"
        password_step(desk, behind_proxy, f"guess{n}", "Winter2026!-guess")
    assert password_step(desk, behind_proxy, "ana", PASSWORDS["ana"]).status_code == 429, "198.51.100.23 waits"
    behind_proxy.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.24"
    assert password_step(desk, behind_proxy, "ana", PASSWORDS["ana"]).status_code == 302, "another client behind the proxy does not"


# ---------------------------------------------------------------- what the answer and its time reveal

class CountingHasher:
    """The store's Argon2id hasher, counting the slow operations each sign-in makes."""

    def __init__(self, real) -> None:
        self.real, self.calls = real, []

    def verify(self, *args):
        self.calls.append("verify")
        return self.real.verify(*args)

    def hash(self, *args):
        self.calls.append("hash")
        return self.real.hash(*args)

    def check_needs_rehash(self, *args):
        return self.real.check_needs_rehash(*args)


def test_an_unknown_name_a_wrong_password_and_a_disabled_account_look_and_take_the_same(desk, clock):
    desk.store.add_user("gone", "a-former-colleague-1", "caseworker")
    desk.store.set_disabled("gone", True)
    hasher = desk.store.hasher = CountingHasher(desk.store.hasher)
    wrong_password(desk, client_at(desk, "198.51.100.1"), "cai")  # the first sign-in makes the decoy hash
    answers = {}
    for name, password in [("nobody-here", "some-password-1234"), ("cai", "some-password-1234"), ("gone", "a-former-colleague-1")]:
        hasher.calls.clear()
        response = password_step(desk, client_at(desk, "198.51.100.2"), name, password)
        answers[name] = (response.status_code, response.text.split('name="csrf_token"')[0], response.text.split("</form>")[1])
        assert hasher.calls == ["verify"], (name, hasher.calls)
    assert len(set(answers.values())) == 1, "the same page for an unknown name, a wrong password and a disabled account"
    for name in ("nobody-here", "cai"):  # a wait is the same for names that exist and names that do not
        client = client_at(desk, "198.51.100.3")
        for _ in range(5):
            password_step(desk, client, name, "some-password-1234")
        hasher.calls.clear()
        assert password_step(desk, client, name, "some-password-1234").status_code == 429
        assert hasher.calls == [], "a try refused by a wait checks no password"


def test_the_audit_log_keeps_no_text_typed_in_the_username_box(desk):
    client = client_at(desk, "198.51.100.7")
    password_step(desk, client, PASSWORDS["cai"], PASSWORDS["cai"])  # the password typed in both boxes
    refused = [e for e in desk.store.audit_entries() if e.action == "sign_in_refused"]
    assert [(e.actor, e.target, e.detail) for e in refused] == [("-", "-", "no such account")]
    logged = " ".join(" ".join(map(str, e.__dict__.values())) for e in desk.store.audit_entries())
    assert PASSWORDS["cai"] not in logged


# ---------------------------------------------------------------- the second step

def test_three_wrong_codes_end_a_sign_in_and_five_in_a_row_lock_the_account_until_an_admin_unlocks_it(desk, clock, services):
    client = client_at(desk, "198.51.100.7")
    wrong = wrong_code(desk, "ada")
    password_step(desk, client, "ada")
    assert code_step(client, wrong).status_code == 401
    assert code_step(client, wrong).status_code == 401
    ended = code_step(client, wrong)
    assert ended.status_code == 302 and ended.location.endswith("/login")
    assert client.get("/login/code").location.endswith("/login"), "that sign-in is over"
    password_step(desk, client, "ada")
    code_step(client, wrong)
    locked = code_step(client, wrong)  # the fifth wrong code in a row for ada
    assert locked.status_code == 302 and "locked" in client.get("/login").text
    refused = password_step(desk, client, "ada")
    assert refused.status_code == 423 and "Ask an admin to unlock it" in refused.text
    clock.advance(days=2)
    assert password_step(desk, client, "ada").status_code == 423, "a locked second step waits for an admin"
    actions = [e.action for e in desk.store.audit_entries()]
    assert actions.count("totp_refused") == 5 and actions.count("totp_locked") == 1
    details = [e.detail for e in desk.store.audit_entries() if e.action == "totp_refused"]
    assert details[2] == "wrong code 3 of 3 in this sign-in, 3 in a row" and details[4] == "wrong code 2 of 3 in this sign-in, 5 in a row"
    assert wrong not in " ".join(e.detail for e in desk.store.audit_entries()), "the code typed is not logged"

    from test_desk_web import run

    desk.store.add_user("bea", "second-admin-pass-01", "admin")  # another admin, or the command line
    result = run(services.settings, "desk", "user", "unlock", "ada")
    assert result.exit_code == 0 and "ada unlocked" in result.output
    (unlocked,) = [e for e in desk.store.audit_entries() if e.action == "account_unlocked"]
    assert (unlocked.actor, unlocked.target) == ("cli", "ada")
    clock.advance(seconds=30)
    assert desk.sign_in(client, "ada").status_code == 302 and signed_in(client)
    assert run(services.settings, "desk", "user", "unlock", "nobody").exit_code == 1


def test_wrong_codes_sent_all_at_once_are_counted_before_they_are_checked(desk):
    import threading

    client = client_at(desk, "198.51.100.7")
    password_step(desk, client, "ada")
    token = csrf_of(client.get("/login/code").text)
    cookie = client.get_cookie("__Host-desk", domain="localhost").value
    wrong, statuses = wrong_code(desk, "ada"), []

    def guess() -> None:
        racer = client_at(desk, "198.51.100.7")
        racer.set_cookie("__Host-desk", cookie, domain="localhost", secure=True)
        statuses.append(racer.post("/login/code", data={"code": wrong, "csrf_token": token}).status_code)

    racers = [threading.Thread(target=guess) for _ in range(12)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert sorted(statuses).count(401) <= 2 and len(statuses) == 12
    assert [e.action for e in desk.store.audit_entries()].count("totp_refused") == 3, "three codes were looked at, no more"


def test_the_secret_being_set_up_is_kept_on_the_server_not_in_the_cookie(desk, clock):
    import base64
    import zlib

    desk.store.add_user("newadmin", "new-admin-passphrase", "admin")
    client = client_at(desk, "198.51.100.7")
    assert password_step(desk, client, "newadmin", "new-admin-passphrase").location.endswith("/login/enroll")
    page = client.get("/login/enroll")
    secret = page.text.split('id="totp-secret">')[1].split("<")[0]
    cookie = client.get_cookie("__Host-desk", domain="localhost").value
    payload = cookie.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    decoded = zlib.decompress(raw) if cookie.startswith(".") else raw
    assert secret.encode() not in decoded and b"new_secret" not in decoded
    assert client.get("/login/enroll").text.split('id="totp-secret">')[1].split("<")[0] == secret, "the same secret on reload"
    code = pyotp.TOTP(secret).at(clock().timestamp())
    enrolled = client.post("/login/enroll", data={"code": code, "csrf_token": csrf_of(page.text)})
    assert enrolled.status_code == 200 and 'id="recovery-codes"' in enrolled.text  # signed in, shown its recovery codes once
    assert signed_in(client)
