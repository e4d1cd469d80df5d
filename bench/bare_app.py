"""The ceiling: a bare Flask app on the same gunicorn settings, answering every webhook with fixed TwiML.

It parses the form like the real route and returns a reply of the same size,
but checks no signature and touches no database: what the machine can do for
HTTP alone. `bench/http_bench.py` divides the hotline's rate by this one's.
"""

from __future__ import annotations

from flask import Flask, Response, request

TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thank you. What happened? Please describe it in '
    "your own words. You can send several messages; send DONE when you have finished.</Message></Response>"
)


def create_bare_app() -> Flask:
    app = Flask("bare")

    @app.post("/webhooks/twilio")
    def webhook():
        request.form.get("Body")  # parse the body, as the real route must
        return Response(TWIML, mimetype="text/xml")

    @app.get("/health")
    def health():
        return {"status": "ok"}

    return app


app = create_bare_app()
