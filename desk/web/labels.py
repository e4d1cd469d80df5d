"""The words the desk shows for stored values (statuses, roles, channels, languages, delivery states...).

The store keeps codes (`in_dialogue`, `caseworker`, `sms`, `bn`); a case worker reads words in their
own language. Every value label of the console is here, in one place, as lazy gettext strings
(translated when the page is rendered, in the user's language), and reaches the templates as
filters: `{{ case.status|status_label }}`. A value with no label here is shown as it is stored, so a
new code is never hidden; tests/test_desk_language.py checks that every code the desk knows has its
label and every label its Japanese.
"""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from flask import Blueprint
from flask_babel import get_locale, lazy_gettext as _l

from desk.reach import CHANNEL_NAMES

labels = Blueprint("labels", __name__)

STATUS_LABELS = {
    "received": _l("received"),
    "acknowledged": _l("acknowledged"),
    "in_review": _l("in review"),
    "in_dialogue": _l("in dialogue"),
    "resolved": _l("resolved"),
    "closed": _l("closed"),
}
ROLE_LABELS = {"admin": _l("admin"), "caseworker": _l("case worker"), "analyst": _l("analyst")}
DELIVERY_LABELS = {"pending": _l("waiting for a try"), "delivered": _l("delivered"), "failed": _l("failed")}
CHANNEL_LABELS = {**CHANNEL_NAMES, "console": _l("console (a test chat)"), "voice": _l("phone call")}  # brand names read the same in every language
PROFILE_LABELS = {
    "internal": _l("internal"),
    "public": _l("public"),
    "redacted": _l("redacted: no contact, no photos, no case code, no words"),
    "full": _l("full: everything"),
}
ANY = _l("any")
# The audit log's actions (the codes stay in the log and in `desk audit`; the page shows words).
ACTION_LABELS = {
    "account_unlocked": _l("account unlocked"), "assigned": _l("assigned"), "attachment_opened": _l("photo or voice note opened"),
    "answer_recording_opened": _l("worker's recorded answer opened"),
    "audit_read": _l("audit log read"), "bulk_assigned": _l("all cases of a person moved"), "case_opened": _l("case opened"),
    "cli": _l("command line"), "company_added": _l("company added"),
    "company_answer_file_opened": _l("company's answer file opened"), "company_answer_recorded": _l("company's answer recorded"),
    "company_contact_set": _l("where a company gets referrals set"), "exported": _l("exported"), "labels_set": _l("labels set"),
    "note_added": _l("note added"), "page_ack": _l("page acknowledged"), "referral_delivery": _l("referral delivered"),
    "referral_delivery_retried": _l("referral delivery tried again"), "referral_downloaded": _l("referral file downloaded"),
    "referral_exported": _l("referral exported"), "referred": _l("referred to the company"), "reply_sent": _l("reply sent"),
    "report_viewed": _l("report viewed"), "sign_in": _l("signed in"), "sign_in_refused": _l("sign-in refused"),
    "sign_in_slowed": _l("sign-in slowed down"), "sign_out": _l("signed out"), "status_changed": _l("status changed"),
    "totp_enrolled": _l("second step set up"), "totp_locked": _l("second step locked"), "totp_refused": _l("code refused"),
    "user_added": _l("account added"), "user_disabled": _l("account disabled"), "user_enabled": _l("account enabled"),
    "user_reset": _l("account reset"), "worker_told_of_referral": _l("worker told of the referral"),
    "category_changed": _l("category changed"), "case_linked": _l("cases linked"), "case_unlinked": _l("case link removed"),
    "sender_muted": _l("sender muted"), "sender_unmuted": _l("sender no longer muted"),
    "recovery_code_used": _l("signed in with a recovery code"), "recovery_codes_made": _l("new recovery codes made"),
}


def _label(table: dict, value) -> str:
    return str(table.get(value, value)) if value is not None else "-"


@labels.app_template_filter("status_label")
def status_label(status: str) -> str:
    return _label(STATUS_LABELS, status)


@labels.app_template_filter("role_label")
def role_label(role: str) -> str:
    return _label(ROLE_LABELS, role)


@labels.app_template_filter("delivery_label")
def delivery_label(state: str) -> str:
    return _label(DELIVERY_LABELS, state)


@labels.app_template_filter("channel_label")
def channel_label(channel: str) -> str:
    return _label(CHANNEL_LABELS, channel)


@labels.app_template_filter("action_label")
def action_label(action: str) -> str:
    return _label(ACTION_LABELS, action)


@labels.app_template_filter("audit_verdict")
def audit_verdict(intact: bool) -> str:
    """The audit log's check in one sentence; the technical detail (lines, heads) follows it as the check wrote it."""
    return str(_l("The audit log is intact.") if intact else
               _l("The audit log's check failed: it may have been changed or cut. Tell the mechanism's board now, "
                                     "and keep this page."))


@labels.app_template_filter("language_label")
def language_label(code: str) -> str:
    """A worker's language by its name in the reader's language ("bn" is "ベンガル語" to a Japanese reader)."""
    try:
        return Locale.parse(code).get_display_name(get_locale() or "en") or code
    except (ValueError, TypeError, UnknownLocaleError):
        return code or "-"


def choices(table: dict, values) -> list[tuple[str, object]]:
    """(value, label) pairs for a select field: the labels stay lazy, so each page shows its reader's words."""
    return [(value, table.get(value, value)) for value in values]
