"""How the service tier's tests talk to the app, and look inside the kernel at its sockets.

The processes are the local platform's (local_platform/): `AppServer` is its `App`,
manifest.yml's command under uWSGI, with the requests and log reading the tests use;
the fixtures in conftest.py start and stop it and the bound services. Every wait here is
bounded.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from werkzeug import Request, Response

from example_app.logs import FLUSH_INTERVAL
from local_platform.answer import Answer
from local_platform.app import App
from local_platform.processes import DeployError, PortTaken, wait_until

REPO_ROOT = Path(__file__).resolve().parent.parent

_WORKER_SPAWNED = re.compile(r"spawned uWSGI worker (\d+) \(pid: (\d+)")


def _proc_net_tcp_address(address: tuple[str, int]) -> str:
    host, port = address
    # /proc/net/tcp prints an IPv4 address as its host-order integer, in hex.
    return f"{int.from_bytes(socket.inet_aton(host), sys.byteorder):08X}:{port:04X}"


def server_end(server: tuple[str, int], client: socket.socket) -> tuple[int, int] | None:
    """The inode and unread byte count of the server's end of `client`'s connection.

    The inode is 0 while the connection waits in the listen queue: it gets one when a
    process accept()s it. None when the kernel knows no such connection (any more).
    """
    local = _proc_net_tcp_address(server)
    remote = _proc_net_tcp_address(client.getsockname())
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        # State 06 is TIME_WAIT: what is left of an earlier connection on the same ports.
        if fields[1] == local and fields[2] == remote and fields[3] != "06":
            return int(fields[9]), int(fields[4].split(":")[1], 16)
    return None


def listening_inodes(server: tuple[str, int]) -> set[int]:
    """The inodes of the sockets listening on `server` (TCP state 0A is LISTEN)."""
    local = _proc_net_tcp_address(server)
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[3] == "0A":
            inodes.add(int(fields[9]))
    return inodes


def socket_inodes(pid: int) -> set[int]:
    """The inodes of the sockets process `pid` has open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def accepted(server: tuple[str, int], client: socket.socket) -> bool:
    end = server_end(server, client)
    return end is not None and end[0] != 0


class SlowJsonAnswer:
    """A stub handler that answers `document` as JSON after `delay` seconds.

    Install it with `stub.expect_request(path).respond_with_handler(...)`; the stub
    serves each request in a thread of its own, so a slow answer blocks nobody else.
    `arrivals` counts requests as they come in: the stub's own log only records a
    request once its answer is sent, after the caller may have given up on it.
    """

    def __init__(self, delay: float, document: Any, status: int = 200) -> None:
        self.delay = delay
        self.document = document
        self.status = status
        self.arrivals = 0
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self._lock:
            self.arrivals += 1
        time.sleep(self.delay)
        body = json.dumps(self.document)
        return Response(body, status=self.status, content_type="application/json")


class AppServer(App):
    """The app as the platform runs it, as the tests drive it."""

    def start(self, *, wait_ready: bool = True, timeout: float = 20.0) -> None:
        super().start()
        if wait_ready:
            self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Wait until GET /health/live answers 200 from every worker of this uWSGI."""
        self.wait_answering("/health/live", timeout)
        cmdline = Path(f"/proc/{self.pid}/cmdline").read_bytes().split(b"\0")
        # Signals from tests (and from the platform) must reach uWSGI's master itself.
        assert Path(cmdline[0].decode()).name == "uwsgi", f"pid {self.pid} runs {cmdline!r}"
        # What answered must be this uWSGI, not another server that took the port first.
        if not listening_inodes((self.host, self.port)) & socket_inodes(self.pid):
            self.stop(keep_metrics=True)  # the metrics directory is the other server's
            raise PortTaken(f"port {self.port} answered, but not from this app")
        problem = self._every_worker_serves(timeout)
        if problem is not None:
            self.stop()
            raise DeployError(f"{problem}; the app's stderr:\n{self.stderr_text()}")

    def _every_worker_serves(self, timeout: float) -> str | None:
        """Have every worker take a request at the same time; None when all answer 200.

        A worker accepts only once it is in its request loop. Before that, between the
        fork and setting up its own signal handlers, a SIGTERM to the master is not
        handled (uWSGI 2.0.31 leaves the worker spinning and the master waiting), so a
        test that signals the app must not do it earlier. Each request is held open with
        its headers half sent (uWSGI's listen socket defers accept() until data comes),
        and a worker serves one request at a time: N accepted means N workers.
        """
        workers = int(self.env.get("WEB_CONCURRENCY") or 2)
        address = (self.host, self.port)
        with contextlib.ExitStack() as stack:
            held = []
            for _ in range(workers):
                client = stack.enter_context(socket.create_connection(address, timeout=timeout))
                client.sendall(b"GET /health/live HTTP/1.1\r\n")
                held.append(client)
            if not wait_until(lambda: all(accepted(address, client) for client in held), timeout):
                return f"not all {workers} uWSGI workers took a request within {timeout} s"
            for client in held:
                try:
                    client.sendall(f"Host: {self.host}:{self.port}\r\n\r\n".encode())
                    response = http.client.HTTPResponse(client)
                    response.begin()
                    body = response.read()
                except (OSError, http.client.HTTPException) as error:
                    return f"GET /health/live failed: {error!r}"
                if response.status != 200:
                    return f"GET /health/live answered {response.status} {body[:300]!r}"
        return None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        timeout: float = 10.0,
    ) -> Answer:
        """One request on a connection of its own, read to the end (stdlib http.client)."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read())
        finally:
            connection.close()

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Answer:
        return self.request("GET", path, headers=headers)

    def post(
        self,
        path: str,
        body: bytes | str | Mapping[str, Any],
        content_type: str | None = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """POST raw bytes, a string, or a mapping sent as JSON."""
        if isinstance(body, Mapping):
            body = json.dumps(body)
        data = body.encode() if isinstance(body, str) else body
        all_headers = dict(headers or {})
        if content_type is not None:
            all_headers["Content-Type"] = content_type
        return self.request("POST", path, body=data, headers=all_headers)

    def log_lines(self) -> list[dict[str, Any]]:
        """The JSON objects the app wrote on stdout so far, one per line."""
        entries = []
        for line in self.stdout_text().splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict):
                    entries.append(entry)
        return entries

    def access_log(self) -> list[dict[str, Any]]:
        """Every access line of the requests answered so far. Workers write them in batches,
        within logs.FLUSH_INTERVAL of the answer: read once that has passed."""
        time.sleep(2 * FLUSH_INTERVAL)
        return [entry for entry in self.log_lines() if entry.get("logger") == "example_app.access"]

    def wait_for_log(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0
    ) -> dict[str, Any]:
        """The first log line that matches, waiting for it to be written if need be."""
        found: list[dict[str, Any]] = []

        def appeared() -> bool:
            found[:] = [entry for entry in self.log_lines() if predicate(entry)]
            return bool(found)

        if not wait_until(appeared, timeout):
            raise AssertionError(f"no matching log line within {timeout} s:\n{self.stdout_text()}")
        return found[0]

    def worker_pids(self) -> dict[int, int]:
        """uWSGI worker id -> pid, from the master's "spawned uWSGI worker" lines."""
        return {int(wid): int(pid) for wid, pid in _WORKER_SPAWNED.findall(self.stderr_text())}

    def send_signal(self, signum: int) -> None:
        os.kill(self.pid, signum)
