"""Export from the desk: the existing batch profiles (full, redacted), encrypted to the partner's age keys, downloaded.

The file is made exactly as `grievance export` makes it (desk/export.py: JSON Lines of the
case schema, streamed through age to the recipients) in a private temporary folder, sent,
and removed; the desk never keeps an export. Admins only: a full export holds every word
and photo. The audit log records who exported how many cases with which profile, never what.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from flask import Blueprint, current_app, flash, g, render_template, request, send_file
from flask_babel import gettext as _

from desk.export import write_export
from desk.lifecycle import STATUSES
from desk.operator_store import CaseFilter

from .forms import ExportForm
from .security import requires

exports = Blueprint("exports", __name__)


def _recipients(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


@exports.route("/export", methods=["GET", "POST"])
@requires("admin")
def export():
    context = current_app.extensions["desk"]
    form = ExportForm()
    if request.method == "GET":
        return render_template("export.html", form=form)
    if not form.validate_on_submit():
        return render_template("export.html", form=form), 400
    from storage import crypto

    recipients = _recipients(form.recipients.data)
    try:
        crypto.export_recipients(recipients)
    except crypto.CryptoError:  # its words quote what was typed, in English: the page says it in the reader's language
        flash(_("Each line must be one age public key (age1...): check the keys the partner gave you.")
              if recipients else _("Give at least one age public key (age1...)."), "error")
        return render_template("export.html", form=form), 400
    include_text = bool(form.include_text.data) and form.profile.data == "redacted"
    status = form.status.data if form.status.data in STATUSES else None
    filters = CaseFilter(status=(status,) if status else (), urgent_only=bool(form.urgent.data),
                         since=form.since.data, until=form.until.data)
    folder = Path(tempfile.mkdtemp(prefix="desk-export-"))
    path = folder / f"grievance-export-{date.today().isoformat()}.jsonl.age"
    count = write_export(context.cases_store, filters, recipients, path, profile=form.profile.data, include_text=include_text)
    context.store.audit(g.user.username, "exported", "-", f"{count} cases, {form.profile.data}"
                        + (", with text" if include_text else "") + f", {len(recipients)} recipients", now=context.clock())
    response = send_file(path, mimetype="application/octet-stream", as_attachment=True, download_name=path.name)
    response.call_on_close(lambda: (path.unlink(missing_ok=True), folder.rmdir()))
    return response
