"""SIGTERM's drain: new connections ignored, queued ones left to the workers, then the stop.

On real loopback sockets in this process: the kernel's behaviour is what is specified.
"""

from __future__ import annotations

import os
import select
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from example_app import drain
from example_app.drain import (
    ROUTED_SIGTERM,
    ListenQueueDrain,
    queued_connections,
    refuse_new_connections,
    request_stop,
)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0), backlog=16) as server:
        yield server


def connect(listener: socket.socket) -> socket.socket:
    return socket.create_connection(listener.getsockname(), timeout=2)


def connects_within(listener: socket.socket, seconds: float) -> bool:
    client = socket.socket()
    client.setblocking(False)
    try:
        client.connect_ex(listener.getsockname())
        _, writable, _ = select.select([], [client], [], seconds)
        return bool(writable) and client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    finally:
        client.close()


def test_queued_connections_counts_those_no_one_has_accepted(listener: socket.socket) -> None:
    with connect(listener), connect(listener):
        assert queued_connections(listener.fileno()) == 2
        listener.accept()[0].close()
        assert queued_connections(listener.fileno()) == 1


def test_after_refusing_new_connections_none_completes(listener: socket.socket) -> None:
    assert connects_within(listener, 1)
    listener.accept()[0].close()

    refuse_new_connections(listener.fileno())

    assert not connects_within(listener, 0.3)


def test_a_connection_queued_before_the_refusal_is_still_served(listener: socket.socket) -> None:
    with connect(listener) as client:
        refuse_new_connections(listener.fileno())
        client.sendall(b"GET / HTTP/1.1\r\n\r\n")

        accepted, _ = listener.accept()
        with accepted:
            assert accepted.recv(64) == b"GET / HTTP/1.1\r\n\r\n"
            accepted.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
            assert client.recv(64) == b"HTTP/1.1 200 OK\r\n\r\n"


def test_request_stop_writes_q_to_the_master_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "master.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # as the uWSGI master holds it
    try:
        request_stop(str(fifo))
        assert os.read(reader, 16) == b"q"
    finally:
        os.close(reader)


def test_the_drain_stops_once_the_queue_is_empty(listener: socket.socket) -> None:
    stops: list[str] = []
    with connect(listener):

        def take_it() -> None:  # as a worker would
            listener.accept()[0].close()

        taker = threading.Timer(0.2, take_it)
        taker.start()
        ListenQueueDrain([listener.fileno()], lambda: stops.append("q")).run()
        taker.join()

    assert stops == ["q"]
    assert queued_connections(listener.fileno()) == 0


def test_the_drain_gives_up_waiting_and_stops_anyway(
    listener: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    ticks = iter(range(0, 1000))
    stops: list[str] = []
    with connect(listener):  # queued, and no worker takes it
        ListenQueueDrain(
            [listener.fileno()], lambda: stops.append("q"), clock=lambda: next(ticks) / 10
        ).run()

    assert stops == ["q"]
    assert "still queued" in caplog.text


def test_a_drain_that_fails_still_stops(caplog: pytest.LogCaptureFixture) -> None:
    closed = socket.socket()
    descriptor = closed.fileno()
    closed.close()
    stops: list[str] = []

    ListenQueueDrain([descriptor], lambda: stops.append("q")).run()

    assert stops == ["q"]
    assert "drain failed" in caplog.text


class FakeUwsgi:
    """The parts of the `uwsgi` module the drain uses."""

    def __init__(self, fifo: bytes | None, sockets: list[int]) -> None:
        self.opt = {"master-fifo": fifo} if fifo else {}
        self.sockets = sockets
        self.handlers: dict[int, tuple[str, Callable[[int], None]]] = {}

    def register_signal(self, number: int, target: str, handler: Callable[[int], None]) -> None:
        self.handlers[number] = (target, handler)


def test_a_second_sigterm_starts_no_second_drain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[object] = []
    monkeypatch.setattr(
        threading,
        "Thread",
        lambda **kwargs: SimpleNamespace(start=lambda: started.append(kwargs)),
    )
    uwsgi = FakeUwsgi(str(tmp_path / "fifo").encode(), [])
    drain.register(uwsgi)
    _, on_sigterm = uwsgi.handlers[ROUTED_SIGTERM]

    on_sigterm(ROUTED_SIGTERM)
    on_sigterm(ROUTED_SIGTERM)

    assert len(started) == 1


def test_without_a_master_fifo_the_app_does_not_start() -> None:
    with pytest.raises(RuntimeError, match="master-fifo"):
        drain.register(FakeUwsgi(None, []))
