"""Which item store the app uses: the bound Redis, else the embedded memory store."""

from __future__ import annotations

import falcon.testing

from example_app.app import create_app
from example_app.config import Config


def test_with_nothing_bound_the_app_uses_memory_and_says_so_in_info_and_readiness():
    client = falcon.testing.TestClient(create_app(Config()))
    assert client.simulate_get("/info").json["store"] == "memory"
    assert "memory" in client.simulate_get("/health/ready").json["checks"]["store"]["detail"]


def test_with_nothing_bound_a_warning_is_logged_once_at_start(logs):
    client = falcon.testing.TestClient(create_app(Config()))
    client.simulate_get("/items")
    client.simulate_get("/items")
    warnings = [line for line in logs.lines() if line["level"] == "WARNING"]
    assert len(warnings) == 1
    assert warnings[0]["store"] == "memory"


def test_with_redis_bound_the_app_uses_redis_without_connecting_at_start(tmp_path, logs):
    # Nothing listens on this socket: building the app must not need Redis yet.
    config = Config(redis_url=f"unix://{tmp_path}/redis.sock")
    client = falcon.testing.TestClient(create_app(config))
    assert client.simulate_get("/info").json["store"] == "redis"
    assert not [line for line in logs.lines() if line["level"] == "WARNING"]
