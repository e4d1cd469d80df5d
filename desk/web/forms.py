"""The desk's forms (Flask-WTF): every one carries a CSRF token, checked before the view runs."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice
from wtforms import BooleanField, DateField, HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from desk.lifecycle import STATUSES

from .labels import ANY, PROFILE_LABELS, STATUS_LABELS, choices


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as the choices of a select field."""
    return [SelectChoice(value, label) for value, label in pairs]


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


class CodeForm(FlaskForm):
    code = StringField("Code from your authenticator app", validators=[DataRequired(), Regexp(r"^\s*\d{6}\s*$")])


class RecoveryForm(FlaskForm):
    """One of the recovery codes shown when the second step was set up (spaces, hyphens and capitals are ignored)."""

    code = StringField("Recovery code", validators=[DataRequired(), Regexp(r"^[\sA-Za-z0-9-]{10,30}$")])


class ActionForm(FlaskForm):
    """A button that changes something and needs nothing else (sign out, pull now)."""


class NoteForm(FlaskForm):
    text = TextAreaField("Internal note (never shown to the worker)", validators=[DataRequired(), Length(max=5000)])


class AssignForm(FlaskForm):
    assignee = SelectField("Assigned to", choices=[], validate_choice=False)


class LabelsForm(FlaskForm):
    labels = StringField("Labels (comma-separated)", validators=[Length(max=400)])


class StatusForm(FlaskForm):
    status = SelectField("New status", choices=options(choices(STATUS_LABELS, STATUSES)))
    reason = TextAreaField("Reason (kept encrypted, not shown to the worker)", validators=[DataRequired(), Length(max=2000)])


class ReplyForm(FlaskForm):
    text = TextAreaField("Message to the worker", validators=[DataRequired(), Length(max=1000)])


class ReferForm(FlaskForm):
    company = SelectField("Company", choices=[], validate_choice=False)
    confirm = HiddenField()


class CompanyForm(FlaskForm):
    name = StringField("Company", validators=[DataRequired(), Length(max=200)])
    recipient = StringField("Its age public key (age1...)", validators=[DataRequired(), Regexp(r"^\s*age1[0-9a-z]{58}\s*$")])


class BulkAssignForm(FlaskForm):
    from_user = SelectField("Cases of", choices=[], validate_choice=False)
    to_user = SelectField("Give them to", choices=[], validate_choice=False)


class PatternsForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that only reads

    start = DateField("From", validators=[DataRequired()])
    end = DateField("To", validators=[DataRequired()])
    profile = SelectField("Profile", choices=options(choices(PROFILE_LABELS, ("internal", "public"))))
    categories = SelectField("Categories", choices=options([("desk", _l("as the case workers set them")),
                                                           ("filed", _l("as filed on the hotline (internal only)"))]),
                             default="desk")


class LanguageForm(FlaskForm):
    language = SelectField("Language", choices=options([("en", "English"), ("ja", "日本語")]))


class UserStateForm(FlaskForm):
    disabled = BooleanField()


class ExportForm(FlaskForm):
    profile = SelectField("Profile", choices=options(choices(PROFILE_LABELS, ("redacted", "full"))))
    include_text = BooleanField("Redacted: keep the description and text answers")
    recipients = TextAreaField("The partner's age public keys, one a line (age1...)", validators=[DataRequired(), Length(max=5000)])
    status = SelectField("Status", choices=options([("", ANY), *choices(STATUS_LABELS, STATUSES)]), default="", validate_choice=False)
    urgent = BooleanField("Urgent only")
    since = DateField("Received from", validators=[Optional()])
    until = DateField("Received to", validators=[Optional()])
