"""The public Flask app (application factory): health now, channel webhooks as they are enabled.

The operator-facing surface is a separate app (it comes with the operator
API); this one faces the internet and holds only what workers' channels need.
Errors never show a stack trace: any failure is a plain JSON status.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from .services import Services

log = logging.getLogger(__name__)


def create_app(services: Services) -> Flask:
    """The public app for these services (tests build theirs with a temporary database)."""
    app = Flask("grievance")
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024  # webhooks are small; refuse anything bigger
    app.extensions["grievance"] = services
    enabled = list(services.adapters)
    for adapter in services.adapters.values():
        adapter.register(app)

    @app.get("/health")
    def health():
        try:
            with services.db.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            log.exception("health check: database unreachable")
            return jsonify(status="unavailable"), 503
        return jsonify(status="ok", channels=enabled)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return jsonify(error=error.name), error.code

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("request failed")
        return jsonify(error="temporarily unavailable, please retry"), 503

    return app
