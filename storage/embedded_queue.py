"""Kept so `from storage.embedded_queue import EmbeddedQueue` still works: the queue lives in storage/sinks/embedded.py."""

from .sinks.embedded import EmbeddedQueue
from .sinks.source import QueuedItem

__all__ = ["EmbeddedQueue", "QueuedItem"]
