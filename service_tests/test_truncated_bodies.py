"""Bodies that do not arrive whole, and ambiguous framing, against the app under uWSGI.

A client that declares more than it sends gets 400 when it ends the connection and 408
when it stops sending for uWSGI's socket timeout: never a 500, never an ERROR line or a
traceback. A request with both Content-Length and Transfer-Encoding gets 400 (RFC 9112,
section 6.3). Each request goes over a raw socket, the way such clients send it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import time
import uuid
from collections.abc import Iterator

import pytest

from service_tests.harness import REPO_ROOT, AppServer

DECLARED = 100
SENT = b'{"a": 1,  '  # 10 of the 100 bytes declared


def uwsgi_socket_timeout() -> int:
    """uwsgi.ini's socket-timeout, else uWSGI's default of 4 s."""
    match = re.search(
        r"^socket-timeout\s*=\s*(\d+)", (REPO_ROOT / "uwsgi.ini").read_text(), re.MULTILINE
    )
    return int(match.group(1)) if match else 4


@contextlib.contextmanager
def raw_connection(app: AppServer) -> Iterator[socket.socket]:
    with socket.create_connection((app.host, app.port), timeout=10) as sock:
        yield sock


def head(method: str, path: str, request_id: str, *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost", f"X-Request-ID: {request_id}"]
    return ("\r\n".join([*lines, *headers]) + "\r\n\r\n").encode()


def truncated_post(request_id: str) -> bytes:
    headers = ("Content-Type: application/json", f"Content-Length: {DECLARED}")
    return head("POST", "/", request_id, *headers) + SENT


def read_answer(sock: socket.socket, timeout: float) -> tuple[int, dict[str, str]]:
    sock.settimeout(timeout)
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response.status, json.loads(response.read())


def new_request_id() -> str:
    return f"truncated-{uuid.uuid4().hex}"


def access_line(app: AppServer, request_id: str) -> dict[str, object]:
    return app.wait_for_log(
        lambda line: (
            line.get("logger") == "example_app.access" and line.get("request_id") == request_id
        )
    )


def assert_no_error_logged(app: AppServer, request_id: str) -> None:
    lines = [line for line in app.log_lines() if line.get("request_id") == request_id]
    assert [line for line in lines if line.get("level") in ("ERROR", "CRITICAL")] == []
    assert "Traceback" not in app.stdout_text() + app.stderr_text()


def test_a_body_cut_short_by_a_half_close_is_answered_400(app_server: AppServer) -> None:
    request_id = new_request_id()
    with raw_connection(app_server) as sock:
        sock.sendall(truncated_post(request_id))
        sock.shutdown(socket.SHUT_WR)  # the client has nothing more to send

        status, body = read_answer(sock, timeout=2)

    assert status == 400
    assert body["title"] == "Body ended early"
    assert_no_error_logged(app_server, request_id)


def test_a_body_abandoned_by_a_client_that_closes_is_counted_400_not_500(
    app_server: AppServer,
) -> None:
    request_id = new_request_id()
    with raw_connection(app_server) as sock:
        sock.sendall(truncated_post(request_id))

    # Nobody is left to read the answer: the access log says what it was.
    assert access_line(app_server, request_id)["status"] == 400
    assert_no_error_logged(app_server, request_id)


def test_a_body_that_stops_arriving_is_answered_408_within_the_socket_timeout(
    app_server: AppServer,
) -> None:
    request_id = new_request_id()
    deadline = uwsgi_socket_timeout() + 1
    with raw_connection(app_server) as sock:
        sock.sendall(truncated_post(request_id))
        sent = time.monotonic()

        status, body = read_answer(sock, timeout=deadline + 1)
        waited = time.monotonic() - sent

    assert status == 408
    assert body["title"] == "Body timed out"
    assert waited < deadline, f"answered after {waited:.1f} s"
    assert_no_error_logged(app_server, request_id)


@pytest.mark.parametrize(("method", "path"), [("POST", "/"), ("PUT", "/items/smuggled")])
def test_content_length_with_transfer_encoding_is_answered_400(
    app_server: AppServer, method: str, path: str
) -> None:
    body = b'{"a": 1}'
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    request_id = new_request_id()
    with raw_connection(app_server) as sock:
        sock.sendall(
            head(
                method,
                path,
                request_id,
                "Content-Type: application/json",
                f"Content-Length: {len(chunked)}",
                "Transfer-Encoding: chunked",
            )
            + chunked
        )

        status, answer = read_answer(sock, timeout=5)

    assert status == 400
    assert answer["title"] == "Ambiguous body length"
    assert app_server.get("/items/smuggled").status == 404  # nothing was stored


def test_transfer_encoding_alone_is_still_answered_411(app_server: AppServer) -> None:
    # uWSGI sets CONTENT_LENGTH only when the header came: chunked alone is not ambiguous.
    request_id = new_request_id()
    with raw_connection(app_server) as sock:
        sock.sendall(
            head(
                "POST",
                "/",
                request_id,
                "Content-Type: application/json",
                "Transfer-Encoding: chunked",
            )
            + b'8\r\n{"a": 1}\r\n0\r\n\r\n'
        )

        status, _ = read_answer(sock, timeout=5)

    assert status == 411
