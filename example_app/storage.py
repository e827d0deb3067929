"""Where the service keeps its items: the bound Redis, or memory when nothing is bound.

Both stores have the same interface, and both announce every change as a JSON event:
Redis on a pub/sub channel named after the service, memory to in-process subscribers,
so the unit tier can check events without a Redis.
"""

from __future__ import annotations

import bisect
import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)

# Kept short so a Redis that is down costs a request well under a second, and the
# worker is never stuck; a dead connection is retried once on a fresh one.
REDIS_CONNECT_TIMEOUT = 0.5
REDIS_SOCKET_TIMEOUT = 1.0

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


class RedisItemStore:
    """Items in Redis: one string per item, plus a sorted set of keys for paging."""

    backend = "redis"

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self._redis = client
        self._item_prefix = f"{namespace}:item:"
        self._index = f"{namespace}:items"
        self.channel = namespace

    @classmethod
    def from_url(cls, url: str, namespace: str) -> RedisItemStore:
        # Connects lazily, on first use in each worker: nothing is opened at start-up,
        # and no connection is shared across uWSGI's fork.
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
            socket_timeout=REDIS_SOCKET_TIMEOUT,
            retry=Retry(NoBackoff(), retries=1),
            decode_responses=True,
        )
        return cls(client, namespace)

    def get(self, key: str) -> Any | None:
        raw = self._call(self._redis.get, self._item_prefix + key)
        return None if raw is None else json.loads(raw)

    def put(self, key: str, value: Any, request_id: str) -> bool:
        def write(pipe: redis.client.Pipeline) -> list[Any]:
            pipe.set(self._item_prefix + key, json.dumps(value), get=True)
            pipe.zadd(self._index, {key: 0})
            return pipe.execute()

        previous, _ = self._call(self._with_transaction, write)
        created = previous is None
        self._publish(change_event("created" if created else "replaced", key, request_id))
        return created

    def delete(self, key: str, request_id: str) -> bool:
        def remove(pipe: redis.client.Pipeline) -> list[Any]:
            pipe.delete(self._item_prefix + key)
            pipe.zrem(self._index, key)
            return pipe.execute()

        deleted, _ = self._call(self._with_transaction, remove)
        if not deleted:
            return False
        self._publish(change_event("deleted", key, request_id))
        return True

    def keys(self, limit: int, after: str | None) -> list[str]:
        # All scores are 0, so the set is ordered by key and a range by key pages it.
        start = "-" if after is None else f"({after}"
        keys: list[str] = self._call(self._redis.zrangebylex, self._index, start, "+", 0, limit)
        return keys

    def ping(self) -> str:
        self._call(self._redis.ping)
        kwargs = self._redis.connection_pool.connection_kwargs
        where = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
        return f"redis at {where}"

    def _with_transaction(self, work: Callable[[redis.client.Pipeline], list[Any]]) -> list[Any]:
        with self._redis.pipeline(transaction=True) as pipe:
            return work(pipe)

    def _publish(self, event: Event) -> None:
        # Pub/sub is fire and forget: the change is stored even if nobody listens.
        self._call(self._redis.publish, self.channel, json.dumps(event))

    @staticmethod
    def _call(command: Callable[..., Any], *args: Any) -> Any:
        try:
            return command(*args)
        except (redis.ConnectionError, redis.TimeoutError) as error:
            raise StoreUnavailable(f"Redis is unavailable: {error}") from error


def create_item_store(redis_url: str | None, namespace: str) -> ItemStore:
    if redis_url is None:
        log.warning(
            "no Redis bound: items are kept in memory, per worker, and lost on restart",
            extra={"store": "memory"},
        )
        return MemoryItemStore()
    return RedisItemStore.from_url(redis_url, namespace)
