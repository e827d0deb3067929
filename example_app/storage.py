"""Where the service keeps its items: the interface, and the embedded memory store.

The bound Redis (redis_store.py) and the memory store have the same interface, and
both announce every change as a JSON event: Redis on a pub/sub channel named after the
service, memory to in-process subscribers, so the unit tier can check events too.
"""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

Event = dict[str, Any]


class StoreUnavailable(Exception):
    """The backing store cannot be reached; the request may succeed later."""


class ItemStore(Protocol):
    backend: str

    def get(self, key: str) -> Any | None: ...

    def put(self, key: str, value: Any, request_id: str) -> bool:
        """Store `value` under `key`; True if the key is new, False if replaced."""
        ...

    def delete(self, key: str, request_id: str) -> bool:
        """Remove `key`; False if it was not there."""
        ...

    def keys(self, limit: int, after: str | None) -> list[str]:
        """Up to `limit` keys in order, starting after the key `after`."""
        ...

    def ping(self) -> str:
        """Check the store answers; returns a description of it for readiness."""
        ...


def change_event(kind: str, key: str, request_id: str) -> Event:
    return {
        "event": f"item.{kind}",
        "key": key,
        "request_id": request_id,
        "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }


class MemoryItemStore:
    """An in-process store for running without Redis. Each worker has its own copy."""

    backend = "memory"

    def __init__(self) -> None:
        self._items: dict[str, str] = {}
        self._sorted_keys: list[str] = []
        self._subscribers: list[Callable[[Event], None]] = []
        self._lock = threading.Lock()

    def subscribe(self, subscriber: Callable[[Event], None]) -> None:
        self._subscribers.append(subscriber)

    def get(self, key: str) -> Any | None:
        raw = self._items.get(key)
        return None if raw is None else json.loads(raw)

    def put(self, key: str, value: Any, request_id: str) -> bool:
        with self._lock:
            created = key not in self._items
            # Stored as JSON, as in Redis, so callers never share a mutable value.
            self._items[key] = json.dumps(value)
            if created:
                bisect.insort(self._sorted_keys, key)
        self._publish(change_event("created" if created else "replaced", key, request_id))
        return created

    def delete(self, key: str, request_id: str) -> bool:
        with self._lock:
            if self._items.pop(key, None) is None:
                return False
            self._sorted_keys.remove(key)
        self._publish(change_event("deleted", key, request_id))
        return True

    def keys(self, limit: int, after: str | None) -> list[str]:
        start = 0 if after is None else bisect.bisect_right(self._sorted_keys, after)
        return self._sorted_keys[start : start + limit]

    def ping(self) -> str:
        return "memory: embedded, per worker, lost on restart"

    def _publish(self, event: Event) -> None:
        for subscriber in self._subscribers:
            subscriber(event)
