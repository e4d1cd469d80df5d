"""Serving the desk under gunicorn, in one process (its cases are opened in that process's memory).

The operator's key is read (and unlocked with its passphrase) before gunicorn starts; the
worker builds the app after the fork and keeps the key only in memory. The access log is
off, like the intake server's: it would record who looked at which case page.
"""

from __future__ import annotations

import atexit
import threading

from gunicorn.app.base import BaseApplication

from bot.config import Settings


class _DeskGunicorn(BaseApplication):
    def __init__(self, settings: Settings, identity: str, options: dict, pull_every: float, secure_cookies: bool,
                 trusted_proxies: int) -> None:
        self.settings, self.identity, self.options = settings, identity, options
        self.pull_every, self.secure_cookies, self.trusted_proxies = pull_every, secure_cookies, trusted_proxies
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return build_desk_app(self.settings, self.identity, pull_every=self.pull_every, secure_cookies=self.secure_cookies,
                              trusted_proxies=self.trusted_proxies)


def build_desk_app(settings: Settings, identity: str, *, pull_every: float = 0, secure_cookies: bool = True,
                   trusted_proxies: int = 0):
    from desk.cli_cases import service_levels
    from desk.operator_store import OperatorStore, store_location

    from .audit import heads_file_of
    from .pulling import pull_once
    from .store import DeskStore
    from .web import create_desk_app
    from .web.context import DeskContext

    store = OperatorStore(store_location(settings), identity, service_levels(settings))
    client = None
    if settings.operator_client.url:
        from desk.operator_client import client_for

        def client():
            return client_for(settings)

    desk_store = DeskStore(store, heads_file_of(settings))
    atexit.register(desk_store.audit_log.close)  # when the worker stops: a head of the last line it wrote
    context = DeskContext(settings, store, desk_store, identity, pull=lambda: pull_once(settings, store, identity),
                          operator_client=client)
    context.refresh()
    from .referral_flow import ReferralDesk

    referrals = ReferralDesk(settings, context.store, client, context.clock)
    context.referral_desk = referrals
    context.housekeeping = referrals.deliver_due  # referrals to companies, tried again as their waits end
    if pull_every > 0:
        context.start_pulling(pull_every, threading.Event())
    from .web.patterns import prepare_in_background

    prepare_in_background(context)  # the Patterns page's first visit finds the year to date made
    return create_desk_app(context, secure_cookies=secure_cookies, trusted_proxies=trusted_proxies)


def run_desk(settings: Settings, identity: str, host: str, port: int, *, threads: int = 8, pull_every: float = 60,
             secure_cookies: bool = True, trusted_proxies: int = 0) -> None:
    options = {"bind": f"{host}:{port}", "workers": 1, "worker_class": "gthread", "threads": threads, "accesslog": None,
               "errorlog": "-", "loglevel": "warning", "timeout": 60, "graceful_timeout": 10}
    _DeskGunicorn(settings, identity, options, pull_every, secure_cookies, trusted_proxies).run()
