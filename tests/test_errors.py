"""Error responses: always a small JSON body, never a traceback; bugs are logged, not leaked."""

from __future__ import annotations

import falcon
import falcon.testing
import pytest


class FailingResource:
    def on_get(self, req, resp):
        raise RuntimeError("the secret detail of a bug")


@pytest.fixture
def failing_client(make_app):
    """An app with one extra route, /fail, whose responder raises RuntimeError."""
    app = make_app()
    app.add_route("/fail", FailingResource())
    return falcon.testing.TestClient(app)


def test_unknown_path_is_404(client):
    result = client.simulate_get("/no/such/thing")

    assert result.status_code == 404


def test_404_is_json_with_title_and_description_naming_the_path(client):
    result = client.simulate_get("/no/such/thing")

    assert result.headers["Content-Type"] == "application/json"
    assert result.json == {
        "title": "404 Not Found",
        "description": "There is nothing at /no/such/thing.",
    }


def test_delete_root_is_405(client):
    result = client.simulate_delete("/")

    assert result.status_code == 405


def test_405_allow_header_lists_get_and_post(client):
    result = client.simulate_delete("/")

    allowed = {method.strip() for method in result.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "DELETE" not in allowed


def test_405_is_json_with_description_naming_method_path_and_allowed(client):
    result = client.simulate_delete("/")

    assert result.headers["Content-Type"] == "application/json"
    assert result.json["title"] == "405 Method Not Allowed"
    description = result.json["description"]
    assert description.startswith("DELETE is not allowed on /; allowed: ")
    assert "GET" in description
    assert "POST" in description


def test_options_root_is_200_with_allow_header(client):
    result = client.simulate_options("/")

    assert result.status_code == 200
    allowed = {method.strip() for method in result.headers["Allow"].split(",")}
    assert allowed == {"GET", "POST"}


def test_error_is_json_even_when_client_prefers_xml(client):
    result = client.simulate_get("/no/such/thing", headers={"Accept": "application/xml"})

    assert result.headers["Content-Type"] == "application/json"
    assert result.json["title"] == "404 Not Found"


def test_http_error_without_description_gets_its_title_as_description(make_app):
    class Forbidden:
        def on_get(self, req, resp):
            raise falcon.HTTPForbidden()

    app = make_app()
    app.add_route("/forbidden", Forbidden())

    result = falcon.testing.TestClient(app).simulate_get("/forbidden")

    assert result.status_code == 403
    assert result.json == {"title": "403 Forbidden", "description": "403 Forbidden"}


def test_unexpected_exception_is_500(failing_client):
    result = failing_client.simulate_get("/fail")

    assert result.status_code == 500


def test_unexpected_exception_body_is_json_with_title_and_description(failing_client):
    result = failing_client.simulate_get("/fail")

    assert result.headers["Content-Type"] == "application/json"
    assert result.json == {
        "title": "500 Internal Server Error",
        "description": "The service failed to handle this request; the error has been logged.",
    }


def test_unexpected_exception_body_has_no_traceback_or_error_detail(failing_client):
    result = failing_client.simulate_get("/fail")

    assert "Traceback" not in result.text
    assert "RuntimeError" not in result.text
    assert "secret detail" not in result.text


def test_unexpected_exception_is_logged_with_its_traceback(failing_client, logs):
    failing_client.simulate_get("/fail")

    [entry] = logs.by_logger("example_app.errors")
    assert entry["level"] == "ERROR"
    assert entry["message"] == "unhandled error"
    assert entry["method"] == "GET"
    assert entry["path"] == "/fail"
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert "RuntimeError: the secret detail of a bug" in entry["exception"]


@pytest.mark.parametrize(
    ("method", "path", "status_code"),
    [
        ("GET", "/missing", 404),
        ("DELETE", "/", 405),
        ("PUT", "/health/live", 405),
        ("GET", "/fail", 500),
    ],
)
def test_every_error_response_is_json_without_traceback(failing_client, method, path, status_code):
    result = failing_client.simulate_request(method, path)

    assert result.status_code == status_code
    assert result.headers["Content-Type"] == "application/json"
    assert set(result.json) == {"title", "description"}
    assert "Traceback" not in result.text
