"""Readiness checks each downstream service marked critical, and only those."""

from __future__ import annotations

import socket
from typing import Any

import falcon.testing

from example_app.app import create_app
from example_app.clients import DownstreamError, DownstreamTimeout
from example_app.config import Config, DownstreamService
from example_app.health import DownstreamCheck
from example_app.storage import MemoryItemStore

PRICING = DownstreamService(name="pricing", url="http://pricing.test", critical=True)


class PricingStandIn:
    service = PRICING

    def __init__(self, answer: tuple[int, Any] | Exception) -> None:
        self.answer = answer
        self.calls: list[dict[str, Any]] = []

    def request(
        self, method: str, path: str, request_id: str, body: Any = None, retries: bool = True
    ) -> tuple[int, Any]:
        self.calls.append({"method": method, "path": path, "retries": retries})
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_a_healthy_downstream_service_is_up_with_its_answer():
    result = DownstreamCheck(PricingStandIn((200, {"status": "up"}))).check()
    assert result.ok
    assert result.detail == "http://pricing.test answered 200"


def test_the_check_asks_the_health_path_once_without_retries():
    pricing = PricingStandIn((200, None))
    DownstreamCheck(pricing).check()
    assert pricing.calls == [{"method": "GET", "path": "/health/live", "retries": False}]


def test_a_downstream_service_answering_503_is_down():
    result = DownstreamCheck(PricingStandIn((503, None))).check()
    assert not result.ok
    assert "503" in result.detail


def test_an_unreachable_or_slow_downstream_service_is_down_with_the_reason():
    for error in (
        DownstreamError("pricing", "could not be reached"),
        DownstreamTimeout("pricing", "did not answer in time"),
    ):
        result = DownstreamCheck(PricingStandIn(error)).check()
        assert not result.ok
        assert result.detail == str(error)


def test_the_check_is_named_after_the_service():
    assert DownstreamCheck(PricingStandIn((200, None))).name == "pricing"


def closed_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_critical_pricing_service_that_is_down_makes_readiness_503():
    # Nothing listens on the port: the connection is refused at once, in this machine.
    pricing = DownstreamService("pricing", f"http://127.0.0.1:{closed_loopback_port()}", True)
    app = create_app(Config(downstream=(pricing,)), store=MemoryItemStore())
    result = falcon.testing.TestClient(app).simulate_get("/health/ready")
    assert result.status_code == 503
    assert result.json["checks"]["pricing"]["status"] == "down"


def test_a_pricing_service_not_marked_critical_is_not_checked():
    pricing = DownstreamService("pricing", f"http://127.0.0.1:{closed_loopback_port()}", False)
    app = create_app(Config(downstream=(pricing,)), store=MemoryItemStore())
    result = falcon.testing.TestClient(app).simulate_get("/health/ready")
    assert result.status_code == 200
    assert "pricing" not in result.json["checks"]
