"""The service-to-service call, GET /items/{key}/price, against a real HTTP stub of the
pricing service: request ids passed on, timeouts, retries, and 502/504 mapping."""

from __future__ import annotations

from pytest_httpserver import HTTPServer

from local_platform.services import RedisService
from service_tests.conftest import AppFactory
from service_tests.harness import AppServer, SlowJsonAnswer


def have_item(app: AppServer, key: str = "apple") -> None:
    """Only items the service has are priced: store one first."""
    response = app.request("PUT", f"/items/{key}", b"{}", {"Content-Type": "application/json"})
    assert response.status in (200, 201)


def test_the_price_comes_from_the_pricing_service(
    app_server: AppServer, pricing_stub: HTTPServer
) -> None:
    pricing_stub.expect_request("/prices/apple", method="GET").respond_with_json(
        {"amount": "1.50", "currency": "EUR"}
    )

    have_item(app_server)
    response = app_server.get("/items/apple/price")

    assert response.status == 200
    assert response.json() == {"key": "apple", "price": {"amount": "1.50", "currency": "EUR"}}


def test_our_request_id_goes_to_the_pricing_service(
    app_server: AppServer, pricing_stub: HTTPServer
) -> None:
    pricing_stub.expect_request("/prices/apple").respond_with_json({"amount": "1"})

    have_item(app_server)
    app_server.get("/items/apple/price", headers={"X-Request-ID": "trace-me-42"})

    (request, _), *_ = pricing_stub.log
    assert request.headers["X-Request-ID"] == "trace-me-42"


def test_no_price_downstream_is_our_404(app_server: AppServer, pricing_stub: HTTPServer) -> None:
    pricing_stub.expect_request("/prices/apple").respond_with_json({}, status=404)

    have_item(app_server)
    response = app_server.get("/items/apple/price")

    assert response.status == 404
    assert "no price" in response.json()["description"]


def test_a_slow_pricing_service_is_504_after_bounded_retries(
    start_app: AppFactory, pricing_stub: HTTPServer
) -> None:
    app = start_app(OUTBOUND_TIMEOUT="0.3")
    slow = SlowJsonAnswer(1.0, {"amount": "1"})
    pricing_stub.expect_request("/prices/apple").respond_with_handler(slow)

    have_item(app)
    response = app.get("/items/apple/price")

    assert response.status == 504
    assert response.json()["title"] == "Upstream timeout"
    # GET is idempotent: the first try and 2 retries, then no more.
    assert slow.arrivals == 3


def test_a_pricing_service_answering_503_is_retried_then_502(
    app_server: AppServer, pricing_stub: HTTPServer
) -> None:
    pricing_stub.expect_request("/prices/apple").respond_with_json({}, status=503)

    have_item(app_server)
    response = app_server.get("/items/apple/price")

    assert response.status == 502
    assert len(pricing_stub.log) == 3


def test_a_pricing_service_answering_500_is_502_without_retry(
    app_server: AppServer, pricing_stub: HTTPServer
) -> None:
    pricing_stub.expect_request("/prices/apple").respond_with_data("boom", status=500)

    have_item(app_server)
    response = app_server.get("/items/apple/price")

    assert response.status == 502
    assert response.json()["title"] == "Bad upstream answer"
    assert len(pricing_stub.log) == 1


def test_a_pricing_service_answering_garbage_is_502(
    app_server: AppServer, pricing_stub: HTTPServer
) -> None:
    pricing_stub.expect_request("/prices/apple").respond_with_data(
        "<html>oops</html>", content_type="text/html"
    )

    have_item(app_server)
    response = app_server.get("/items/apple/price")

    assert response.status == 502
    assert "invalid JSON" in response.json()["description"]


def test_an_unreachable_pricing_service_is_502(
    start_app: AppFactory, redis_server: RedisService
) -> None:
    # A binding that points nowhere: nothing listens on port 9 of this machine.
    app = start_app(
        VCAP_SERVICES=None, REDIS_URL=redis_server.url, PRICING_URL="http://127.0.0.1:9"
    )

    have_item(app)
    response = app.get("/items/apple/price")

    assert response.status == 502
    assert "could not be reached" in response.json()["description"]


def test_a_critical_pricing_service_that_is_down_makes_readiness_503(
    start_app: AppFactory, pricing_stub: HTTPServer
) -> None:
    app = start_app(VCAP_SERVICES=None, PRICING_URL=pricing_stub.url_for("/"))
    app_critical = start_app(
        VCAP_SERVICES=None, PRICING_URL=pricing_stub.url_for("/"), PRICING_CRITICAL="true"
    )
    pricing_stub.expect_request("/health/live").respond_with_json({}, status=503)

    assert app.get("/health/ready").status == 200  # not critical: not checked
    ready = app_critical.get("/health/ready")
    assert ready.status == 503
    assert ready.json()["checks"]["pricing"]["status"] == "down"


def test_a_critical_pricing_service_that_is_up_keeps_readiness_200(
    start_app: AppFactory, pricing_stub: HTTPServer
) -> None:
    app = start_app(
        VCAP_SERVICES=None, PRICING_URL=pricing_stub.url_for("/"), PRICING_CRITICAL="true"
    )
    pricing_stub.expect_request("/health/live").respond_with_json({"status": "up"})

    ready = app.get("/health/ready")

    assert ready.status == 200
    assert ready.json()["checks"]["pricing"]["status"] == "up"
