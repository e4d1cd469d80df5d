"""A fake mail server on 127.0.0.1 for tests: enough of SMTP (RFC 5321) for Python's smtplib.

EHLO/HELO, STARTTLS (with the test's certificate: then required before AUTH and MAIL), AUTH PLAIN (checked against the test's user and password), MAIL FROM, RCPT TO,
DATA (dot-unstuffed), RSET, NOOP, QUIT. Every accepted message is kept with its envelope and
parsed with the standard `email` package; the next transactions can be refused with a given
reply code (421 or 451: try later; 550: refused), or the server can stop accepting connections.
"""

from __future__ import annotations

import base64
import socketserver
import ssl
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage


@dataclass
class Received:
    sender: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)

    @property
    def text(self) -> str:
        """The subject and the plain body, decoded."""
        message = self.message
        return f"{message['Subject']}\n{message.get_body(('plain',)).get_content()}"


class FakeSmtp:
    """Start with `FakeSmtp(user, password)` (or no auth); `port`; `close()` stops it."""

    def __init__(self, user: str | None = None, password: str | None = None, tls: ssl.SSLContext | None = None) -> None:
        self.user, self.password, self.tls = user, password, tls
        self.tls_sessions = 0  # sessions that switched to TLS (STARTTLS)
        self.messages: list[Received] = []
        self.refuse: list[int] = []  # reply codes for the next MAIL FROM commands
        self.lock = threading.Lock()
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                fake._session(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if address in m.recipients]

    def wait_for(self, predicate, timeout: float = 30.0, what: str = "a message at the fake mail server"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = predicate()
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    # ------------------------------------------------------------ the protocol

    def _session(self, connection) -> None:
        opened = [connection]
        try:
            self._converse(connection, opened)
        finally:
            for thing in reversed(opened[1:]):  # the TLS socket and the files; socketserver closes the plain socket
                try:
                    thing.close()
                except OSError:
                    pass

    def _converse(self, connection, opened: list) -> None:
        rfile, wfile = connection.makefile("rb"), connection.makefile("wb")
        opened += [rfile, wfile]

        def say(line: str) -> None:
            wfile.write((line + "\r\n").encode())
            wfile.flush()

        say("220 fake-smtp.test ESMTP ready")
        sender, recipients, authed, secure = None, [], self.user is None, False
        while True:
            raw = rfile.readline(4096)
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb, _, argument = line.partition(" ")
            verb = verb.upper()
            if verb in ("EHLO", "HELO"):
                wfile.write(b"250-fake-smtp.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n")
                if self.tls is not None and not secure:
                    wfile.write(b"250-STARTTLS\r\n")
                say("250 AUTH PLAIN" if self.user else "250 HELP")
            elif verb == "STARTTLS" and self.tls is not None and not secure:
                say("220 2.0.0 ready to start TLS")
                try:
                    connection = self.tls.wrap_socket(connection, server_side=True)
                except (ssl.SSLError, OSError):  # the client did not trust the certificate: it hangs up
                    return
                rfile, wfile, secure = connection.makefile("rb"), connection.makefile("wb"), True
                opened += [connection, rfile, wfile]
                sender, recipients = None, []
                with self.lock:
                    self.tls_sessions += 1
            elif self.tls is not None and not secure and verb in ("AUTH", "MAIL"):
                say("530 5.7.0 must issue a STARTTLS command first")
            elif verb == "AUTH":
                mechanism, _, initial = argument.partition(" ")
                if mechanism.upper() != "PLAIN":
                    say("504 5.5.4 only PLAIN")
                    continue
                if not initial:
                    say("334 ")
                    initial = rfile.readline(4096).decode().strip()
                try:
                    _zid, user, password = base64.b64decode(initial).decode().split("\x00")
                except ValueError:
                    say("501 5.5.2 bad credentials")
                    continue
                authed = (user, password) == (self.user, self.password)
                say("235 2.7.0 ok" if authed else "535 5.7.8 authentication failed")
            elif verb == "MAIL":
                if not authed:
                    say("530 5.7.0 authentication required")
                    continue
                with self.lock:
                    refused = self.refuse.pop(0) if self.refuse else None
                if refused:
                    say(f"{refused} refused for this test")
                    continue
                sender, recipients = argument.split(":", 1)[1].split()[0].strip("<>"), []
                say("250 2.1.0 ok")
            elif verb == "RCPT":
                recipients.append(argument.split(":", 1)[1].strip().strip("<>"))
                say("250 2.1.5 ok")
            elif verb == "DATA":
                say("354 end with <CRLF>.<CRLF>")
                lines = []
                while True:
                    data = rfile.readline(65536)
                    if data in (b".\r\n", b".\n", b""):
                        break
                    lines.append(data[1:] if data.startswith(b"..") else data)
                with self.lock:
                    self.messages.append(Received(sender or "", list(recipients), b"".join(lines)))
                say("250 2.0.0 queued")
            elif verb == "RSET":
                sender, recipients = None, []
                say("250 ok")
            elif verb == "NOOP":
                say("250 ok")
            elif verb == "QUIT":
                say("221 bye")
                return
            else:
                say("502 5.5.2 not implemented")
