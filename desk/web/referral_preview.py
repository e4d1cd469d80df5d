"""The referral preview: what the company will get, laid out as a letter for the case worker to read before sealing it.

The document is `ReferralDesk.preview`, the very record that is sealed (its JSON is on the page
too, behind a disclosure, for whoever wants to check the file itself). Here it only gets labels:
in the case worker's language, from the desk's catalog and the bot's question labels; every value
is escaped by the template like any other.
"""

from __future__ import annotations

import json

from flask import g, render_template
from flask_babel import gettext as _

from bot.i18n import Catalogs

from .referrals import referral_desk


def _withheld_names() -> dict[str, str]:
    """The names of what the file leaves out (`desk.referrals.referral_record`'s "withheld"), in the page's language."""
    return {"worker contact": _("the worker's contact"), "case code": _("the case code"), "channel": _("the channel"),
            "attachments": _("attachments"), "the worker's words": _("the worker's own words")}


def preview_page(case, company_id: str, company: str, form, catalogs: Catalogs) -> str:
    """refer.html for `case` and `company`: the letter, the exact file, the routes, and the form that confirms."""
    work = referral_desk()
    document = work.preview(case.record, company)
    language = g.user.language if g.user.language in ("en", "ja") else "en"

    def label(key: str) -> str:
        return catalogs.text(language, f"label.{key}") if catalogs.has(language, f"label.{key}") else key

    names = _withheld_names()
    return render_template(
        "refer.html", case=case, company=company, letter=document, form=form,
        about=[(label(key), value) for key, value in document["about_the_workplace"].items()],
        withheld=[names.get(item, item) for item in document["withheld"]],
        file_json=json.dumps(document, ensure_ascii=False, indent=2), routes=work.referrals.contact(company_id).routes(),
    )
