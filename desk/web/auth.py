"""Signing in and out: password (Argon2id), then the second factor (TOTP), then a fresh server-side session.

Every try is counted on the server before it is checked (desk/signin.py): per browser that
signed in before (its device cookie), per address and per account for any other browser, and
per pending sign-in and per account for codes, recovery codes included (desk/recovery_codes.py).
Setting up the second step shows a QR code drawn here (inline SVG: nothing for the CSP to allow),
then the recovery codes, once. Refusals, wrong codes, waits that begin and
locks all go to the audit log, never with what was typed as a password or a code; a name
that is no account is logged as "-" (it may be a password typed in the wrong box).
"""

from __future__ import annotations

import ipaddress
import secrets
from datetime import timedelta

import pyotp
import segno
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import Markup

from ..recovery_codes import RecoveryCodes
from ..signin import CODES_IN_A_ROW, CODES_PER_SIGNIN
from .forms import ActionForm, CodeForm, LanguageForm, LoginForm, RecoveryForm
from .security import requires

auth = Blueprint("auth", __name__)
DEVICE_LIFETIME = timedelta(days=180)


def _context():
    return current_app.extensions["desk"]


def _recovery_codes() -> RecoveryCodes:
    """The desk's recovery codes (made once per running desk)."""
    context = _context()
    if getattr(context, "recovery_codes", None) is None:
        context.recovery_codes = RecoveryCodes(context.store)
    return context.recovery_codes


# ---------------------------------------------------------------- who is trying: the address and the device

def client_address() -> str:
    """The address the try comes from: the connection's, or the one the trusted proxies name (`desk serve
    --trusted-proxies`, ProxyFix); an IPv6 address counts as its /64, which one machine usually holds whole."""
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return "unknown"
    if address.version == 6 and address.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(getattr(address, "ipv4_mapped", None) or address)


def _device_cookie() -> str:
    return "__Host-desk-device" if current_app.config["SESSION_COOKIE_SECURE"] else "desk-device"


def _devices() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="desk-device")


def _trusted_device(username: str) -> str | None:
    """The id of this browser when `username` signed in fully in it before (and was not reset or disabled since)."""
    cookie = request.cookies.get(_device_cookie())
    if not cookie:
        return None
    try:
        device = _devices().loads(cookie, max_age=int(DEVICE_LIFETIME.total_seconds()))
    except BadSignature:
        return None
    if not isinstance(device, dict) or device.get("u") != username or not isinstance(device.get("n"), str):
        return None
    user = _context().store.user(username)
    return device["n"] if user is not None and device.get("g") == user.generation else None


def _signed_in(user, page: str | None = None):
    """A fresh session, its audit line, and this browser remembered as one the account uses; then the desk, or `page`."""
    context = _context()
    session.clear()  # a new id at sign-in: nothing from before survives (no fixation)
    session["sid"] = context.store.new_session(user, context.clock())
    context.store.audit(user.username, "sign_in", user.username, now=context.clock())
    response = current_app.make_response(page) if page is not None else redirect(url_for("cases.home"))
    device = _devices().dumps({"u": user.username, "n": secrets.token_urlsafe(16), "g": user.generation})
    response.set_cookie(_device_cookie(), device, max_age=int(DEVICE_LIFETIME.total_seconds()), path="/",
                        secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True, samesite="Strict")
    return response


# ---------------------------------------------------------------- the password

