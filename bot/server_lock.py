"""The server lock: a running server holds it shared, `grievance keys rotate` needs it alone.

A flock on `<data_dir>/server.lock`: the processes of `grievance serve` (and `forward --loop`)
hold the data keys in memory, so rotating the keys under them would lose the conversations
in progress.
"""

from __future__ import annotations

from .config import ConfigError, Settings


def _server_lock_path(settings: Settings):
    return settings.data_dir / "server.lock"


_held_locks: list = []  # open files whose flock lives as long as this process


def hold_server_lock(settings: Settings) -> None:
    """Mark this process as a running server (a shared flock): `keys rotate` refuses meanwhile."""
    import fcntl

    path = _server_lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a")  # noqa: SIM115  held open for the life of the process
    fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
    _held_locks.append(handle)


def refuse_while_serving(settings: Settings):
    """An exclusive flock of the server lock, or ConfigError if a server on this machine holds it."""
    import fcntl

    path = _server_lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a")  # noqa: SIM115  closed by the caller
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ConfigError(
            "config error: secrets.data_keys: the server is running on this machine (`grievance serve` or "
            "`forward --loop`); its processes hold the old keys and would lose the conversations in progress. "
            "Stop it, run `grievance keys rotate`, and start it again"
        ) from None
    return handle
