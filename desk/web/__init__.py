"""The desk: a web console for a team of case workers, on the operator's side (Flask application factory).

It runs on the mechanism's own machine (`grievance desk serve`, 127.0.0.1:8090; a reverse
proxy with TLS in front for a team), never on the intake server: it holds the operator's
private key, opens the cases pulled from the queue, and keeps the team's work beside them
(desk/store.py). Blueprints: `auth` (sign-in with Argon2id passwords and TOTP), `cases`
(inbox, list, case page, notes, assignment, status, dialogue, referral), `referrals` (a referral's
file, deliveries and the company's answers), `admin` (audit log, companies, accounts), `patterns`
(the pattern report) and `duty` (pages to the person on duty). Server-rendered Jinja pages,
forms with CSRF tokens (Flask-WTF), a strict Content-Security-Policy and no script at all.
The console speaks English and Japanese (Flask-Babel), chosen per user.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, render_template
from flask_babel import Babel, gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from storage import crypto

from .admin import admin
from .auth import auth
from .cases import cases
from .context import DeskContext
from .duty import duty
from .labels import labels
from .problems import DESK_FAILED
from .exports import exports
from .patterns import patterns
from .referral_forms import DeskRequest, allow_answer_files
from .referrals import referrals
from .security import load_user, secure_headers
from .mutes import mutes
from .triage import triage

LANGUAGES = ("en", "ja")
TRANSLATIONS = Path(__file__).parent / "translations"


def _compiled_translations() -> str:
    """The console's gettext catalogs compiled to a private folder (only the .po files are in the repository)."""
    folder = Path(tempfile.mkdtemp(prefix="grievance-desk-i18n-"))
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        target = folder / po.relative_to(TRANSLATIONS).with_suffix(".mo")
        target.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as source, target.open("wb") as out:
            write_mo(out, read_po(source))
    return str(folder)


def create_desk_app(context: DeskContext, *, secure_cookies: bool = True, trusted_proxies: int = 0) -> Flask:
    """The desk for this context (tests build theirs with a temporary store).

    `trusted_proxies`: how many reverse proxies in front of the desk append to X-Forwarded-For; the
    sign-in throttles then take the client's address from that header, counted from the right. 0 (the
    default) ignores the header: anyone can write it, and a forged one would make every try a new client.
    """
    app = Flask("grievance-desk", template_folder=str(Path(__file__).parent / "templates"),
                static_folder=str(Path(__file__).parent / "static"))
    app.config.update(
        SECRET_KEY=crypto.desk_session_key(context.cases_store.key),
        SESSION_COOKIE_NAME="__Host-desk" if secure_cookies else "desk",
        SESSION_COOKIE_SECURE=secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        WTF_CSRF_TIME_LIMIT=8 * 3600,
        WTF_CSRF_SSL_STRICT=secure_cookies,
        MAX_CONTENT_LENGTH=64 * 1024,
        BABEL_TRANSLATION_DIRECTORIES=_compiled_translations(),
    )
    app.extensions["desk"] = context
    app.request_class = DeskRequest  # uploaded files stay in memory until encrypted
    if trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted_proxies, x_proto=0, x_host=0, x_port=0, x_prefix=0)
    app.before_request(load_user)  # first: an anonymous request is sent to sign in before anything else is looked at
    app.before_request(allow_answer_files)  # before the CSRF check reads the form: only the answer form may carry files
    CSRFProtect(app)
    Babel(app, locale_selector=lambda: g.user.language if g.get("user") and g.user.language in LANGUAGES else "en")
    for blueprint in (auth, cases, admin, patterns, exports, duty, referrals, triage, mutes, labels):
        app.register_blueprint(blueprint)
    app.after_request(secure_headers)

    @app.errorhandler(CSRFError)
    def csrf_refused(error):
        return render_template("error.html", message=_("The form had expired or was not from this desk. Nothing was changed.")), 400

    @app.errorhandler(400)
    def incomplete(error):
        return render_template("error.html", message=_("The form was incomplete or not valid. Nothing was changed.")), 400

    @app.errorhandler(500)
    def failed(error):  # Flask has logged the exception; the case worker gets a sentence in their language
        return render_template("error.html", message=str(DESK_FAILED)), 500

    @app.errorhandler(403)
    def forbidden(error):
        return render_template("error.html", message=_("Your role does not allow this page.")), 403

    @app.errorhandler(404)
    def missing(error):
        return render_template("error.html", message=_("No such page or case.")), 404

    @app.context_processor
    def common():
        return {"user": g.get("user"), "last_pulled": context.last_pulled, "languages": LANGUAGES}

    return app