def _slowed_down(form, refusal, now):
    seconds = refusal.seconds(now)
    if seconds is None:
        flash(_("Too many wrong tries for this account. Ask an admin to unlock it."), "error")
    else:
        flash(_("Too many wrong tries. Try again in %(minutes)d minute(s).", minutes=max(1, (seconds + 59) // 60)), "error")
    response = current_app.make_response((render_template("login.html", form=form), 429))
    if seconds is not None:
        response.headers["Retry-After"] = str(seconds)
    return response


@auth.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("login.html", form=form)
    context = _context()
    guard, now, username = context.signins, context.clock(), form.username.data.strip()
    client, device = client_address(), _trusted_device(username)
    counted = guard.try_password(username, client, device, now)
    if counted.refused:
        return _slowed_down(form, counted.refused, now)
    user = context.store.check_password(username, form.password.data, now)
    if user is None:
        known = context.store.user(username)
        actor = known.username if known else "-"
        reason = "no such account" if known is None else ("account disabled" if known.disabled else "wrong password")
        context.store.audit(actor, "sign_in_refused", actor, reason, now=now)
        for scope, wait in counted.slows:
            detail = f"{scope}: held until an admin unlocks it" if wait is None else f"{scope}: next try in {int(wait.total_seconds())} s"
            context.store.audit(actor, "sign_in_slowed", actor, detail, now=now)
        flash(_("Wrong username or password, or the account is locked for a while."), "error")
        return render_template("login.html", form=form), 401
    guard.password_right(username, client, device)
    if guard.second_step_locked(user.username):
        context.store.audit(user.username, "sign_in_refused", user.username, "second step locked", now=now)
        flash(_("This account's second step is locked after too many wrong codes. Ask an admin to unlock it."), "error")
        return render_template("login.html", form=form), 423
    secret = context.store.totp_secret(user.username)
    if secret or user.totp_required:
        session.clear()
        session["pending"] = guard.start_pending(user.username, now, None if secret else pyotp.random_base32())
        return redirect(url_for("auth.second_factor" if secret else "auth.enroll"))
    return _signed_in(user)


# ---------------------------------------------------------------- the second step

def _pending():
    """(pending sign-in, user) of this browser, or None (and the cookie cleared) when there is none any more."""
    context, pending_id = _context(), session.get("pending")
    pending = context.signins.pending(pending_id, context.clock()) if isinstance(pending_id, str) else None
    user = context.store.user(pending.username) if pending else None
    if user is None or user.disabled:
        session.clear()
        return None
    return pending, user


def _verify_code(username: str, secret: str, code: str) -> bool:
    """The code is right for now (or 30 s either side) and its time step was not used before (no replay)."""
    totp, now = pyotp.TOTP(secret), _context().clock().timestamp()
    for offset in (-1, 0, 1):
        at = now + offset * totp.interval
        if totp.at(at) == code:
            return _context().store.use_totp_step(username, int(at // totp.interval))
    return False


def _over(message: str):
    session.clear()
    flash(message, "error")
    return redirect(url_for("auth.login"))


def _check_code(pending, user, totp_secret: str, form, template: str, enrolling: bool = False, **values):
    """Count the code, then check it: a session when right; a wrong code is audited, and ends the sign-in or locks as due."""
    context = _context()
    store, now = context.store, context.clock()
    counted = context.signins.try_code(pending, now)
    if counted is None:
        locked = context.signins.second_step_locked(user.username)
        return _over(_("This account's second step is locked after too many wrong codes. Ask an admin to unlock it.") if locked
                     else _("Too many wrong codes. Sign in again."))
    code = form.code.data.strip()
    if enrolling and pyotp.TOTP(totp_secret).verify(code, for_time=now, valid_window=1):
        store.enroll_totp(user.username, totp_secret)
        _verify_code(user.username, totp_secret, code)  # this code is now used
        store.audit(user.username, "totp_enrolled", user.username, now=now)
        context.signins.code_right(pending)
        return _signed_in(user, _new_recovery_codes(user.username, first=True))
    if not enrolling and _verify_code(user.username, totp_secret, code):
        context.signins.code_right(pending)
        return _signed_in(user)
    return _wrong_code(pending, user, counted, template, form=form, **values)


def _wrong_code(pending, user, counted, template: str, **values):
    """A wrong code (or recovery code), counted already: audited; it ends the sign-in or locks the second step as due."""
    context = _context()
    store, now = context.store, context.clock()
    store.audit(user.username, "totp_refused", user.username,
                f"wrong code {counted.number} of {CODES_PER_SIGNIN} in this sign-in, {counted.in_a_row} in a row", now=now)
    if counted.locks_account:
        store.audit(user.username, "totp_locked", user.username, f"{counted.in_a_row} wrong codes in a row", now=now)
        context.signins.end_pending(pending.pending_id)
        return _over(_("This account's second step is locked after too many wrong codes. Ask an admin to unlock it."))
    if counted.ends_signin:
        context.signins.end_pending(pending.pending_id)
        return _over(_("Too many wrong codes. Sign in again."))
    flash(_("That code is not right, or was used already."), "error")
    return render_template(template, **values), 401


def _new_recovery_codes(username: str, first: bool = False) -> str:
    """Ten new recovery codes (the old ones void), audited, on the page that shows them: the only time they are shown."""
    context = _context()
    codes = _recovery_codes().replace(username)
    context.store.audit(username, "recovery_codes_made", username, f"{len(codes)} codes", now=context.clock())
    return render_template("recovery_codes.html", codes=codes, first=first)


def _qr_code(uri: str) -> Markup:
    """The otpauth link as a QR code in inline SVG: drawn here from the link alone, so safe to put in the page as is."""
    return Markup(segno.make(uri, error="m").svg_inline(scale=5, light="#fff", title=None, svgclass="qr"))  # noqa: S704


@auth.route("/login/code", methods=["GET", "POST"])
def second_factor():
    found = _pending()
    if found is None:
        return redirect(url_for("auth.login"))
    pending, user = found
    secret = _context().store.totp_secret(user.username)
    if secret is None:
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        return _check_code(pending, user, secret, form, "code.html")
    return render_template("code.html", form=form)


@auth.route("/login/enroll", methods=["GET", "POST"])
def enroll():
    """First sign-in of an account that needs a second factor: show a new secret, confirm it with a code."""
    found = _pending()
    if found is None or found[0].new_secret is None:
        return redirect(url_for("auth.login"))
    pending, user = found
    secret = pending.new_secret
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name="Grievance desk")
    form = CodeForm()
    if form.validate_on_submit():
        return _check_code(pending, user, secret, form, "enroll.html", enrolling=True, secret=secret, uri=uri, qr=_qr_code(uri))
    return render_template("enroll.html", form=form, secret=secret, uri=uri, qr=_qr_code(uri))


@auth.route("/login/recovery", methods=["GET", "POST"])
def recovery():
    """The second step with a recovery code instead of the app's code: counted like a code, each code once, audited."""
    found = _pending()
    if found is None or _context().store.totp_secret(found[1].username) is None:
        return redirect(url_for("auth.login"))
    pending, user = found
    form = RecoveryForm()
    if not form.validate_on_submit():
        return render_template("recovery.html", form=form)
    context = _context()
    counted = context.signins.try_code(pending, context.clock())
    if counted is None:
        locked = context.signins.second_step_locked(user.username)
        return _over(_("This account's second step is locked after too many wrong codes. Ask an admin to unlock it.") if locked
                     else _("Too many wrong codes. Sign in again."))
    left = _recovery_codes().use(user.username, form.code.data, context.clock())
    if left is None:
        return _wrong_code(pending, user, counted, "recovery.html", form=form)
    context.store.audit(user.username, "recovery_code_used", user.username, f"{left} left", now=context.clock())
    context.signins.code_right(pending)
    response = _signed_in(user)  # a new session: the message goes in it, after
    flash(_("Signed in with a recovery code; %(count)d left. Make new ones under “Recovery codes” at the top of the page.",
            count=left), "info" if left > 2 else "error")
    return response


@auth.route("/account/recovery-codes", methods=["GET", "POST"])
@requires("admin", "caseworker", "analyst")
def recovery_codes():
    """How many recovery codes are left; new ones (the old ones void) for a current code from the app."""
    context = _context()
    username, form = g.user.username, CodeForm()
    secret = context.store.totp_secret(username)
    left = _recovery_codes().left(username)
    if secret is None or not form.validate_on_submit():
        return render_template("account_codes.html", form=form, left=left, enrolled=secret is not None)
    if context.signins.second_step_locked(username):
        flash(_("This account's second step is locked after too many wrong codes. Ask an admin to unlock it."), "error")
        return render_template("account_codes.html", form=form, left=left, enrolled=True), 423
    if not _verify_code(username, secret, form.code.data.strip()):
        in_a_row = context.signins.code_wrong(username, context.clock())
        context.store.audit(username, "totp_refused", username, f"wrong code for new recovery codes, {in_a_row} in a row",
                            now=context.clock())
        if in_a_row >= CODES_IN_A_ROW:
            context.store.audit(username, "totp_locked", username, f"{in_a_row} wrong codes in a row", now=context.clock())
        flash(_("That code is not right, or was used already."), "error")
        return render_template("account_codes.html", form=form, left=left, enrolled=True), 401
    return _new_recovery_codes(username)


@auth.route("/logout", methods=["POST"])
@requires("admin", "caseworker", "analyst")
def logout():
    form = ActionForm()
    if form.validate_on_submit():
        context = _context()
        context.store.end_session(session.get("sid", ""))
        context.store.audit(g.user.username, "sign_out", g.user.username, now=context.clock())
        session.clear()
    return redirect(url_for("auth.login"))


@auth.route("/language", methods=["POST"])
@requires("admin", "caseworker", "analyst")
def language():
    form = LanguageForm()
    if form.validate_on_submit():
        _context().store.set_language(g.user.username, form.language.data)
    return redirect(url_for("cases.home"))
