"""The Twilio signature check computes one signature for a genuine request, and answers exactly what
twilio's `RequestValidator.validate` answers for every request, genuine or not."""

from __future__ import annotations

import itertools
from unittest import mock

import pytest
from flask import Flask, request
from twilio.request_validator import RequestValidator

from channels.twilio_inbound import verify_signature

TOKEN = "7c2e9d4b1a8f6e3c5d0b9a7f2e4c6d81"
FORM = {"From": "+8801711000000", "Body": "They did not pay us \u09ac\u09c7\u09a4\u09a8 & more", "MessageSid": "SM" + "0" * 32,
        "NumMedia": "0"}
# (public URL as configured, the URL Twilio signed): the port as Twilio may or may not write it.
URLS = [
    ("https://hotline.example.org", "https://hotline.example.org"),
    ("https://hotline.example.org", "https://hotline.example.org:443"),
    ("https://hotline.example.org:443", "https://hotline.example.org"),
    ("https://hotline.example.org:8443", "https://hotline.example.org:8443"),
    ("https://hotline.example.org:8443", "https://hotline.example.org"),
    ("http://hotline.example.org/", "http://hotline.example.org:80"),
    ("https://hotline.example.org", "https://other.example.org"),
]
PATHS = [("/webhooks/twilio", ""), ("/webhooks/twilio/status", "ob=abc&x=%C3%A9"), ("/webhooks/twilio", "a=1&a=2")]


def signatures(signed_url: str, form: dict) -> list[str]:
    genuine = RequestValidator(TOKEN).compute_signature(signed_url, form)
    return [genuine, genuine[:-2] + "AA", RequestValidator("another token").compute_signature(signed_url, form), "", "é\u00ff"]


@pytest.mark.parametrize(("public_url", "signed_base"), URLS)
def test_same_answer_as_twilios_validate(public_url, signed_base):
    app = Flask(__name__)
    validator = RequestValidator(TOKEN)
    answers = set()
    for (path, query), form in itertools.product(PATHS, [FORM, {}, {**FORM, "Body": ""}]):
        signed_url = signed_base.rstrip("/") + path + ("?" + query if query else "")
        for signature in signatures(signed_url, form):
            headers = {"X-Twilio-Signature": signature} if signature else {}
            with app.test_request_context(path, method="POST", data=form, headers=headers, query_string=query):
                ours = verify_signature(validator, public_url, request)
                url = public_url.rstrip("/") + request.path + ("?" + request.query_string.decode() if request.query_string else "")
                theirs = bool(signature) and validator.validate(url, request.form, signature)
            assert ours == theirs, (public_url, signed_url, signature)
            answers.add(ours)
    assert answers == ({True, False} if "other" not in signed_base else {False})


def test_a_genuine_request_costs_one_signature():
    app = Flask(__name__)
    validator = RequestValidator(TOKEN)
    signature = validator.compute_signature("https://hotline.example.org/webhooks/twilio", FORM)
    with app.test_request_context("/webhooks/twilio", method="POST", data=FORM, headers={"X-Twilio-Signature": signature}):
        with mock.patch.object(validator, "compute_signature", wraps=validator.compute_signature) as computed:
            assert verify_signature(validator, "https://hotline.example.org", request)
    assert computed.call_count == 1
