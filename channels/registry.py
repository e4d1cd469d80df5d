"""The explicit list of channel adapters, keyed by channel type (enabled by config)."""

from __future__ import annotations

from .console import ConsoleChannel

ADAPTERS = {
    "console": ConsoleChannel,
}
