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


def test_unknown_path_is_404_as_json_naming_the_path_even_when_xml_is_preferred(client):
    result = client.simulate_get("/no/such/thing", headers={"Accept": "application/xml"})

    assert result.status_code == 404
    assert result.headers["Content-Type"] == "application/json"
    assert result.json == {
        "title": "404 Not Found",
        "description": "There is nothing at /no/such/thing.",
    }


def test_delete_root_is_405_as_json_naming_method_path_and_the_allowed_ones(client):
    result = client.simulate_delete("/")

    assert result.status_code == 405
    allowed = {method.strip() for method in result.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "DELETE" not in allowed
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


def test_http_error_without_description_gets_its_title_as_description(make_app):
    class Forbidden:
        def on_get(self, req, resp):
            raise falcon.HTTPForbidden()

    app = make_app()
    app.add_route("/forbidden", Forbidden())

    result = falcon.testing.TestClient(app).simulate_get("/forbidden")

    assert result.status_code == 403
    assert result.json == {"title": "403 Forbidden", "description": "403 Forbidden"}


def test_unexpected_exception_is_500_as_json_without_the_error_detail(failing_client):
    result = failing_client.simulate_get("/fail")

    assert result.status_code == 500
    assert result.headers["Content-Type"] == "application/json"
    assert result.json == {
        "title": "500 Internal Server Error",
        "description": "The service failed to handle this request; the error has been logged.",
    }
    for leak in ("Traceback", "RuntimeError", "secret detail"):
        assert leak not in result.text


def test_unexpected_exception_is_logged_with_its_traceback(failing_client, logs):
    failing_client.simulate_get("/fail")

    [entry] = logs.by_logger("example_app.errors")
    assert (entry["level"], entry["message"]) == ("ERROR", "unhandled error")
    assert (entry["method"], entry["path"]) == ("GET", "/fail")
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert "RuntimeError: the secret detail of a bug" in entry["exception"]


@pytest.mark.parametrize(
    ("method", "path", "status_code"),
    [("GET", "/missing", 404), ("PUT", "/health/live", 405), ("GET", "/fail", 500)],
)
def test_every_error_response_is_json_without_traceback(failing_client, method, path, status_code):
    result = failing_client.simulate_request(method, path)

    assert result.status_code == status_code
    assert result.headers["Content-Type"] == "application/json"
    assert set(result.json) == {"title", "description"}
    assert "Traceback" not in result.text
