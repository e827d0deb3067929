"""Items in the bound Redis: the production store (storage.py has the interface)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from example_app.storage import Event, StoreUnavailable, change_event

# Kept short so a Redis that is down costs a request at most about 2 s, and the worker
# is never stuck; a dead connection is retried once on a fresh one.
REDIS_CONNECT_TIMEOUT = 0.5
REDIS_SOCKET_TIMEOUT = 1.0
# Readiness must answer within a second (and inside the platform's health check
# timeout) even when Redis hangs: its PING has a client of its own, quicker, no retry.
HEALTH_CHECK_TIMEOUT = 0.4


class RedisItemStore:
    """Items in Redis: one string per item, plus a sorted set of keys for paging."""

    backend = "redis"

    def __init__(self, client: redis.Redis, health_client: redis.Redis, namespace: str) -> None:
        self._redis = client
        self._health = health_client
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
        health_client = redis.Redis.from_url(
            url,
            socket_connect_timeout=HEALTH_CHECK_TIMEOUT,
            socket_timeout=HEALTH_CHECK_TIMEOUT,
            retry=Retry(NoBackoff(), retries=0),
        )
        return cls(client, health_client, namespace)

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
        self._call(self._health.ping)
        kwargs = self._health.connection_pool.connection_kwargs
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
