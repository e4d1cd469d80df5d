"""What every fake provider server shares: a quiet request handler that answers JSON or bytes."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler


class QuietJsonHandler(BaseHTTPRequestHandler):
    """Logs nothing (request lines can hold tokens, and test output stays readable)."""

    def log_message(self, *args) -> None:
        return None

    def _reply(self, status: int, payload: dict | bytes, content_type: str = "application/json") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
