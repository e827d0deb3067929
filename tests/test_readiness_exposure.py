"""Readiness tells anyone whether each backing service answers, never where it is or what
error it gave: Redis's and the pricing service's addresses and errors go to the log, as a
warning, for the operator."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from example_app.clients import DownstreamError, DownstreamTimeout
from example_app.config import DownstreamService
from example_app.health import DownstreamCheck, StoreCheck
from example_app.redis_store import RedisItemStore
from example_app.storage import MemoryItemStore, StoreUnavailable


def closed_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def redis_port() -> int:
    """A port nothing listens on: Redis there refuses at once."""
    return closed_loopback_port()


@pytest.fixture
def client_with_redis_down(make_client, redis_port):
    store = RedisItemStore.from_url(f"redis://127.0.0.1:{redis_port}/0", namespace="test")
    return make_client(store=store)


def test_with_redis_down_readiness_says_only_that_redis_is_unavailable(
    client_with_redis_down, redis_port
):
    result = client_with_redis_down.simulate_get("/health/ready")

    assert result.status_code == 503
    store = result.json["checks"]["store"]
    assert (store["status"], store["detail"]) == ("down", "Redis is unavailable")
    assert "127.0.0.1" not in result.text
    assert str(redis_port) not in result.text
    assert "refused" not in result.text.lower()


def test_with_redis_down_the_log_has_its_address_and_error(
    client_with_redis_down, redis_port, logs
):
    client_with_redis_down.simulate_get("/health/ready")

    [entry] = logs.by_logger("example_app.health")
    assert entry["level"] == "WARNING"
    assert entry["check"] == "store"
    assert f"127.0.0.1:{redis_port}" in entry["detail"]


class AnsweringRedis(MemoryItemStore):
    """A store that says it is Redis, somewhere internal, and answers."""

    backend = "redis"

    def ping(self) -> str:
        return "redis at redis.internal:6379"


def test_with_redis_up_readiness_says_redis_answered_without_its_address(make_client):
    result = make_client(store=AnsweringRedis()).simulate_get("/health/ready")

    assert result.json["checks"]["store"]["detail"] == "Redis answered"
    assert "internal" not in result.text


class UnknownStore(MemoryItemStore):
    """A store of a kind readiness has no words for, as a fork might add."""

    backend = "postgres"

    def __init__(self, down: bool) -> None:
        super().__init__()
        self.down = down

    def ping(self) -> str:
        if self.down:
            raise StoreUnavailable("postgres at db.internal:5432: connection refused")
        return "postgres at db.internal:5432"


@pytest.mark.parametrize(("down", "detail"), [(False, "check passed"), (True, "check failed")])
def test_a_store_of_another_kind_is_worded_passed_or_failed_its_detail_kept_for_the_log(
    make_client, down, detail
):
    # The check keeps the operator's detail and has no public one for readiness to show.
    result = StoreCheck(UnknownStore(down)).check()
    assert (result.public_detail, "db.internal" in result.detail) == ("", True)

    ready = make_client(store=UnknownStore(down)).simulate_get("/health/ready")

    assert ready.json["checks"]["store"]["detail"] == detail
    assert "db.internal" not in ready.text


class PricingStandIn:
    service = DownstreamService("pricing", "http://pricing.internal:8080", critical=True)

    def __init__(self, answer: int | Exception) -> None:
        self.answer = answer

    def request(
        self, method: str, path: str, request_id: str, body: Any = None, retries: bool = True
    ) -> tuple[int, Any]:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer, None


@pytest.mark.parametrize(
    ("answer", "public_detail"),
    [
        (200, "pricing answered 200"),
        (503, "pricing answered 503"),
        (DownstreamTimeout("pricing", "did not answer in time"), "pricing did not answer in time"),
        (
            DownstreamError("pricing", "could not be reached (pricing.internal:8080 refused)"),
            "pricing could not be reached",
        ),
    ],
)
def test_a_downstream_check_says_publicly_only_the_service_and_its_status(answer, public_detail):
    result = DownstreamCheck(PricingStandIn(answer)).check()

    assert result.public_detail == public_detail


def test_with_a_critical_pricing_service_down_readiness_names_only_the_service(make_client):
    port = closed_loopback_port()
    pricing = DownstreamService("pricing", f"http://127.0.0.1:{port}", critical=True)

    result = make_client(downstream=(pricing,)).simulate_get("/health/ready")

    assert result.status_code == 503
    assert result.json["checks"]["pricing"]["detail"] == "pricing could not be reached"
    assert "127.0.0.1" not in result.text
    assert str(port) not in result.text
