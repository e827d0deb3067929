"""A request body has a deadline: past it, its reading is cut short (and the app says 408)."""

from __future__ import annotations

import io
import socket
import threading

import falcon
import falcon.testing
import pytest

from example_app.body_deadline import DEADLINE_PASSED, BodyDeadlines, Environ, _shut_reading
from example_app.logs import JsonLines
from example_app.metrics import Metrics
from example_app.middleware import RequestMiddleware


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class SocketInput:
    """A wsgi.input read from a connection, as uWSGI's is: it has the socket's fileno."""

    def __init__(self, descriptor: int) -> None:
        self.descriptor = descriptor

    def fileno(self) -> int:
        return self.descriptor


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def shut() -> list[int]:
    return []


@pytest.fixture
def deadlines(clock: Clock, shut: list[int]) -> BodyDeadlines:
    return BodyDeadlines(seconds=10, clock=clock, shut_reading=shut.append)


@pytest.mark.parametrize(
    ("stream", "watched"), [(io.BytesIO(b"{}"), None), (SocketInput(7), 7)], ids=["bytes", "socket"]
)
def test_a_body_is_watched_by_its_socket_descriptor_if_it_has_one(
    deadlines: BodyDeadlines, stream: object, watched: int | None
) -> None:
    assert deadlines.watch({"wsgi.input": stream}) == watched


def test_at_the_deadline_and_not_before_the_reading_is_shut_and_the_request_told_why(
    deadlines: BodyDeadlines, clock: Clock, shut: list[int]
) -> None:
    environ: Environ = {"wsgi.input": SocketInput(7)}
    deadlines.watch(environ)

    clock.now += 9.9
    assert (deadlines.expire_overdue(), shut, DEADLINE_PASSED in environ) == (0, [], False)
    clock.now += 0.1
    assert (deadlines.expire_overdue(), shut, environ[DEADLINE_PASSED]) == (1, [7], True)


def test_a_body_is_cut_only_once(deadlines: BodyDeadlines, clock: Clock, shut: list[int]) -> None:
    deadlines.watch({"wsgi.input": SocketInput(7)})
    clock.now += 11
    deadlines.expire_overdue()

    assert deadlines.expire_overdue() == 0
    assert shut == [7]


def test_a_request_released_in_time_is_never_cut(
    deadlines: BodyDeadlines, clock: Clock, shut: list[int]
) -> None:
    # Its descriptor may belong to the next connection as soon as it is released.
    descriptor = deadlines.watch({"wsgi.input": SocketInput(7)})
    assert descriptor is not None
    deadlines.release(descriptor)
    clock.now += 60

    assert deadlines.expire_overdue() == 0
    assert shut == []


def test_the_watchdog_cuts_a_real_connection_without_help() -> None:
    server_end, client_end = socket.socketpair()
    with server_end, client_end:
        environ: Environ = {"wsgi.input": SocketInput(server_end.fileno())}
        BodyDeadlines(seconds=0).watch(environ)
        server_end.settimeout(5)

        assert server_end.recv(1) == b""  # the reading side is shut: end of file
        assert environ[DEADLINE_PASSED] is True
        server_end.sendall(b"HTTP/1.1 408 ")  # the answer can still go out
        assert client_end.recv(64) == b"HTTP/1.1 408 "


def test_shutting_a_connection_already_gone_is_harmless() -> None:
    server_end, _ = socket.socketpair()
    descriptor = server_end.fileno()
    server_end.close()

    _shut_reading(descriptor)  # no exception: nothing left to cut


class RecordingDeadlines(BodyDeadlines):
    def __init__(self) -> None:
        super().__init__(seconds=60)
        self.released: list[int] = []

    def release(self, descriptor: int) -> None:
        self.released.append(descriptor)
        super().release(descriptor)


class ReadBody:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.text = req.stream.read(req.content_length or 0).decode()


def test_the_middleware_releases_the_body_of_a_finished_request() -> None:
    deadlines = RecordingDeadlines()
    app = falcon.App(
        middleware=RequestMiddleware(Metrics(None), JsonLines(lambda _: None), False, deadlines)
    )
    app.add_route("/", ReadBody())
    server_end, client_end = socket.socketpair()
    with server_end, client_end, server_end.makefile("rb") as body:
        descriptor = body.fileno()
        client_end.sendall(b"hello")

        environ = falcon.testing.create_environ("/", method="POST", headers={"Content-Length": "5"})
        environ["wsgi.input"] = body  # as uWSGI gives it: read from the connection
        answer = b"".join(app(environ, falcon.testing.StartResponseMock()))

    assert answer == b"hello"
    assert deadlines.released == [descriptor]


def test_one_watchdog_thread_serves_every_body() -> None:
    deadlines = BodyDeadlines(seconds=60)
    before = threading.active_count()

    deadlines.watch({"wsgi.input": SocketInput(7)})
    deadlines.watch({"wsgi.input": SocketInput(8)})

    assert threading.active_count() == before + 1
