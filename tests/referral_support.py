"""What stands for the company in the referral tests: its HTTPS endpoint, a mail server, its age key.

* `CompanyEndpoint`: the company's own system, a real HTTPS server with a certificate made for
  the test; it checks each referral's signature with the company's secret
  (`storage.crypto.verify_webhook_signature`), keeps each Idempotency-Key once, and can be told
  to answer with given statuses first (its own troubles).
* `MailServer`: a real SMTP server (aiosmtpd) on 127.0.0.1 with STARTTLS required before
  AUTH and before any mail, and a password; it keeps every message it accepts, with whether
  the session was encrypted. `tls=False` makes one that does not offer STARTTLS at all.
* `company_key`: an age key pair made with the real `age-keygen`, as a company would.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from sink_servers import make_self_signed_cert
from storage.crypto import verify_webhook_signature

COMPANY_SECRET = "the-companys-own-signing-secret-0123456789"
SMTP_USER = "referrals@ngo.example"
SMTP_PASSWORD = "smtp-password-for-the-test-42"


def company_key(folder: Path) -> tuple[Path, str]:
    """(the company's identity file, its public key), made by the real age-keygen."""
    folder.mkdir(parents=True, exist_ok=True)
    identity = folder / "company-key.txt"
    subprocess.run(["age-keygen", "-o", str(identity)], check=True, capture_output=True)
    public = subprocess.run(["age-keygen", "-y", str(identity)], check=True, capture_output=True, text=True).stdout.strip()
    return identity, public


def age_decrypt(identity: Path, data: bytes) -> bytes:
    """What the company reads: the real `age -d` with its own key."""
    return subprocess.run(["age", "--decrypt", "-i", str(identity)], input=data, check=True, capture_output=True).stdout


class CompanyEndpoint:
    """The company's HTTPS endpoint for referrals: signature checked, each referral kept once."""

    def __init__(self, folder: Path, secret: str = COMPANY_SECRET) -> None:
        self.secret = secret
        self.cert_file, key_file = make_self_signed_cert(folder / "company-tls")
        self.posts: list[str] = []  # referral id of every accepted POST, duplicates included
        self.kept: dict[str, dict] = {}  # referral id -> the document, once
        self.refused = 0
        self.answers: list[int] = []  # statuses to answer first, one per request
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if endpoint.answers:
                    return self._answer(endpoint.answers.pop(0))
                if not verify_webhook_signature(endpoint.secret, self.headers.get("X-Grievance-Timestamp", ""), body,
                                                self.headers.get("X-Grievance-Signature", ""), max_skew=300):
                    endpoint.refused += 1
                    return self._answer(401)
                document = json.loads(body)
                assert document["schema"] == "grievance.referral/1"
                assert self.headers["Idempotency-Key"] == document["referral_id"]
                endpoint.posts.append(document["referral_id"])
                endpoint.kept.setdefault(document["referral_id"], document)
                self._answer(200)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, key_file)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}/grievance/referrals"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def sealed(self, referral_id: str) -> bytes:
        return base64.b64decode(self.kept[referral_id]["sealed"])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MailServer:
    """A real SMTP server on loopback: STARTTLS and a password required (unless `tls=False`)."""

    def __init__(self, folder: Path, *, tls: bool = True) -> None:
        self.messages: list[dict] = []
        server = self

        class Handler:
            async def handle_DATA(self, smtp, session, envelope):
                server.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "content": envelope.content,
                                        "encrypted": session.ssl is not None})
                return "250 Message accepted for delivery"

        def authenticator(smtp, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login == SMTP_USER.encode() \
                and auth_data.password == SMTP_PASSWORD.encode()
            return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535 itself

        self.port = _free_port()
        options = {}
        if tls:
            self.cert_file, key_file = make_self_signed_cert(folder / "smtp-tls")
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.cert_file, key_file)
            options = {"tls_context": context, "require_starttls": True, "authenticator": authenticator, "auth_required": True}
        else:
            self.cert_file = None
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()

    def close(self) -> None:
        self._controller.stop()
