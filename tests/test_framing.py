"""Requests uWSGI hands over broken or too large (GuardedApp), and unread bodies drained.

uWSGI's environ is imitated here: what its HTTP parser leaves out of the environ when a
request line has no version, or when a variable outgrows its buffer (example_app/framing.py).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import falcon
import falcon.testing
import pytest

from example_app import framing
from example_app.framing import (
    MAX_HEAD_BYTES,
    MAX_TARGET_BYTES,
    UNREAD_ALLOWANCE,
    drain_unread_body,
)


@pytest.fixture
def app(make_app: Callable[..., falcon.App[Any, Any]]) -> falcon.App[Any, Any]:
    return make_app()


@pytest.fixture
def plain_client(app) -> falcon.testing.TestClient:
    """Not checked against the OpenAPI document, which lists neither 414 nor 431: any
    operation can get them, before any routing."""
    return falcon.testing.TestClient(app)


def call(app: falcon.App[Any, Any], environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    start_response = falcon.testing.StartResponseMock()
    body = b"".join(app(environ, start_response))
    assert start_response.status is not None
    status = int(start_response.status.split()[0])
    return status, json.loads(body) if body.startswith(b"{") else {}


def uwsgi_environ(**changes: str | None) -> dict[str, Any]:
    """GET / as uWSGI passes it, with `changes`; None leaves a variable out."""
    environ: dict[str, Any] = falcon.testing.create_environ("/")
    environ["REQUEST_URI"] = "/"
    for name, value in changes.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return environ


NO_TARGET = {"PATH_INFO": None, "REQUEST_URI": None, "QUERY_STRING": None}


@pytest.mark.parametrize(
    "changes",
    [
        # `GET /`: uWSGI finds no space after the target, so no PATH_INFO, no REQUEST_URI.
        {**NO_TARGET, "SERVER_PROTOCOL": None},
        {**NO_TARGET, "SERVER_PROTOCOL": None, "REQUEST_METHOD": None},
        # `GET /?a=1`: PATH_INFO is set at the "?", nothing after it.
        {"REQUEST_URI": None, "QUERY_STRING": None, "SERVER_PROTOCOL": None},
        # `GET /a b HTTP/1.1`: uWSGI takes "b HTTP/1.1" for the protocol.
        {"SERVER_PROTOCOL": "b HTTP/1.1"},
    ],
    ids=["no-version", "method-alone", "query-no-version", "protocol-not-http"],
)
def test_a_request_line_uwsgi_could_not_parse_is_answered_400(app, changes):
    status, body = call(app, uwsgi_environ(**changes))

    assert (status, body["title"]) == (400, "Malformed request line")


@pytest.mark.parametrize(
    "changes",
    [
        {"PATH_INFO": "/items", "REQUEST_URI": "/items?limit=5", "QUERY_STRING": None},
        {"PATH_INFO": None, "REQUEST_URI": "/" + "a" * 40000},
    ],
    ids=["query", "path"],
)
def test_a_target_uwsgi_had_no_room_for_is_answered_414_not_served_without_it(app, changes):
    status, body = call(app, uwsgi_environ(**changes))

    assert (status, body["title"]) == (414, "URI too long")


def test_a_server_that_leaves_out_an_empty_query_string_is_served(app):
    # PEP 3333 lets a server leave out an empty QUERY_STRING.
    start_response = falcon.testing.StartResponseMock()

    body = b"".join(app(uwsgi_environ(QUERY_STRING=None, REQUEST_URI=None), start_response))

    assert (start_response.status, body) == ("200 OK", b"Hello world\n")


def test_a_target_over_the_limit_is_answered_414(plain_client):
    query = "limit=5&pad=" + "x" * (MAX_TARGET_BYTES - len("/items") - len("limit=5&pad=") + 1)

    result = plain_client.simulate_get("/items", query_string=query)

    assert result.status_code == 414
    assert result.json["description"] == "The path and query must be at most 8192 bytes."


def test_a_target_at_the_limit_is_served(plain_client):
    query = "limit=5&pad=" + "x" * (MAX_TARGET_BYTES - len("/items") - len("limit=5&pad="))

    assert plain_client.simulate_get("/items", query_string=query).status_code == 200


def test_headers_over_the_limit_are_answered_431(plain_client):
    result = plain_client.simulate_get("/", headers={"X-Padding": "x" * MAX_HEAD_BYTES})

    assert result.status_code == 431
    assert result.json["title"] == "Request header fields too large"


def test_a_refused_head_is_logged_and_counted_with_its_request_id(make_app, log_capture):
    app = make_app()
    environ = uwsgi_environ(PATH_INFO=None, REQUEST_URI=None, QUERY_STRING=None)
    environ["HTTP_X_REQUEST_ID"] = "broken-line-1"

    call(app, environ)

    (line,) = log_capture.by_logger("example_app.access")
    assert (line["status"], line["request_id"], line["method"], line["path"]) == (
        400,
        "broken-line-1",
        "GET",
        "-",
    )
    metrics = falcon.testing.TestClient(app).simulate_get("/metrics").text
    assert 'method="GET",route="<unmatched>",status="400"' in metrics


class SocketInput:
    """wsgi.input as uWSGI's: read(n) returns n bytes, tell() and fileno() answer."""

    def __init__(self, sock: socket.socket, position: int = 0) -> None:
        self.sock = sock
        self.position = position
        self.fail = False

    def read(self, size: int) -> bytes:
        if self.fail:
            raise OSError(f"error during read({size}) on wsgi.input")
        data = self.sock.recv(size, socket.MSG_WAITALL)
        self.position += len(data)
        return data

    def tell(self) -> int:
        return self.position

    def fileno(self) -> int:
        return self.sock.fileno()


