"""X-Request-ID goes back on the response and into the app's access log line on stdout."""

from __future__ import annotations

import uuid

from service_tests.harness import AppServer


def test_caller_request_id_is_echoed_and_in_the_access_log(app_server: AppServer) -> None:
    request_id = f"service-tier-{uuid.uuid4()}"

    response = app_server.get("/", headers={"X-Request-ID": request_id})

    assert response.status == 200
    assert response.headers["X-Request-ID"] == request_id
    line = app_server.wait_for_log(lambda entry: entry.get("request_id") == request_id)
    assert line["logger"] == "example_app.access"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/", 200)
    assert line["level"] == "INFO"
    assert isinstance(line["duration_ms"], int | float)


def test_request_without_an_id_gets_a_new_one_that_is_logged(app_server: AppServer) -> None:
    path = f"/no/such/{uuid.uuid4().hex}"  # a path of its own, to find its log line

    response = app_server.get(path)

    request_id = response.headers["X-Request-ID"]
    assert request_id
    line = app_server.wait_for_log(lambda entry: entry.get("path") == path)
    assert line["request_id"] == request_id
    assert line["status"] == 404
