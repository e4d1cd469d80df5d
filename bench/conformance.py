"""Real provider payloads against the real server: the conformance run of `make conformance`.

    .venv/bin/python -m bench.conformance                      # corpus at ../shared/conformance
    .venv/bin/python -m bench.conformance --corpus DIR --only bsuid --json-out var/conformance.json

The corpus (external test data: payloads nobody in the project wrote, with a
sidecar stating what the hotline must answer) and its runner live outside the
project, in `../shared/conformance` (`payload_conformance.py`, `payloads/`).
This script makes a temporary deployment (config, keys from `grievance init`,
channel secrets generated for the run and passed in the environment), starts
the real `grievance serve` on a free loopback port with Twilio, the WhatsApp
Cloud API and Telegram (webhook mode) pointed at the runner's fake provider
API, runs the runner, stops the server and deletes the deployment. It exits
with the runner's status: non-zero on any failed check. Exit 3 when the corpus
is absent (the Makefile skips with a message before that happens).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .http_bench import free_port, make_deployment, wait_healthy

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO.parent / "shared" / "conformance"
PHONE_NUMBER_ID = "106540352242922"  # the hotline's WhatsApp business number id for the run


def channel_secrets() -> dict[str, str]:
    """Fresh secrets for one run, under the names the hotline and the runner both read."""
    return {
        "TWILIO_ACCOUNT_SID": "AC" + secrets.token_hex(16),
        "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "WHATSAPP_APP_SECRET": secrets.token_hex(16),
        "WHATSAPP_VERIFY_TOKEN": secrets.token_hex(12),
        "WHATSAPP_ACCESS_TOKEN": "EAA" + secrets.token_hex(20),
        "TELEGRAM_BOT_TOKEN": f"{secrets.randbelow(10**9) + 10**9}:{secrets.token_urlsafe(26)}",
        "TELEGRAM_WEBHOOK_SECRET": secrets.token_hex(24),
    }


def configure_for(port: int, fake_port: int):
    """The config edit: the three webhook channels on, every provider API on the runner's fake."""
    fake = f"http://127.0.0.1:{fake_port}"

    def configure(config: dict) -> None:
        config["server"]["public_url"] = f"http://127.0.0.1:{port}"
        config["server"]["forward_interval_seconds"] = 0.5
        channels = config["channels"]
        channels["twilio"].update(enabled=True, api_base_url=f"{fake}/twilio")
        channels["whatsapp_cloud"].update(enabled=True, phone_number_id=PHONE_NUMBER_ID, graph_base_url=f"{fake}/graph/v21.0")
        channels["telegram"].update(enabled=True, mode="webhook", base_url=f"{fake}/tg/bot", base_file_url=f"{fake}/tg/file/bot")
        config.setdefault("logging", {})["level"] = "WARNING"

    return configure


def run(args: argparse.Namespace) -> int:
    shared = Path(args.shared).resolve()
    runner, corpus = shared / "payload_conformance.py", Path(args.corpus or shared / "payloads").resolve()
    if not runner.is_file() or not corpus.is_dir():
        print(f"conformance: no corpus at {shared}", file=sys.stderr)
        return 3
    port, fake_port = free_port(), free_port()
    keys = channel_secrets()
    os.environ.update(keys)  # `grievance init` and `serve` get the environment (and so these secrets)
    root = Path(tempfile.mkdtemp(prefix="grievance-conformance-"))
    server = None
    started = time.monotonic()
    try:
        deployment = make_deployment(root, "sqlite", configure=configure_for(port, fake_port))
        deployment.env.update(keys)  # make_deployment sets the load generator's Twilio secrets: this run's instead
        log = (root / "serve.log").open("wb")
        server = deployment.serve(port, args.workers, stderr=log, start_new_session=True)
        wait_healthy(port)
        ready = time.monotonic() - started
        command = [
            sys.executable, str(runner), "run", "--base-url", f"http://127.0.0.1:{port}", "--corpus", str(corpus),
            "--fake-port", str(fake_port), "--phone-number-id", PHONE_NUMBER_ID,
            "--reply-wait", str(args.reply_wait), "--quiet-wait", str(args.quiet_wait),
        ]
        if args.only:
            command += ["--only", args.only]
        for provider in args.provider or ():
            command += ["--provider", provider]
        if args.json_out:
            command += ["--json-out", str(Path(args.json_out).resolve())]
        result = subprocess.run(command, cwd=root, env={**os.environ, **keys}, check=False)  # noqa: S603  our own runner
        print(f"conformance: runner exit {result.returncode}; deployment and server ready in {ready:.1f} s, "
              f"{time.monotonic() - started:.0f} s in all", file=sys.stderr)
        if result.returncode != 0 and args.show_log:
            sys.stderr.write((root / "serve.log").read_text(errors="replace")[-6000:])
        return result.returncode
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        if args.keep:
            print(f"conformance: deployment kept in {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", default=str(DEFAULT_SHARED), help="the folder with payload_conformance.py and payloads/")
    parser.add_argument("--corpus", help="the payload folder (default: SHARED/payloads)")
    parser.add_argument("--only", help="only cases whose name contains this")
    parser.add_argument("--provider", action="append", choices=["twilio", "whatsapp_cloud", "telegram"])
    parser.add_argument("--workers", type=int, default=1, help="gunicorn worker processes")
    parser.add_argument("--reply-wait", type=float, default=5.0, help="seconds to wait for an expected answer")
    parser.add_argument("--quiet-wait", type=float, default=0.6, help="seconds to watch for an unexpected answer")
    parser.add_argument("--json-out", help="every result, as the runner writes it")
    parser.add_argument("--keep", action="store_true", help="keep the temporary deployment (config, logs, database)")
    parser.add_argument("--show-log", action="store_true", help="print the end of the server's log on failure")
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
