"""GET /items/{key}/price: the service-to-service call, against a stand-in pricing client.

The real client, over real HTTP with timeouts and retries, is tested in service_tests/.
"""

from __future__ import annotations

from typing import Any

import falcon.testing
import pytest

from example_app.clients import DownstreamError, DownstreamTimeout
from example_app.config import DownstreamService
from example_app.storage import MemoryItemStore


class PricingStandIn:
    """Answers like the pricing service would, and records what it was asked."""

    service = DownstreamService("pricing", "http://pricing.test")

    def __init__(self, answer: tuple[int, Any] | Exception) -> None:
        self.answer = answer
        self.calls: list[tuple[str, str, str]] = []

    def request(
        self, method: str, path: str, request_id: str, body: Any = None, retries: bool = True
    ) -> tuple[int, Any]:
        self.calls.append((method, path, request_id))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def client_with(make_client, pricing: PricingStandIn) -> falcon.testing.TestClient:
    """The app as the factory wires it, with the stand-in as its pricing client."""
    store = MemoryItemStore()
    store.put("apple", {"colour": "red"}, request_id="setup")
    client: falcon.testing.TestClient = make_client(store=store, clients={"pricing": pricing})
    return client


def test_the_price_comes_from_the_pricing_service(make_client):
    pricing = PricingStandIn((200, {"amount": "1.50", "currency": "EUR"}))
    result = client_with(make_client, pricing).simulate_get("/items/apple/price")
    assert result.status_code == 200
    assert result.json == {"key": "apple", "price": {"amount": "1.50", "currency": "EUR"}}


def test_the_call_carries_our_request_id_and_the_key(make_client):
    pricing = PricingStandIn((200, {"amount": "1"}))
    client_with(make_client, pricing).simulate_get(
        "/items/apple/price", headers={"X-Request-ID": "r-7"}
    )
    assert pricing.calls == [("GET", "/prices/apple", "r-7")]


def test_no_price_downstream_is_our_404(make_client):
    result = client_with(make_client, PricingStandIn((404, None))).simulate_get(
        "/items/apple/price"
    )
    assert result.status_code == 404
    assert "no price" in result.json["description"]


@pytest.mark.parametrize("answer", [(500, {"error": "x"}), (200, ["not", "an", "object"])])
def test_an_unusable_answer_is_502(make_client, answer):
    result = client_with(make_client, PricingStandIn(answer)).simulate_get("/items/apple/price")
    assert result.status_code == 502
    assert result.json["title"] == "Bad upstream answer"


def test_an_unreachable_service_is_502(make_client):
    pricing = PricingStandIn(DownstreamError("pricing", "could not be reached"))
    result = client_with(make_client, pricing).simulate_get("/items/apple/price")
    assert result.status_code == 502
    assert "could not be reached" in result.json["description"]


def test_a_timeout_is_504(make_client):
    pricing = PricingStandIn(DownstreamTimeout("pricing", "did not answer in time"))
    result = client_with(make_client, pricing).simulate_get("/items/apple/price")
    assert result.status_code == 504
    assert result.json["title"] == "Upstream timeout"


def test_an_invalid_key_is_400_before_any_call(make_client):
    pricing = PricingStandIn((200, {}))
    result = client_with(make_client, pricing).simulate_get("/items/bad*key/price")
    assert result.status_code == 400
    assert pricing.calls == []


def test_an_item_this_service_does_not_have_is_404_without_a_call(make_client):
    pricing = PricingStandIn((200, {"amount": "1"}))
    result = client_with(make_client, pricing).simulate_get("/items/pear/price")
    assert result.status_code == 404
    assert "no item" in result.json["description"]
    assert pricing.calls == []


def test_without_a_bound_pricing_service_the_price_is_503_saying_how_to_bind(make_client):
    client = make_client()
    client.simulate_put("/items/apple", json={})
    result = client.simulate_get("/items/apple/price")
    assert result.status_code == 503
    assert "PRICING_URL" in result.json["description"]
