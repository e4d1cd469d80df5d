"""A bot process for multi-process tests: its own interpreter, engine and pool, delivering messages on a signal.

Started with multiprocessing's "spawn", so nothing (no connection, no lock) is
inherited from the test process: like a second gunicorn worker or server.
"""

from __future__ import annotations

import ipaddress
import socket


def _refuse_the_network() -> None:
    """The suite's network guard, in this process too: loopback only."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address if isinstance(address, str) else address[0]
        if not isinstance(address, str) and host not in ("localhost", "") and not ipaddress.ip_address(host).is_loopback:
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    socket.socket.connect = guarded


def deliver(settings, sender: str, messages: list[tuple[str, str]], start, problems) -> None:
    """Deliver (provider id, text) messages of one sender in order, once `start` (a Barrier) lets all go.

    Any exception is reported by type to `problems` (a queue): never the text.
    """
    _refuse_the_network()
    from bot.messages import InboundMessage
    from bot.services import build_services

    services = build_services(settings)
    try:
        start.wait(timeout=120)
        for provider_id, text in messages:
            services.intake.receive(InboundMessage(channel="sms", sender=sender, text=text, provider_id=provider_id))
    except Exception as error:  # reported to the test, which fails on it
        problems.put(type(error).__name__)
    finally:
        services.close()
