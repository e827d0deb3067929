"""Each change is published on the Redis channel named after the service, and a real
subscriber, as another service would be, receives it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis

from local_platform.services import RedisService
from service_tests.harness import AppServer


@pytest.fixture
def subscriber(redis_server: RedisService) -> Iterator[redis.client.PubSub]:
    client = redis_server.client()
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe("example-app")
    try:
        yield pubsub
    finally:
        pubsub.close()
        client.close()


def next_event(pubsub: redis.client.PubSub, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.1)
        if message is not None:
            event = json.loads(message["data"])
            assert isinstance(event, dict)
            return event
    raise AssertionError(f"no event within {timeout} s")


def put_json(app: AppServer, path: str, document: object, request_id: str):
    return app.request(
        "PUT",
        path,
        json.dumps(document).encode(),
        {"Content-Type": "application/json", "X-Request-ID": request_id},
    )


def test_a_subscriber_receives_created_replaced_and_deleted_in_order(
    app_server: AppServer, subscriber: redis.client.PubSub
) -> None:
    put_json(app_server, "/items/apple", {"v": 1}, "req-create")
    put_json(app_server, "/items/apple", {"v": 2}, "req-replace")
    app_server.request("DELETE", "/items/apple", headers={"X-Request-ID": "req-delete"})

    events = [next_event(subscriber) for _ in range(3)]
    assert [(e["event"], e["key"], e["request_id"]) for e in events] == [
        ("item.created", "apple", "req-create"),
        ("item.replaced", "apple", "req-replace"),
        ("item.deleted", "apple", "req-delete"),
    ]


def test_a_delete_of_an_absent_item_publishes_nothing(
    app_server: AppServer, subscriber: redis.client.PubSub
) -> None:
    assert app_server.request("DELETE", "/items/ghost").status == 404
    put_json(app_server, "/items/marker", {}, "req-marker")
    # The first event to arrive is the marker's: the failed delete published nothing.
    assert next_event(subscriber)["key"] == "marker"


def test_each_event_is_a_json_object_with_a_timestamp(
    app_server: AppServer, subscriber: redis.client.PubSub
) -> None:
    put_json(app_server, "/items/apple", {}, "req-1")
    event = next_event(subscriber)
    assert set(event) == {"event", "key", "request_id", "at"}
    assert datetime.fromisoformat(event["at"]).utcoffset() == timedelta(0)
