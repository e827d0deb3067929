"""Items over real HTTP, kept in the real Redis the app is bound to."""

from __future__ import annotations

import json
from typing import Any

from redis import Redis

from local_platform.services import RedisService
from service_tests.harness import AppServer


def put_json(app: AppServer, path: str, document: object):
    return app.request(
        "PUT", path, json.dumps(document).encode(), {"Content-Type": "application/json"}
    )


def stored(client: Redis, key: str) -> Any:
    value = client.get(key)
    assert value is not None, f"{key} is not in Redis"
    return json.loads(value)


def test_an_items_whole_life_cycle_is_visible_in_redis(
    app_server: AppServer, redis_server: RedisService
) -> None:
    redis = redis_server.client()

    created = put_json(app_server, "/items/apple", {"colour": "red"})
    assert created.status == 201
    assert stored(redis, "example-app:item:apple") == {"colour": "red"}

    replaced = put_json(app_server, "/items/apple", {"colour": "green"})
    assert replaced.status == 200
    assert stored(redis, "example-app:item:apple") == {"colour": "green"}
    assert app_server.get("/items/apple").json() == {"colour": "green"}

    deleted = app_server.request("DELETE", "/items/apple")
    assert deleted.status == 204
    assert redis.get("example-app:item:apple") is None
    assert redis.zcard("example-app:items") == 0
    assert app_server.get("/items/apple").status == 404


def test_items_written_to_redis_by_another_instance_are_served(
    app_server: AppServer, redis_server: RedisService
) -> None:
    # Another instance of the service shares the binding: what it wrote, this one reads.
    redis = redis_server.client()
    redis.set("example-app:item:pear", json.dumps({"colour": "yellow"}))
    redis.zadd("example-app:items", {"pear": 0})

    assert app_server.get("/items/pear").json() == {"colour": "yellow"}
    assert app_server.get("/items").json()["keys"] == ["pear"]


def test_listing_pages_through_every_key_in_order(app_server: AppServer) -> None:
    keys = [f"item-{number:02}" for number in range(25)]
    for key in reversed(keys):
        assert put_json(app_server, f"/items/{key}", {}).status == 201

    seen: list[str] = []
    cursor = None
    while True:
        query = "?limit=10" + (f"&cursor={cursor}" if cursor else "")
        page = app_server.get("/items" + query).json()
        seen += page["keys"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == keys


def test_every_worker_sees_the_same_items(app_server: AppServer) -> None:
    # With Redis bound, the workers share one store (unlike the embedded memory store).
    assert put_json(app_server, "/items/shared", {"n": 1}).status == 201
    answers = {app_server.get("/items/shared").status for _ in range(20)}
    assert answers == {200}


def test_an_invalid_key_is_400_and_touches_nothing(
    app_server: AppServer, redis_server: RedisService
) -> None:
    response = put_json(app_server, "/items/no%20spaces", {})
    assert response.status == 400
    assert response.json()["title"] == "Invalid item key"
    assert redis_server.client().dbsize() == 0
