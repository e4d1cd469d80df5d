"""Signing in and out: password (Argon2id), then the second factor (TOTP), then a fresh server-side session."""

from __future__ import annotations

import time

import pyotp
from flask import Blueprint, current_app, flash, g, redirect, render_template, session, url_for
from flask_babel import gettext as _

from .forms import ActionForm, CodeForm, LanguageForm, LoginForm
from .security import requires

auth = Blueprint("auth", __name__)
PENDING_SECONDS = 300  # between the password and the code
MAX_CODE_TRIES = 5


def _context():
    return current_app.extensions["desk"]


def _start_session(user) -> None:
    context = _context()
    session.clear()  # a new id at sign-in: nothing from before survives (no fixation)
    session["sid"] = context.store.new_session(user, context.clock())
    context.store.audit(user.username, "sign_in", user.username, now=context.clock())


@auth.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        context = _context()
        user = context.store.check_password(form.username.data.strip(), form.password.data, context.clock())
        if user is None:
            context.store.audit(form.username.data.strip()[:64] or "-", "sign_in_refused", now=context.clock())
            flash(_("Wrong username or password, or the account is locked for a while."), "error")
            return render_template("login.html", form=form), 401
        session.clear()
        session["pending"] = {"username": user.username, "since": time.time(), "tries": 0}
        if context.store.totp_secret(user.username):
            return redirect(url_for("auth.second_factor"))
        if user.totp_required:
            return redirect(url_for("auth.enroll"))
        session.pop("pending")
        _start_session(user)
        return redirect(url_for("cases.home"))
    return render_template("login.html", form=form)


def _pending_user():
    pending = session.get("pending")
    if not pending or time.time() - pending["since"] > PENDING_SECONDS:
        session.clear()
        return None
    user = _context().store.user(pending["username"])
    return None if user is None or user.disabled else user


def _verify_code(username: str, secret: str, code: str) -> bool:
    """The code is right for now (or 30 s either side) and its time step was not used before (no replay)."""
    totp, now = pyotp.TOTP(secret), _context().clock().timestamp()
    for offset in (-1, 0, 1):
        at = now + offset * totp.interval
        if totp.at(at) == code:
            return _context().store.use_totp_step(username, int(at // totp.interval))
    return False


def _second_factor_failed(form, template: str, **values):
    pending = session.get("pending") or {}
    pending["tries"] = pending.get("tries", 0) + 1
    if pending["tries"] >= MAX_CODE_TRIES:
        session.clear()
        flash(_("Too many wrong codes. Sign in again."), "error")
        return redirect(url_for("auth.login"))
    session["pending"] = pending
    flash(_("That code is not right, or was used already."), "error")
    return render_template(template, form=form, **values), 401


@auth.route("/login/code", methods=["GET", "POST"])
def second_factor():
    user = _pending_user()
    if user is None:
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        secret = _context().store.totp_secret(user.username)
        if secret and _verify_code(user.username, secret, form.code.data.strip()):
            _start_session(user)
            return redirect(url_for("cases.home"))
        return _second_factor_failed(form, "code.html")
    return render_template("code.html", form=form)


@auth.route("/login/enroll", methods=["GET", "POST"])
def enroll():
    """First sign-in of an account that needs a second factor: show a new secret, confirm it with a code."""
    user = _pending_user()
    if user is None:
        return redirect(url_for("auth.login"))
    pending = session["pending"]
    if "new_secret" not in pending:
        pending["new_secret"] = pyotp.random_base32()
        session["pending"] = pending
    secret = pending["new_secret"]
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name="Grievance desk")
    form = CodeForm()
    if form.validate_on_submit():
        if pyotp.TOTP(secret).verify(form.code.data.strip(), for_time=_context().clock(), valid_window=1):
            _context().store.enroll_totp(user.username, secret)
            _verify_code(user.username, secret, form.code.data.strip())  # this code is now used
            _context().store.audit(user.username, "totp_enrolled", user.username, now=_context().clock())
            _start_session(user)
            return redirect(url_for("cases.home"))
        return _second_factor_failed(form, "enroll.html", secret=secret, uri=uri)
    return render_template("enroll.html", form=form, secret=secret, uri=uri)


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
