"""Slow clients hold a thread each, never the instance, and a slow body only until its deadline.

The attack of issue 11: 4 connections sending their headers a line every 0.7 s and 4
sending a body a byte every 0.7 s, for longer than a body's deadline, while the platform
probes liveness. Run once for the module; each test checks one thing it must leave true.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import pytest

from example_app.body_deadline import BODY_DEADLINE_SECONDS
from local_platform.processes import wait_until
from local_platform.services import Service
from service_tests.conftest import running_app
from service_tests.harness import AppServer

SEND_EVERY_SECONDS = 0.7
SLOW_HEADER_CLIENTS = 4
SLOW_BODY_CLIENTS = 4
SLOW_BODY_LENGTH = 100_000
# The platform's liveness probe gives up after 1 s.
LIVENESS_TIMEOUT_SECONDS = 1.0
PROBE_EVERY_SECONDS = 0.2


@dataclass
class Attack:
    app: AppServer
    workers_before: dict[int, int]
    liveness_seconds: list[float] = field(default_factory=list)
    liveness_failures: list[str] = field(default_factory=list)
    body_answers: list[tuple[float, bytes]] = field(default_factory=list)  # (after s, answer)


def _send_headers_slowly(app: AppServer, stop: threading.Event) -> None:
    with socket.create_connection((app.host, app.port), timeout=5) as client:
        client.sendall(f"GET / HTTP/1.1\r\nHost: {app.host}\r\n".encode())
        while not stop.wait(SEND_EVERY_SECONDS):
            try:
                client.sendall(b"X-Slow: 1\r\n")
            except OSError:
                return


def _send_body_slowly(app: AppServer, stop: threading.Event, attack: Attack) -> None:
    with socket.create_connection((app.host, app.port), timeout=5) as client:
        started = time.monotonic()
        client.sendall(
            f"PUT /items/slow HTTP/1.1\r\nHost: {app.host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {SLOW_BODY_LENGTH}\r\n\r\n{{".encode()
        )
        client.settimeout(SEND_EVERY_SECONDS)
        answer = b""
        while not stop.is_set() and not answer:
            try:
                client.sendall(b" ")
                answer = client.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
        client.settimeout(5)
        while answer and not answer.endswith(b"}"):
            more = client.recv(65536)
            if not more:
                break
            answer += more
        attack.body_answers.append((time.monotonic() - started, answer))


def _probe_liveness(attack: Attack, stop: threading.Event) -> None:
    app = attack.app
    while not stop.wait(PROBE_EVERY_SECONDS):
        started = time.monotonic()
        try:
            response = app.request("GET", "/health/live", timeout=5)
        except OSError as error:
            attack.liveness_failures.append(repr(error))
            continue
        attack.liveness_seconds.append(time.monotonic() - started)
        if response.status != 200:
            attack.liveness_failures.append(str(response.status))


@pytest.fixture(scope="module")
def slow_clients_app(
    tmp_path_factory: pytest.TempPathFactory, bound_services: Mapping[str, Service]
) -> Iterator[AppServer]:
    """An app of the module's own: what it counts and logs is the attack's alone."""
    with running_app(tmp_path_factory.mktemp("slow"), bound_services) as app:
        yield app


@pytest.fixture(scope="module")
def attack(slow_clients_app: AppServer) -> Attack:
    """The attack, over once every slow body has its answer."""
    app_server = slow_clients_app
    attack = Attack(app_server, app_server.worker_pids())
    stop = threading.Event()
    bodies = [
        threading.Thread(target=_send_body_slowly, args=(app_server, stop, attack))
        for _ in range(SLOW_BODY_CLIENTS)
    ]
    others = [
        threading.Thread(target=_send_headers_slowly, args=(app_server, stop))
        for _ in range(SLOW_HEADER_CLIENTS)
    ] + [threading.Thread(target=_probe_liveness, args=(attack, stop))]
    for thread in [*bodies, *others]:
        thread.start()
    for thread in bodies:  # each ends with its answer, due at the deadline
        thread.join(timeout=BODY_DEADLINE_SECONDS + 5)
    stop.set()
    for thread in others:
        thread.join(timeout=10)
    return attack


def test_liveness_answers_within_a_second_throughout(attack: Attack) -> None:
    assert attack.liveness_failures == []
    assert len(attack.liveness_seconds) >= BODY_DEADLINE_SECONDS / PROBE_EVERY_SECONDS / 2
    assert max(attack.liveness_seconds) < LIVENESS_TIMEOUT_SECONDS


def test_a_body_still_arriving_at_its_deadline_gets_408(attack: Attack) -> None:
    assert len(attack.body_answers) == SLOW_BODY_CLIENTS
    for after, answer in attack.body_answers:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 "), answer
        assert json.loads(body)["title"] == "Body timed out"
        assert BODY_DEADLINE_SECONDS <= after < BODY_DEADLINE_SECONDS + 1.5


def test_no_worker_is_killed(attack: Attack) -> None:
    assert attack.app.worker_pids() == attack.workers_before
    assert "HARAKIRI" not in attack.app.stderr_text()


def test_the_attack_counts_no_server_error(attack: Attack) -> None:
    def counted() -> list[str]:
        metrics = attack.app.get("/metrics").text
        return [line for line in metrics.splitlines() if line.startswith("http_requests_total")]

    # Workers publish their counts within a second.
    assert wait_until(lambda: any('status="408"' in line for line in counted()), 3)
    assert not any('status="5' in line for line in counted()), counted()


def test_the_app_writes_no_plain_text_traceback(attack: Attack) -> None:
    output = attack.app.stdout_text() + attack.app.stderr_text()
    assert "Traceback" not in output


def test_the_next_request_is_answered_at_once(attack: Attack) -> None:
    connection = http.client.HTTPConnection(attack.app.host, attack.app.port, timeout=1)
    try:
        connection.request("GET", "/health/live")
        assert connection.getresponse().status == 200
    finally:
        connection.close()
