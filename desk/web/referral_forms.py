"""The forms of a referral's follow-up (Flask-WTF, each with its CSRF token), and how files reach the desk.

A company's answer may come with files (a letter, a remediation plan, photos). They reach
the desk in one multipart form, held in memory (never a temporary file on disk: `DeskRequest`)
until they are encrypted into the store; only that form may be larger than the desk's
usual 64 KiB (`allow_answer_files`, before the CSRF check reads the form).
"""

from __future__ import annotations

import io

from flask import Request, request
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .forms import options

ANSWER_FILES_MAX_BYTES = 10 * 1024 * 1024  # all files of one answer together
ANSWER_FILES_MAX_COUNT = 10
UPLOAD_ENDPOINTS = frozenset({"referrals.record_answer"})


class DeskRequest(Request):
    """The desk's request: uploaded files stay in memory (at most ANSWER_FILES_MAX_BYTES) until they are encrypted."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return io.BytesIO()


def allow_answer_files() -> None:
    """Before the form is read: the answer form may carry files; every other form keeps the desk's small limit."""
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = ANSWER_FILES_MAX_BYTES + 64 * 1024


class AnswerForm(FlaskForm):
    received_on = DateField("Received on", validators=[DataRequired()])
    text = TextAreaField("What the company answered (or a summary)", validators=[DataRequired(), Length(max=20000)])
    remediation = SelectField("Remediation promised", choices=options([("", "-"), ("yes", "yes"), ("no", "no")]),
                              validators=[DataRequired()])
    files = MultipleFileField("Files it sent (letter, plan, photos)")


class ContactForm(FlaskForm):
    webhook_url = StringField("Webhook (https://...)", validators=[Optional(), Length(max=500)])
    webhook_secret = StringField("Where its secret is: env:VARIABLE or file:PATH", validators=[Optional(), Length(max=300)])
    email = StringField("E-mail address", validators=[Optional(), Length(max=254)])
