"""Broken and oversized request heads, and refused large bodies, against the app under uWSGI.

Each request goes over a raw socket (the 20 MiB one through http.client, as the client
that met the reset sends it). Each case reads the status line and the JSON body the
client gets, checks that the process wrote no plain-text traceback, and that the next
ordinary request is answered. What uWSGI refuses before Python sees the request (a
header line without a colon, a head over buffer-size, too many header fields) gets the
connection closed without an answer: those cases check that, and that nothing broke.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import pytest

from service_tests.harness import AppServer

MiB = 1024 * 1024


def exchange(app: AppServer, request: bytes, timeout: float = 10) -> bytes:
    """Send `request` whole, then read until the server closes; b"" if it sent nothing.

    A reset after the server's close counts as the end (what it sent before stays read).
    """
    received = b""
    with socket.create_connection((app.host, app.port), timeout=timeout) as sock:
        try:
            sock.sendall(request)
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    return received


def parse(answer: bytes) -> tuple[str, dict[str, str]]:
    """The status line and the JSON body of a whole HTTP answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), json.loads(body)


def assert_unharmed(app: AppServer) -> None:
    assert "Traceback" not in app.stdout_text() + app.stderr_text()
    response = app.get("/health/live")
    assert (response.status, response.json()) == (200, {"status": "up"})


def refused_lines(app: AppServer) -> int:
    """Access lines of requests answered 400 so far."""
    return sum(1 for line in app.access_log() if line["status"] == 400)


@pytest.mark.parametrize(
    "request_line",
    [b"GET /", b"GET", b"GET /items?limit=5"],
    ids=["no-version", "method-only", "query-no-version"],
)
def test_a_request_line_without_an_http_version_is_answered_400_as_json(
    app_server: AppServer, request_line: bytes
) -> None:
    # Sent without headers: uWSGI would read on into them for the target's end.
    logged_before = refused_lines(app_server)

    answer = exchange(app_server, request_line + b"\r\n\r\n")

    status_line, body = parse(answer)
    assert status_line == "HTTP/1.0 400 Bad Request"  # uWSGI's version when none was sent
    assert body["title"] == "Malformed request line"
    assert refused_lines(app_server) == logged_before + 1
    assert_unharmed(app_server)


@pytest.mark.parametrize(
    ("request_head", "status_line", "title"),
    [
        (
            b"GET /items?limit=" + b"1" * 16000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            "HTTP/1.1 414 URI Too Long",
            "URI too long",
        ),
        # 40,000 bytes fit uWSGI's buffer as received, but not twice as its variables: it
        # leaves QUERY_STRING out ("unable to add QUERY_STRING"), and the app notices.
        (
            b"GET /items?limit=" + b"1" * 40000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            "HTTP/1.1 414 URI Too Long",
            "URI too long",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 17000 + b"\r\n\r\n",
            "HTTP/1.1 431 Request Header Fields Too Large",
            "Request header fields too large",
        ),
    ],
    ids=["query-over-the-target-limit", "query-uwsgi-has-no-room-for", "headers-over-the-limit"],
)
def test_a_head_over_its_limits_is_answered_414_or_431_not_served_without_a_part(
    app_server: AppServer, request_head: bytes, status_line: str, title: str
) -> None:
    answer = exchange(app_server, request_head)

    got_status_line, body = parse(answer)
    assert (got_status_line, body["title"]) == (status_line, title)
    assert_unharmed(app_server)


def test_headers_well_within_the_head_limit_are_served(app_server: AppServer) -> None:
    answer = exchange(
        app_server, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 15000 + b"\r\n\r\n"
    )

    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert answer.endswith(b"\r\n\r\nHello world\n")


@pytest.mark.parametrize(
    "raw",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\nNo-Colon-Here\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(150)) + b"\r\n",
    ],
    ids=["header-without-colon", "head-over-buffer-size", "150-header-fields"],
)
def test_what_uwsgi_refuses_itself_is_closed_unanswered_and_harms_nothing(
    app_server: AppServer, raw: bytes
) -> None:
    assert exchange(app_server, raw) == b""
    assert_unharmed(app_server)


def post_with_http_client(app: AppServer, path: str, size: int) -> tuple[int, dict[str, str]]:
    connection = http.client.HTTPConnection(app.host, app.port, timeout=10)
    try:
        connection.request(
            "POST",
            path,
            body=b"{" + b" " * (size - 2) + b"}",
            headers={"Content-Type": "application/json"},
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize(("path", "status"), [("/", 413), ("/nowhere", 404)])
def test_a_20_mib_body_sent_by_http_client_without_expect_gets_its_answer_read(
    app_server: AppServer, path: str, status: int
) -> None:
    assert post_with_http_client(app_server, path, 20 * MiB)[0] == status
    assert_unharmed(app_server)


def test_a_body_that_never_ends_is_cut_off_within_the_drain_caps(app_server: AppServer) -> None:
    # Declares 1 GiB and keeps sending: the app drains 32 MiB at most, for 2 s at most,
    # answers, and closes; the sender then meets a reset.
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += b"Content-Length: %d\r\n\r\n" % (1024 * MiB)
    with socket.create_connection((app_server.host, app_server.port), timeout=10) as sock:
        sock.sendall(head)
        stopped = threading.Event()

        def send_forever() -> None:
            chunk = b" " * 65536
            try:
                while not stopped.is_set():
                    sock.sendall(chunk)
            except OSError:
                pass

        sender = threading.Thread(target=send_forever, daemon=True)
        started = time.monotonic()
        sender.start()
        sender.join(8)
        elapsed = time.monotonic() - started
        stopped.set()

    assert not sender.is_alive(), "the server still reads after 8 s"
    assert elapsed < 2 + 1.5, f"cut off after {elapsed:.1f} s"
    assert_unharmed(app_server)


def test_a_slow_body_is_drained_no_longer_than_the_drain_allows_and_answered(
    app_server: AppServer,
) -> None:
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += b"Content-Length: %d\r\n\r\n" % (20 * MiB)
    with socket.create_connection((app_server.host, app_server.port), timeout=10) as sock:
        sock.sendall(head + b"{" + b" " * 200000)  # then nothing more: a stalled sender
        started = time.monotonic()
        sock.settimeout(5)
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = json.loads(response.read())
        waited = time.monotonic() - started

    assert (response.status, body["title"]) == (413, "413 Content Too Large")
    assert waited < 2 + 0.5, f"answered after {waited:.1f} s"
    assert_unharmed(app_server)
