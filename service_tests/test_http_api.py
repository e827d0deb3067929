"""The API over real HTTP, through uWSGI: answers, error bodies and headers."""

from __future__ import annotations

import http.client
import json

from service_tests.harness import AppServer


def assert_json_error_body(body: dict[str, object], raw: str) -> None:
    """Every error is a JSON object with a title and a description, never a traceback."""
    assert isinstance(body.get("title"), str)
    assert body["title"]
    assert isinstance(body.get("description"), str)
    assert body["description"]
    assert "Traceback" not in raw


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


def test_post_with_another_media_type_is_415_with_a_json_error(app_server: AppServer) -> None:
    response = app_server.post("/", '{"abra": 1}', content_type="text/plain")

    assert response.status == 415
    assert response.headers["Content-Type"].startswith("application/json")
    assert_json_error_body(response.json(), response.text)


def test_post_with_malformed_json_is_400_with_a_json_error(app_server: AppServer) -> None:
    response = app_server.post("/", '{"abra": ')

    assert response.status == 400
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["title"] == "Malformed JSON"
    assert_json_error_body(response.json(), response.text)


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
    assert_json_error_body(json.loads(raw), raw)


def test_unknown_path_is_404_with_a_json_error(app_server: AppServer) -> None:
    response = app_server.get("/no/such/thing")

    assert response.status == 404
    assert response.json()["description"] == "There is nothing at /no/such/thing."
    assert_json_error_body(response.json(), response.text)


def test_unsupported_method_is_405_with_an_allow_header(app_server: AppServer) -> None:
    response = app_server.request("DELETE", "/")

    assert response.status == 405
    assert {method.strip() for method in response.headers["Allow"].split(",")} >= {"GET", "POST"}
    assert_json_error_body(response.json(), response.text)


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
