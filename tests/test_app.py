"""The public app: health, and errors as plain JSON statuses, never a stack trace."""

from __future__ import annotations

import pytest
from flask import request
from sqlalchemy import create_engine

from bot.app import create_app


@pytest.fixture
def client(services):
    app = create_app(services)

    @app.get("/boom")
    def boom():
        raise RuntimeError("worker +8801711000000 wrote: they beat us")

    @app.post("/echo-length")
    def echo_length():
        return {"length": len(request.get_data())}

    return app.test_client()


def test_health_reports_ok_and_enabled_channels(client):
    response = client.get("/health")
    assert response.status_code == 200 and response.get_json() == {"status": "ok", "channels": ["console"]}


def test_health_reports_unavailable_database(client, services):
    working = services.db
    services.db = create_engine("sqlite:////nonexistent-folder/grievance.db")
    try:
        response = client.get("/health")
    finally:
        services.db.dispose()
        services.db = working
    assert response.status_code == 503 and response.get_json() == {"status": "unavailable"}


def test_unknown_route_is_json_404(client):
    response = client.get("/nope")
    assert response.status_code == 404 and response.get_json() == {"error": "Not Found"}


def test_unexpected_error_is_a_retryable_503_without_details(client):
    response = client.get("/boom")
    assert response.status_code == 503
    assert b"beat" not in response.data and b"Traceback" not in response.data and b"8801711000000" not in response.data


def test_oversized_body_is_413(client):
    assert client.post("/echo-length", data=b"x" * 1000).get_json() == {"length": 1000}
    response = client.post("/echo-length", data=b"x" * (2 * 1024 * 1024))
    assert response.status_code == 413 and response.get_json() == {"error": "Request Entity Too Large"}
