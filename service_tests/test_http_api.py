"""The API over real HTTP, through uWSGI: answers, error bodies and headers."""

from __future__ import annotations

import http.client
import json

import pytest

from service_tests.harness import AppServer


def test_get_root_answers_hello_world_as_text_plain(app_server: AppServer) -> None:
    response = app_server.get("/")

    assert response.status == 200
    assert response.text == "Hello world\n"
    assert response.headers["Content-Type"].startswith("text/plain")


def test_post_root_keeps_only_keys_starting_with_a(app_server: AppServer) -> None:
    response = app_server.post("/", {"abra": 1, "kadabra": 2, "Alakazam": 3})

    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {"abra": 1, "Alakazam": 3}


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/", b'{"abra": ', 400),
        ("GET", "/no/such/thing", None, 404),
        ("DELETE", "/", None, 405),
        ("POST", "/items", b"{}", 405),
    ],
    ids=["malformed-json", "unknown-path", "unsupported-method", "post-items"],
)
def test_an_error_reaches_the_client_as_a_json_body_never_a_traceback(
    app_server: AppServer, method: str, path: str, body: bytes | None, status: int
) -> None:
    # What each error says: tests/test_errors.py and tests/test_json_body_rules.py.
    headers = {"Content-Type": "application/json"} if body else {}
    response = app_server.request(method, path, body, headers)

    assert response.status == status
    assert response.headers["Content-Type"] == "application/json"
    assert set(response.json()) == {"title", "description"}
    assert "Traceback" not in response.text


def test_post_declaring_a_body_over_the_limit_is_413_before_it_is_sent(
    app_server: AppServer,
) -> None:
    # Only the headers go out: the app must refuse on Content-Length alone (default 1 MiB).
    connection = http.client.HTTPConnection(app_server.host, app_server.port, timeout=10)
    try:
        connection.putrequest("POST", "/")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(1024 * 1024 + 1))
        connection.endheaders()
        response = connection.getresponse()
        raw = response.read().decode()
    finally:
        connection.close()

    assert response.status == 413
    assert response.headers["Content-Type"].startswith("application/json")
    assert "1048576 bytes" in json.loads(raw)["description"]


def test_responses_carry_no_server_header(app_server: AppServer) -> None:
    answers = [app_server.get("/"), app_server.get("/no/such/thing"), app_server.get("/info")]

    assert [response.headers.get("Server") for response in answers] == [None, None, None]


def test_a_client_reusing_its_connection_gets_every_answer(app_server: AppServer) -> None:
    # uWSGI's HTTP socket closes after each response; saying so (Connection: close) lets
    # a keep-alive client reconnect instead of failing on a closed connection.
    connection = http.client.HTTPConnection(app_server.host, app_server.port, timeout=10)
    try:
        statuses = []
        for _ in range(5):
            connection.request("GET", "/")
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
            assert response.headers["Connection"] == "close"
    finally:
        connection.close()
    assert statuses == [200] * 5
