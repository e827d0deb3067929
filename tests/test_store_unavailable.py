"""Redis down: item requests get 503 with Retry-After, readiness goes 503, never a 500.

The store here is the real Redis store, pointed at a Redis that is not there (a unix
socket path that does not exist), so the errors are redis-py's own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import falcon.testing
import pytest

from example_app.redis_store import RedisItemStore


@pytest.fixture
def client_without_redis(
    make_client: Callable[..., falcon.testing.TestClient], tmp_path: Path
) -> falcon.testing.TestClient:
    store = RedisItemStore.from_url(f"unix://{tmp_path}/no-redis.sock", namespace="test")
    return make_client(store=store)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/items/apple", None),
        ("PUT", "/items/apple", {"colour": "red"}),
        ("DELETE", "/items/apple", None),
        ("GET", "/items", None),
    ],
)
def test_item_requests_get_503_with_retry_after_and_a_json_error(
    client_without_redis, method, path, body
):
    result = client_without_redis.simulate_request(method, path, json=body)
    assert result.status_code == 503
    assert result.headers["Retry-After"] == "5"
    assert result.json["title"] == "Storage unavailable"


def test_readiness_is_503_naming_the_store(client_without_redis):
    result = client_without_redis.simulate_get("/health/ready")
    assert result.status_code == 503
    assert result.json["checks"]["store"]["status"] == "down"
    assert "Redis is unavailable" in result.json["checks"]["store"]["detail"]


def test_liveness_stays_200_while_redis_is_down(client_without_redis):
    assert client_without_redis.simulate_get("/health/live").status_code == 200


def test_the_failure_is_logged_as_a_warning(client_without_redis, logs):
    client_without_redis.simulate_get("/items/apple")
    warnings = [line for line in logs.lines() if line["message"] == "store unavailable"]
    assert warnings
    assert warnings[0]["level"] == "WARNING"
