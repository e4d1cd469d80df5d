"""The referral preview (issue 22): the case worker reads what the company will get as a letter, not as raw JSON.

The file sent stays the same (its exact JSON is still on the page, behind a disclosure); every
value is escaped, the company's name and the worker's answers included.
"""

from __future__ import annotations

import html
import json
import re

import pytest
from pyrage import x25519

from test_desk_web import CASE_TEXT, clock, make_record, referral_desk, referral_settings  # noqa: F401  (fixtures)
from desk_web_support import csrf_of

COMPANY = 'Sunrise & <Sons> "Garments"'
WORKPLACE = "Unit <b>7</b> & annex"


@pytest.fixture
def desk(request):
    """The desk of test_desk_web's referral tests: the shipped questions and the referral question."""
    return request.getfixturevalue("referral_desk")


def _preview(desk, record: dict, company: str):
    desk.cases_store.add(record)
    desk.context.refresh()
    company_id = desk.store.add_company(company, str(x25519.Identity.generate().to_public()))
    client = desk.client()
    assert desk.sign_in(client, "cai").status_code == 302
    page = client.get(f"/cases/{record['case_id']}")
    return client.post(f"/cases/{record['case_id']}/refer", data={"company": company_id, "csrf_token": csrf_of(page.text)})


def _element(page: str, tag: str, element_id: str) -> str:
    found = re.search(rf'<{tag}[^>]*id="{element_id}"[^>]*>(.*?)</{tag}>', page, re.S)
    assert found, f"no {tag}#{element_id}"
    return found.group(1)


def test_the_preview_is_a_letter_with_the_exact_file_behind_a_disclosure(desk):
    record = make_record(referral=True, workplace=WORKPLACE)
    answer = _preview(desk, record, COMPANY)
    assert answer.status_code == 200
    letter = _element(answer.text, "article", "referral-preview")
    text = html.unescape(re.sub(r"<[^>]+>", " ", letter))
    assert "{" not in letter and '"referral_version"' not in text  # no raw JSON in the letter
    sent = json.loads(html.unescape(_element(answer.text, "pre", "referral-json")))
    for label, value in (("Recipient", COMPANY), ("Sender", desk.settings.deployment.name), ("Answer by", sent["respond_by"])):
        assert re.search(rf"{label}\s+{re.escape(value)}", " ".join(text.split())), (label, value)
    assert WORKPLACE in text and "Gazipur" in text and "40" in text
    assert "Do not try to find out who reported it." in text
    assert CASE_TEXT not in answer.text and record["code"] not in answer.text
    # Escaped everywhere: no markup of the company or the worker reaches the page as markup.
    assert "<Sons>" not in answer.text and "<b>7</b>" not in answer.text
    assert "&lt;Sons&gt;" in letter and "&lt;b&gt;7&lt;/b&gt;" in letter
    # What is sent is unchanged: the exact file, for those who want to check it.
    assert sent["company"] == COMPANY and sent["about_the_workplace"]["workplace"] == WORKPLACE
    assert sent["referral_version"] == 2 and sent["description"] is None
    assert '<details id="referral-file">' in answer.text  # the raw file only when asked for


def test_the_letter_speaks_the_case_workers_language(desk):
    desk.store.set_language("cai", "ja")
    answer = _preview(desk, make_record(referral=True), "Sunrise Garments Ltd")
    letter = _element(answer.text, "article", "referral-preview")
    assert "回答期限" in letter and "Sunrise Garments Ltd" in letter