@pytest.fixture
def connection() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(client, server): the two ends of a connection."""
    client, server = socket.socketpair()
    with contextlib.closing(client), contextlib.closing(server):
        yield client, server


def send_in_background(client: socket.socket, data: bytes, pause: float = 0.0) -> threading.Thread:
    def send() -> None:
        with contextlib.suppress(OSError):
            for start in range(0, len(data), 65536):
                client.sendall(data[start : start + 65536])
                time.sleep(pause)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def body_environ(stream: Any, declared: int) -> dict[str, Any]:
    return {"CONTENT_LENGTH": str(declared), "wsgi.input": stream}


def test_drain_reads_an_unread_body_until_what_is_left_is_harmless(connection):
    client, server = connection
    declared = 3 * 1024 * 1024
    sender = send_in_background(client, b"x" * declared)

    drained = drain_unread_body(body_environ(SocketInput(server), declared))

    assert drained == declared - UNREAD_ALLOWANCE
    server.recv(UNREAD_ALLOWANCE, socket.MSG_WAITALL)
    sender.join(5)
    assert not sender.is_alive()  # the client could send its whole body


def test_drain_counts_what_the_app_already_read(connection):
    client, server = connection
    declared = 1024 * 1024
    already_read = 512 * 1024
    send_in_background(client, b"x" * (declared - already_read))

    drained = drain_unread_body(body_environ(SocketInput(server, already_read), declared))

    assert drained == declared - already_read - UNREAD_ALLOWANCE


def test_drain_leaves_a_small_unread_body_alone(connection):
    _, server = connection

    assert drain_unread_body(body_environ(SocketInput(server), UNREAD_ALLOWANCE)) == 0


def test_drain_stops_at_its_byte_cap(connection, monkeypatch):
    monkeypatch.setattr(framing, "DRAIN_MAX_BYTES", 256 * 1024)
    client, server = connection
    send_in_background(client, b"x" * (2 * 1024 * 1024))

    assert drain_unread_body(body_environ(SocketInput(server), 100 * 1024 * 1024)) == 256 * 1024


def test_drain_stops_at_its_time_cap_for_a_sender_that_trickles(connection, monkeypatch):
    monkeypatch.setattr(framing, "DRAIN_MAX_SECONDS", 0.3)
    client, server = connection
    send_in_background(client, b"x" * (4 * 1024 * 1024), pause=0.02)
    started = time.monotonic()

    drained = drain_unread_body(body_environ(SocketInput(server), 100 * 1024 * 1024))

    assert 0 < drained < 4 * 1024 * 1024
    assert time.monotonic() - started < 0.3 + framing.DRAIN_IDLE_SECONDS


def test_drain_stops_when_the_sender_stalls(connection, monkeypatch):
    monkeypatch.setattr(framing, "DRAIN_IDLE_SECONDS", 0.1)
    client, server = connection
    client.sendall(b"x" * 1000)
    started = time.monotonic()

    drained = drain_unread_body(body_environ(SocketInput(server), 10 * 1024 * 1024))

    assert drained == 1000
    assert time.monotonic() - started < 1.0


def test_drain_stops_when_the_client_closes(connection):
    client, server = connection
    client.sendall(b"x" * 1000)
    client.shutdown(socket.SHUT_WR)
    started = time.monotonic()

    assert drain_unread_body(body_environ(SocketInput(server), 10 * 1024 * 1024)) == 1000
    assert time.monotonic() - started < framing.DRAIN_IDLE_SECONDS


def test_drain_stops_at_a_read_error(connection):
    client, server = connection
    client.sendall(b"x" * 1000)
    stream = SocketInput(server)
    stream.fail = True

    assert drain_unread_body(body_environ(stream, 10 * 1024 * 1024)) == 0


@pytest.mark.parametrize("declared", ["", "many"])
def test_drain_ignores_a_length_that_is_no_number(connection, declared):
    _, server = connection

    assert drain_unread_body({"CONTENT_LENGTH": declared, "wsgi.input": SocketInput(server)}) == 0


def test_drain_leaves_a_stream_alone_that_cannot_say_where_it_is():
    class PlainInput:
        def read(self, size: int) -> bytes:
            raise AssertionError("must not be read")

    assert drain_unread_body(body_environ(PlainInput(), 10 * 1024 * 1024)) == 0


def test_the_app_drains_a_body_it_refused_before_answering(app, connection):
    client, server = connection
    declared = 2 * 1024 * 1024
    sender = send_in_background(client, b"x" * declared)
    environ = falcon.testing.create_environ(
        "/", method="POST", headers={"Content-Type": "text/plain"}
    )
    environ["CONTENT_LENGTH"] = str(declared)
    environ["wsgi.input"] = SocketInput(server)

    status, _ = call(app, environ)

    assert status == 415
    assert environ["wsgi.input"].tell() == declared - UNREAD_ALLOWANCE
    server.recv(UNREAD_ALLOWANCE, socket.MSG_WAITALL)
    sender.join(5)
    assert not sender.is_alive()
