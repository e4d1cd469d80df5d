"""Bad input at the operator API: any path, method, header and body gets a 4xx or a 2xx, never a 5xx.

Without a valid token nothing is routed (401) and nothing is stored; with one, malformed
bodies and unknown cases get their 4xx and store nothing. Bounded like the webhook fuzzing
(`GRIEVANCE_FUZZ_EXAMPLES`).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from bot.operator_api import create_operator_app
from dialogue_support import confirm_case, new_token
from storage.models import ApiToken, Case, CaseMessage, OutboundMessage, WorkerAnswer
from test_fuzz_webhooks import FUZZ, HOSTILE_TEXT, RAW_BODIES

TABLES = (ApiToken, Case, CaseMessage, OutboundMessage, WorkerAnswer)
SNAPSHOT = settings(FUZZ, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture
def desk(services):
    case_id, _ = confirm_case(services, "+8801711000999")
    return services, create_operator_app(services).test_client(), new_token(services, "fuzz"), case_id


def snapshot(services) -> dict[str, object]:
    """Row counts, and each case's status: what a refused request must leave as it was."""
    with services.sessions.begin() as session:
        counts = {model.__tablename__: session.execute(select(func.count()).select_from(model)).scalar_one() for model in TABLES}
        counts["statuses"] = sorted(session.execute(select(Case.status)).scalars())
    return counts


PATHS = st.sampled_from(["/v1/cases/{case}/messages", "/v1/cases/{case}/status", "/v1/replies", "/v1/replies/{case}/ack",
                         "/v1/cases/{case}", "/", "/v1/cases/../../etc/passwd", "/v1/cases/%00/messages"])
METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"])
CASES = st.sampled_from(["real", "00000000-0000-0000-0000-000000000000", "not-a-uuid", "' OR 1=1 --", "A" * 300])


def _body(draw_value) -> bytes:
    return draw_value if isinstance(draw_value, bytes) else json.dumps(draw_value).encode("utf-8", "surrogatepass")


JSON_BODIES = st.one_of(
    RAW_BODIES,
    st.fixed_dictionaries({"text": HOSTILE_TEXT | st.integers() | st.none() | st.lists(st.integers(), max_size=3)}),
    st.fixed_dictionaries({"status": st.sampled_from(["closed", "resolved", "CLOSED", "", "in review"]) | HOSTILE_TEXT}),
    st.dictionaries(HOSTILE_TEXT, HOSTILE_TEXT, max_size=3),
)
AUTH = st.sampled_from(["none", "good", "wrong", "scheme", "empty", "long"])


def _auth(kind: str, token: str) -> dict[str, str]:
    return {
        "none": {},
        "good": {"Authorization": f"Bearer {token}"},
        "wrong": {"Authorization": f"Bearer {token[:-2]}xx"},
        "scheme": {"Authorization": f"Basic {token}"},
        "empty": {"Authorization": "Bearer "},
        "long": {"Authorization": "Bearer " + "x" * 10_000},
    }[kind]


@SNAPSHOT
@given(path=PATHS, method=METHODS, case=CASES, body=JSON_BODIES, auth=AUTH,
       content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", ""]))
def test_any_request_gets_a_4xx_or_2xx_and_a_refusal_changes_nothing(desk, path, method, case, body, auth, content_type):
    services, client, token, case_id = desk
    url = path.format(case=case_id if case == "real" else case)
    before = snapshot(services)
    response = client.open(url, method=method, data=_body(body), headers={**_auth(auth, token), "Content-Type": content_type})
    assert response.status_code < 500, response.status_code
    assert b"Traceback" not in response.get_data()
    if auth != "good":
        assert response.status_code == 401
    if response.status_code >= 400:
        assert snapshot(services) == before
