"""The outbound client itself, over real HTTP to a real stub: what every call to another
service gets (see example_app/clients.py). The app's own use of it is in test_pricing.py."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer

from example_app.clients import DownstreamError, DownstreamTimeout, ServiceClient
from example_app.config import DownstreamService
from service_tests.harness import SlowJsonAnswer


@pytest.fixture
def client(pricing_stub: HTTPServer) -> ServiceClient:
    service = DownstreamService(name="pricing", url=pricing_stub.url_for("/").rstrip("/"))
    return ServiceClient(service, timeout=0.3)


def test_a_post_is_never_retried_after_a_timeout(client, pricing_stub) -> None:
    slow = SlowJsonAnswer(1.0, {})
    pricing_stub.expect_request("/quotes", method="POST").respond_with_handler(slow)

    with pytest.raises(DownstreamTimeout):
        client.request("POST", "/quotes", "req-1", body={"key": "apple"})

    assert slow.arrivals == 1


def test_a_post_is_never_retried_after_a_503(client, pricing_stub) -> None:
    pricing_stub.expect_request("/quotes", method="POST").respond_with_json({}, status=503)

    status, _ = client.request("POST", "/quotes", "req-1", body={"key": "apple"})

    assert status == 503
    assert len(pricing_stub.log) == 1


def test_a_get_is_retried_twice_after_timeouts(client, pricing_stub) -> None:
    slow = SlowJsonAnswer(1.0, {})
    pricing_stub.expect_request("/prices/apple").respond_with_handler(slow)

    with pytest.raises(DownstreamTimeout):
        client.request("GET", "/prices/apple", "req-1")

    assert slow.arrivals == 3


def test_a_get_without_retries_tries_once(client, pricing_stub) -> None:
    slow = SlowJsonAnswer(1.0, {})
    pricing_stub.expect_request("/health/live").respond_with_handler(slow)

    with pytest.raises(DownstreamTimeout):
        client.request("GET", "/health/live", "req-1", retries=False)

    assert slow.arrivals == 1


def test_the_body_is_sent_as_json_with_the_request_id(client, pricing_stub) -> None:
    pricing_stub.expect_request(
        "/quotes", method="POST", json={"key": "apple"}, headers={"X-Request-ID": "req-9"}
    ).respond_with_json({"quote": 1})

    assert client.request("POST", "/quotes", "req-9", body={"key": "apple"}) == (
        200,
        {"quote": 1},
    )


def test_an_empty_answer_has_no_body(client, pricing_stub) -> None:
    pricing_stub.expect_request("/items/apple", method="DELETE").respond_with_data("", status=204)

    assert client.request("DELETE", "/items/apple", "req-1") == (204, None)


def test_a_refused_connection_without_retries_is_a_downstream_error() -> None:
    service = DownstreamService(name="nowhere", url="http://127.0.0.1:9")
    with pytest.raises(DownstreamError, match="nowhere: could not be reached"):
        ServiceClient(service, timeout=0.3).request("GET", "/", "req-1", retries=False)
