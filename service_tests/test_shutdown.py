"""SIGTERM, as Cloud Foundry sends it before SIGKILL 10 s later: drain, then exit 0."""

from __future__ import annotations

import http.client
import itertools
import json
import os
import signal
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from local_platform.processes import wait_until
from local_platform.services import RedisService
from service_tests.conftest import AppFactory
from service_tests.harness import AppServer, server_end

# uwsgi.ini's worker-reload-mercy: the longest a drain may take.
DRAIN_LIMIT_SECONDS = 8


def test_sigterm_on_an_idle_app_exits_0_within_5_seconds(start_app: AppFactory) -> None:
    app = start_app()
    workers = app.worker_pids()

    app.send_signal(signal.SIGTERM)

    assert app.wait_exit(timeout=5) == 0
    assert "goodbye to uWSGI" in app.stderr_text()
    assert wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers.values()), 5)


def _in_the_app(app: AppServer, client: socket.socket) -> bool:
    # Accepted by a worker, which has read everything sent so far: the app is now
    # waiting for the rest of the body.
    end = server_end((app.host, app.port), client)
    return end is not None and end[0] != 0 and end[1] == 0


def test_sigterm_finishes_the_request_in_flight_serves_no_new_one_then_exits_0(
    start_app: AppFactory,
) -> None:
    app = start_app()
    body = json.dumps({"alpha": 1, "beta": 2, "Almond": 3}).encode()
    head = (
        f"POST / HTTP/1.1\r\nHost: {app.host}:{app.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    half = len(body) // 2
    with socket.create_connection((app.host, app.port), timeout=10) as client:
        client.sendall(head + body[:half])
        assert wait_until(lambda: _in_the_app(app, client), 5), "no worker took the request"
        app.send_signal(signal.SIGTERM)
        terminated_at = time.monotonic()
        # uWSGI reads the rest of a body for at most 4 s (socket-timeout): be quick.
        assert wait_until(lambda: "shutting down all sockets" in app.stderr_text(), 2)
        try:
            with socket.create_connection((app.host, app.port), timeout=1) as late:
                late.sendall(f"GET / HTTP/1.1\r\nHost: {app.host}:{app.port}\r\n\r\n".encode())
                late_answer = late.recv(1024)
        except ConnectionRefusedError:
            late_answer = b"refused"
        except (ConnectionResetError, TimeoutError):
            late_answer = b""
        client.sendall(body[half:])
        response = http.client.HTTPResponse(client)
        response.begin()
        answer = json.loads(response.read())

    assert not late_answer.startswith(b"HTTP/"), late_answer
    assert (response.status, answer) == (200, {"alpha": 1, "Almond": 3})
    deadline = DRAIN_LIMIT_SECONDS + 1 - (time.monotonic() - terminated_at)
    assert app.wait_exit(timeout=deadline) == 0


def _published_counts(metrics_dir: Path, method: str, route: str, status: int) -> float:
    """The requests every worker published to the metrics directory, added up."""
    return float(
        sum(
            row[3]
            for path in metrics_dir.glob("worker-*.json")
            for row in json.loads(path.read_text())
            if row[:3] == [method, route, status]
        )
    )


def test_sigterm_under_load_loses_no_access_line_and_no_count(start_app: AppFactory) -> None:
    app = start_app()
    answered: list[str] = []
    give_up_at = time.monotonic() + 20

    def keep_sending(client: int) -> None:
        for number in itertools.count():
            if time.monotonic() > give_up_at:
                return
            request_id = f"sigterm-{client}-{number}"
            try:
                response = app.get("/", headers={"X-Request-ID": request_id})
            except ConnectionRefusedError:
                return  # the drain has closed the socket: this client is done
            except (OSError, http.client.HTTPException):
                continue
            if response.status == 200:
                answered.append(request_id)

    with ThreadPoolExecutor(max_workers=8) as pool:
        clients = [pool.submit(keep_sending, client) for client in range(8)]
        assert wait_until(lambda: len(answered) >= 200, 10), "the load never got going"
        app.send_signal(signal.SIGTERM)
        exit_code = app.wait_exit(timeout=DRAIN_LIMIT_SECONDS + 2)
        for client in clients:
            client.result(timeout=25)

    assert exit_code == 0
    logged = [entry["request_id"] for entry in app.access_log() if entry["path"] == "/"]
    assert len(logged) == len(set(logged)), "a request was logged twice"
    assert set(answered) <= set(logged), "an answered request has no access line"
    # Every request the workers logged is counted too: each published its last counts
    # as it exited.
    assert _published_counts(app.metrics_dir, "GET", "/", 200) == len(logged)


@dataclass
class PutOutcomes:
    """What each PUT sent during a drain came to, from the client's side."""

    acknowledged: dict[str, int]  # key -> the value the app said it stored
    refused: int  # never accepted: the platform's router retries these elsewhere
    dropped: list[str]  # accepted, then closed or reset without an answer
    server_errors: list[int]


def _put_until_refused(app: AppServer, client: int, give_up_at: float, out: PutOutcomes) -> None:
    for number in itertools.count():
        if time.monotonic() > give_up_at:
            return
        key = f"drain-{client}-{number}"
        connection = http.client.HTTPConnection(app.host, app.port, timeout=5)
        try:
            try:
                connection.connect()
            except (ConnectionRefusedError, TimeoutError):
                out.refused += 1
                return  # the instance is gone for this client: the router would go elsewhere
            try:
                connection.request(
                    "PUT",
                    f"/items/{key}",
                    body=json.dumps({"n": number}).encode(),
                    headers={"Content-Type": "application/json"},
                )
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as error:
                out.dropped.append(f"{key}: {error!r}")
                continue
            if response.status >= 500:
                out.server_errors.append(response.status)
            elif response.status in (200, 201):
                out.acknowledged[key] = number
        finally:
            connection.close()


@dataclass
class Drain:
    """A SIGTERM sent under PUT load, and how it ended."""

    outcomes: PutOutcomes
    exit_code: int | None
    exited_after: float  # seconds from the signal


def _sigterm_under_put_load(app: AppServer, send_sigterm: Callable[[], None]) -> Drain:
    outcomes = PutOutcomes(acknowledged={}, refused=0, dropped=[], server_errors=[])
    give_up_at = time.monotonic() + 25
    with ThreadPoolExecutor(max_workers=8) as pool:
        clients = [
            pool.submit(_put_until_refused, app, client, give_up_at, outcomes)
            for client in range(8)
        ]
        assert wait_until(lambda: len(outcomes.acknowledged) >= 200, 10), "no load"
        send_sigterm()
        terminated_at = time.monotonic()
        exit_code = app.wait_exit(timeout=DRAIN_LIMIT_SECONDS + 2)
        exited_after = time.monotonic() - terminated_at
        for client in clients:
            client.result(timeout=30)
    return Drain(outcomes, exit_code, exited_after)


def test_sigterm_under_put_load_drops_no_accepted_connection_and_keeps_every_put(
    start_app: AppFactory, redis_server: RedisService
) -> None:
    app = start_app()

    drain = _sigterm_under_put_load(app, lambda: app.send_signal(signal.SIGTERM))

    assert drain.exit_code == 0
    assert drain.exited_after < 10  # Cloud Foundry's SIGKILL comes 10 s after SIGTERM
    assert drain.outcomes.dropped == []
    assert drain.outcomes.server_errors == []
    assert drain.outcomes.refused == 8  # every client ended on a refusal, none on a hang
    stored = redis_server.client()
    for key, number in drain.outcomes.acknowledged.items():
        value = stored.get(f"example-app:item:{key}")
        assert value is not None, key
        assert json.loads(value) == {"n": number}, key


def test_sigterm_to_the_whole_process_group_drains_as_sigterm_to_the_master_does(
    start_app: AppFactory,
) -> None:
    # systemd (KillMode=control-group) and GNU timeout signal every process of the
    # service, the workers too: a worker must leave the stop to the drain, not exit.
    app = start_app()
    assert os.getpgid(app.pid) == app.pid, "the app should lead a process group of its own"

    drain = _sigterm_under_put_load(app, lambda: os.killpg(app.pid, signal.SIGTERM))

    assert drain.exit_code == 0
    assert drain.exited_after < 10
    assert "DAMN" not in app.stderr_text(), "a worker died instead of draining"
    assert drain.outcomes.dropped == []
    assert drain.outcomes.server_errors == []
    assert drain.outcomes.refused == 8
