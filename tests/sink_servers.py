"""Real brokers for the sink tests, and the two things that stand in front of them.

* `ensure_redis` / `ensure_rabbitmq`: the shared servers on 127.0.0.1, started
  as the briefing says when they are not running (never stopped: others use them);
  `redis_cleanup` / `rabbitmq_cleanup` remove a test's own streams, keys and queues.
* `ToggleProxy`: a TCP proxy on a free loopback port in front of a real server;
  `down()` drops every connection and refuses new ones, `up()` lets them through
  again. This is how a test takes a sink "down" without stopping a shared server.
* `WebhookReceiver`: the operator's case system as a real HTTPS server with a
  self-signed certificate made for the test; it checks every signature with
  `storage.crypto.verify_webhook_signature` and keeps each Idempotency-Key once.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from storage.crypto import verify_webhook_signature

REDIS_PORT = 6379
RABBITMQ_PORT = 5672
WEBHOOK_SECRET = "a-test-webhook-secret-of-forty-characters!"


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _wait_for(port: int, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _listening(port):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not start on 127.0.0.1:{port}")


def ensure_redis() -> None:
    if _listening(REDIS_PORT):
        return
    subprocess.run(
        ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", str(REDIS_PORT), "--save", "",
         "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log"],
        check=True,
    )
    _wait_for(REDIS_PORT, 10, "Redis")


def ensure_rabbitmq() -> None:
    if _listening(RABBITMQ_PORT):
        return
    subprocess.run(["rabbitmq-server", "-detached"], check=True)
    _wait_for(RABBITMQ_PORT, 90, "RabbitMQ")


def redis_cleanup(stream: str) -> None:
    import redis

    client = redis.Redis(host="127.0.0.1", port=REDIS_PORT)
    client.delete(stream, f"{stream}:urgent", *client.scan_iter(f"{stream}:seen:*"))
    client.close()


def rabbitmq_cleanup(queue: str) -> None:
    import pika

    connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", RABBITMQ_PORT))
    channel = connection.channel()
    for name in (queue, f"{queue}.urgent"):
        channel.queue_delete(name)
    connection.close()


class ToggleProxy:
    """A loopback TCP proxy to `target_port` that can be switched off and on."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._up = True
        self._closed = False
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            if not self._up:
                client.close()  # "down": the connection ends before a byte is exchanged
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                thread = threading.Thread(target=self._pump, args=(source, sink), daemon=True)
                thread.start()
                self._threads.append(thread)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(source)
            self._drop(sink)

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def down(self) -> None:
        self._up = False
        with self._lock:
            live = list(self._sockets)
        for sock in live:
            self._drop(sock)

    def up(self) -> None:
        self._up = True

    def close(self) -> None:
        self.down()
        self._closed = True
        self._acceptor.join(timeout=2)
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=2)


def make_self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """(certificate, private key) PEM files for 127.0.0.1 and localhost, made now with `cryptography`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "operator case system (test)")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "receiver-cert.pem", folder / "receiver-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class WebhookReceiver:
    """The operator's own case system: HTTPS, signature checked, each case id kept once."""

    def __init__(self, folder: Path, secret: str) -> None:
        self.secret = secret
        self.cert_file, key_file = make_self_signed_cert(folder)
        self.posts: list[str] = []  # case id of every accepted POST, duplicates included
        self.kept: dict[str, bytes] = {}  # case id -> sealed bytes, once (the Idempotency-Key)
        self.refused = 0
        self.answer_with: int | None = None  # force this status (simulating the receiver's own troubles)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep the test output quiet
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.answer_with is not None:
                    return self._answer(receiver.answer_with)
                if not verify_webhook_signature(
                    receiver.secret, self.headers.get("X-Grievance-Timestamp", ""), body,
                    self.headers.get("X-Grievance-Signature", ""), max_skew=300,
                ):
                    receiver.refused += 1
                    return self._answer(401)
                document = json.loads(body)
                assert document["schema"] == "grievance.sealed-case/1"
                assert self.headers["Idempotency-Key"] == document["case_id"]
                receiver.posts.append(document["case_id"])
                receiver.kept.setdefault(document["case_id"], base64.b64decode(document["sealed"]))
                self._answer(200)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, key_file)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)
