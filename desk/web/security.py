"""Who may do what: sign-in state, roles, and the headers every page carries.

Deny by default: a view that does not say which roles may use it answers 403 to everyone,
and every request but the sign-in pages needs a live session. Sessions are server-side
(desk/store.py): the cookie (`__Host-desk`, Secure, HttpOnly, SameSite=Strict) carries a
random session id, signed; idle (30 min) and absolute (8 h) limits are checked on every
request, and a new id is made at sign-in (no fixation).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, current_app, g, redirect, request, session, url_for

OPEN_ENDPOINTS = {"auth.login", "auth.second_factor", "auth.enroll", "auth.recovery", "static", "patterns.css"}
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; media-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")


def requires(*roles: str) -> Callable:
    """Let only these roles use the view (admins are named where they may)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def checked(*args, **kwargs):
            user = g.get("user")
            if user is None or user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        checked.desk_roles = roles
        return checked

    return decorate


def load_user() -> object | None:
    """Before every request: the signed-in user, or a redirect to sign in; views without roles are refused."""
    context = current_app.extensions["desk"]
    g.user = None
    sid = session.get("sid")
    if sid:
        g.user = context.store.session_user(sid, context.clock())
        if g.user is None:
            session.clear()
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None:
        return None  # 404 follows
    if g.user is None:
        return redirect(url_for("auth.login"))
    if not getattr(view, "desk_roles", None):
        abort(403)  # a view that names no roles is closed
    return None


def secure_headers(response):
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    return response
