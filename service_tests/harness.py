"""The real processes of the service tier and how tests talk to them.

`RedisServer` runs Debian's `redis-server`; `AppServer` runs manifest.yml's own command
(uWSGI with uwsgi.ini), configured only through the environment, as Cloud Foundry does.
The fixtures in conftest.py start and stop them; every wait here is bounded.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
import yaml
from werkzeug import Request, Response

from example_app.config import ENVIRONMENT_VARIABLES
from example_app.logs import FLUSH_INTERVAL

REPO_ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
APP_NAME = "example-app"
REDIS_SERVICE_NAME = "example-app-redis"
PRICING_SERVICE_NAME = "pricing"

# The app under test starts without any value the developer's shell or CI happens to
# have, and gets only what a test gives it.
APP_VARIABLES = ENVIRONMENT_VARIABLES

_WORKER_SPAWNED = re.compile(r"spawned uWSGI worker (\d+) \(pid: (\d+)")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll `condition` until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


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


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's group reused the id
        return False
    return True


def _stop_process_group(process: subprocess.Popen[bytes], timeout: float) -> int | None:
    """SIGTERM the leader and wait; SIGKILL its whole process group as a last resort.

    Each server runs in a session of its own (start_new_session), so its group id is
    its pid and the group holds exactly what it started (uWSGI's workers).
    """
    pgid = process.pid
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            process.wait(5)
    if not wait_until(lambda: not _group_alive(pgid), 5):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    return process.returncode


class PortTakenError(RuntimeError):
    """Another process had the port: start again on another one."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


class RedisServer:
    """Debian's redis-server on a loopback port, no persistence, no config file.

    stop() and start() keep the same port, so a test can take Redis away from a running
    app and bring it back where the app's binding says it is.
    """

    host = LOOPBACK

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port if port is not None else free_port()
        self.log_path = workdir / "redis-server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def client(self, **options: Any) -> redis.Redis:
        """A client of this server with short timeouts (decoded strings unless told)."""
        options.setdefault("decode_responses", True)
        options.setdefault("socket_timeout", 2.0)
        options.setdefault("socket_connect_timeout", 2.0)
        return redis.Redis(host=self.host, port=self.port, **options)

    def start(self, timeout: float = 10.0) -> None:
        if self.running:
            return
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed; `make test` installs it")
        command = [binary, "--bind", self.host, "--port", str(self.port)]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        if not wait_until(self._answers_ping, timeout, interval=0.05) or not self.running:
            returncode = _stop_process_group(self._process, 5)
            if "Address already in use" in self.log_path.read_text():
                raise PortTakenError(f"port {self.port} was taken")
            raise RuntimeError(
                f"redis-server did not answer PING on port {self.port} within {timeout} s "
                f"(exit status {returncode}); its log:\n{self.log_path.read_text()}"
            )

    def stop(self, timeout: float = 10.0) -> None:
        """Shut Redis down (SIGTERM: it closes every client connection and exits)."""
        if self._process is not None:
            _stop_process_group(self._process, timeout)
            self._process = None

    def kill(self) -> None:
        """Kill Redis at once (SIGKILL), as a crash would."""
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(10)
            self._process = None

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Freeze Redis (SIGSTOP): connections stay open but nothing answers, as when a
        host hangs. It thaws (SIGCONT) when the block ends, whatever happens in it."""
        assert self._process is not None
        os.killpg(self._process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.killpg(self._process.pid, signal.SIGCONT)

    def flushall(self) -> None:
        with contextlib.closing(self.client()) as client:
            client.flushall()

    def _answers_ping(self) -> bool:
        if not self.running:
            return True  # no use waiting any longer; start() tells why
        try:
            with contextlib.closing(self.client(socket_timeout=0.5)) as client:
                return bool(client.ping())
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
            return False


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


def vcap_services(redis_server: RedisServer | None, pricing_url: str | None) -> str:
    """VCAP_SERVICES as Cloud Foundry writes it for the bindings in manifest.yml."""
    services: dict[str, list[dict[str, Any]]] = {}
    if redis_server is not None:
        services["redis"] = [
            {
                "name": REDIS_SERVICE_NAME,
                "label": "redis",
                "plan": "shared",
                "tags": ["redis"],
                "instance_name": REDIS_SERVICE_NAME,
                "binding_name": None,
                "credentials": {
                    "host": redis_server.host,
                    "port": redis_server.port,
                    "password": "",
                },
            }
        ]
    if pricing_url is not None:
        services["user-provided"] = [
            {
                "name": PRICING_SERVICE_NAME,
                "label": "user-provided",
                "tags": [],
                "instance_name": PRICING_SERVICE_NAME,
                "binding_name": None,
                "credentials": {"url": pricing_url, "critical": False},
            }
        ]
    return json.dumps(services)


def vcap_application(port: int) -> str:
    """VCAP_APPLICATION as Cloud Foundry writes it for instance 0 of the app."""
    app_id = str(uuid.uuid4())
    return json.dumps(
        {
            "application_id": app_id,
            "application_name": APP_NAME,
            "application_uris": [f"{APP_NAME}.apps.internal.test"],
            "application_version": str(uuid.uuid4()),
            "cf_api": "https://api.sys.internal.test",
            "host": "0.0.0.0",
            "instance_id": str(uuid.uuid4()),
            "instance_index": 0,
            "limits": {"disk": 1024, "fds": 16384, "mem": 128},
            "name": APP_NAME,
            "organization_id": str(uuid.uuid4()),
            "organization_name": "service-tests",
            "port": port,
            "process_id": app_id,
            "process_type": "web",
            "space_id": str(uuid.uuid4()),
            "space_name": "service-tests",
            "uris": [f"{APP_NAME}.apps.internal.test"],
            "version": str(uuid.uuid4()),
        }
    )


def manifest_command() -> str:
    """The command Cloud Foundry runs, read from manifest.yml itself."""
    manifest = yaml.safe_load((REPO_ROOT / "manifest.yml").read_text())
    command: str = manifest["applications"][0]["command"]
    return command


def app_environment(overrides: Mapping[str, str | None]) -> dict[str, str]:
    """This process's environment without the app's variables, plus `overrides`.

    An override of None leaves that variable unset. PATH starts with the running
    Python's bin directory, so manifest.yml's `uwsgi` is the one installed beside it.
    """
    env = {name: value for name, value in os.environ.items() if name not in APP_VARIABLES}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


class AppServer:
    """The app as the platform runs it: `bash -c "<manifest command>"` in the repo root.

    stdout (the app's JSON log lines) and stderr (uWSGI's own messages) go to files.
    """

    def __init__(self, env: Mapping[str, str], workdir: Path, *, host: str, port: int) -> None:
        self.env = dict(env)
        self.host = host
        self.port = port
        self.workdir = workdir
        self.stdout_path = workdir / "stdout.log"
        self.stderr_path = workdir / "stderr.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        """The uWSGI master's pid (bash execs the one command it is given)."""
        assert self.process is not None, "the app was not started"
        return self.process.pid

    @property
    def metrics_dir(self) -> Path:
        # Where uwsgi.ini's `env = PROMETHEUS_MULTIPROC_DIR=...` points the workers.
        return Path(f"/tmp/example-app-metrics-{self.port}")

    def start(self, *, wait_ready: bool = True, timeout: float = 20.0) -> None:
        with self.stdout_path.open("wb") as stdout, self.stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(
                ["bash", "-c", manifest_command()],
                cwd=REPO_ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
            )
        if wait_ready:
            self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Wait until GET /health/live answers 200; fail with uWSGI's stderr if not."""
        if not wait_until(self._is_live_or_exited, timeout, interval=0.1) or self.exited:
            exited = self.exited
            if "Address already in use" in self.stderr_text():
                self._terminate()  # the metrics directory is the other server's
                raise PortTakenError(f"port {self.port} was taken")
            self.stop()
            reason = "exited at start" if exited else f"was not live within {timeout} s"
            raise RuntimeError(
                f"the app on port {self.port} {reason} (exit status {self.returncode});"
                f" its stderr:\n{self.stderr_text()}"
            )
        cmdline = Path(f"/proc/{self.pid}/cmdline").read_bytes().split(b"\0")
        # Signals from tests (and from the platform) must reach uWSGI's master itself.
        assert Path(cmdline[0].decode()).name == "uwsgi", f"pid {self.pid} runs {cmdline!r}"
        # What answered must be this uWSGI, not another server that took the port first.
        if not listening_inodes((self.host, self.port)) & socket_inodes(self.pid):
            self._terminate()
            raise PortTakenError(f"port {self.port} answered, but not from this app")
        problem = self._every_worker_serves(timeout)
        if problem is not None:
            self.stop()
            raise RuntimeError(f"{problem}; the app's stderr:\n{self.stderr_text()}")

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

    def _is_live_or_exited(self) -> bool:
        if self.exited:
            return True  # no use waiting any longer
        try:
            return self.request("GET", "/health/live", timeout=1.0).status == 200
        except (OSError, http.client.HTTPException):
            return False

    @property
    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        timeout: float = 10.0,
    ) -> HttpResponse:
        """One request on a connection of its own, read to the end (stdlib http.client)."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            return HttpResponse(response.status, response.headers, response.read())
        finally:
            connection.close()

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> HttpResponse:
        return self.request("GET", path, headers=headers)

    def post(
        self,
        path: str,
        body: bytes | str | Mapping[str, Any],
        content_type: str | None = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """POST raw bytes, a string, or a mapping sent as JSON."""
        if isinstance(body, Mapping):
            body = json.dumps(body)
        data = body.encode() if isinstance(body, str) else body
        all_headers = dict(headers or {})
        if content_type is not None:
            all_headers["Content-Type"] = content_type
        return self.request("POST", path, body=data, headers=all_headers)

    def stdout_text(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace")

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

    def wait_exit(self, timeout: float) -> int | None:
        """The exit status, or None if the process still runs after `timeout` seconds."""
        assert self.process is not None, "the app was not started"
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (uWSGI drains), SIGKILL as a last resort; clears the metrics directory."""
        returncode = self._terminate(timeout)
        shutil.rmtree(self.metrics_dir, ignore_errors=True)
        return returncode

    def _terminate(self, timeout: float = 15.0) -> int | None:
        if self.process is None:
            return None
        return _stop_process_group(self.process, timeout)
