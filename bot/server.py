"""Running the public app, or the operator API app, under gunicorn, a production WSGI server.

Each worker builds its own services after the fork (database pools must not
be shared across processes). The access log is off: it would record the
caller's IP address and the request line, and we keep neither.
"""

from __future__ import annotations

from gunicorn.app.base import BaseApplication


class _GunicornApp(BaseApplication):
    def __init__(self, config_path: str, options: dict, app_kind: str = "public") -> None:
        self.config_path = config_path
        self.options = options
        self.app_kind = app_kind
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from .app import create_app
        from .config import load_settings
        from .operator_api import create_operator_app
        from .logs import setup_logging
        from .services import build_services

        settings = load_settings(self.config_path)
        setup_logging(settings.logging.level, settings.path(settings.logging.file) if settings.logging.file else None)
        # Migrations ran in the parent before the fork, which also printed the config's warnings
        # (once a start, not once a worker); each worker only opens its pool.
        # The two apps never share a process, a port or a route: each is built here on its own.
        factory = create_operator_app if self.app_kind == "operator" else create_app
        return factory(build_services(settings, run_migrations=False, warn=False))


def run_gunicorn(config_path: str, host: str, port: int, workers: int, app_kind: str = "public") -> None:
    """Serve until interrupted."""
    from .config import load_settings

    threads = load_settings(config_path).server.threads
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "timeout": 30,
        "graceful_timeout": 10,
    }
    _GunicornApp(config_path, options, app_kind).run()
