"""Items in the bound Redis: the production store (storage.py has the interface)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from example_app.breaker import CircuitBreaker, CircuitOpen
from example_app.storage import Event, StoreUnavailable, change_event

# A healthy Redis answers in about a millisecond. A worker waits at most this long for it
# to connect, and again to answer (a frozen Redis accepts connections but never answers).
# uWSGI's workers serve one request at a time, and /health/live waits for a free one, so
# this must stay well below the platform's 1 s liveness timeout.
REDIS_TIMEOUT = 0.25
# After a failure, calls fail fast for this long, then one tries again (breaker.py). While
# Redis is down a worker spends at most one REDIS_TIMEOUT per cool-down on it; once it is
# back, items are served again within about this long.
REDIS_COOL_DOWN = 1.0
# The errors that mean Redis is down (or unreachable), rather than answering.
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)


class RedisItemStore:
    """Items in Redis: one string per item, plus a sorted set of keys for paging."""

    backend = "redis"

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self._redis = client
        self._breaker = CircuitBreaker(REDIS_DOWN, cool_down=REDIS_COOL_DOWN)
        self._item_prefix = f"{namespace}:item:"
        self._index = f"{namespace}:items"
        self.channel = namespace

    @classmethod
    def from_url(cls, url: str, namespace: str) -> RedisItemStore:
        # Connects lazily, on first use in each worker: nothing is opened at start-up,
        # and no connection is shared across uWSGI's fork.
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=REDIS_TIMEOUT,
            socket_timeout=REDIS_TIMEOUT,
            # A dead connection (Redis restarted) is retried once on a fresh one. A timeout
            # is not: a Redis that did not answer in time will not answer the retry either.
            retry=Retry(NoBackoff(), retries=1, supported_errors=(redis.ConnectionError,)),
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
        # Through the breaker too: while Redis is known to be down, readiness says so at
        # once, and once the cool-down is over its PING may be the probe.
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

    def _call(self, command: Callable[..., Any], *args: Any) -> Any:
        try:
            return self._breaker.call(command, *args)
        except (CircuitOpen, *REDIS_DOWN) as error:
            raise StoreUnavailable(f"Redis is unavailable: {error}") from error
