"""The services the platform binds to the app, one class per kind of binding
(example_app/bindings.py). A fork adds a kind with a class that starts, stops and
describes itself in VCAP_SERVICES, and an entry in KINDS."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import redis
from pytest_httpserver import HTTPServer

from example_app.bindings import HTTP, REDIS, Binding
from local_platform.processes import (
    LOOPBACK,
    DeployError,
    PortTaken,
    Process,
    free_port,
    on_a_free_port,
    wait_until,
)


class Service(Protocol):
    binding: Binding

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def vcap_entry(self) -> dict[str, Any]:
        """Its binding in VCAP_SERVICES, as the platform writes it."""
        ...


class RedisService:
    """Debian's redis-server on a loopback port, no persistence, no config file.

    Once started, it keeps its port: stop() or kill() then start() take Redis away from a
    running app and bring it back where the app's binding says it is.
    """

    host = LOOPBACK

    def __init__(self, binding: Binding, workdir: Path, port: int | None = None) -> None:
        self.binding = binding
        self.workdir = workdir
        self.port = port if port is not None else free_port()
        self.log_path = workdir / "redis-server.log"
        # Until it first starts, nobody relies on its port.
        self._moves = port is None
        self._process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.running

    def client(self, **options: Any) -> redis.Redis:
        """A client of this server with short timeouts (decoded strings unless told)."""
        options.setdefault("decode_responses", True)
        options.setdefault("socket_timeout", 2.0)
        options.setdefault("socket_connect_timeout", 2.0)
        return redis.Redis(host=self.host, port=self.port, **options)

    def start(self, timeout: float = 10.0) -> None:
        if not self.running:
            on_a_free_port(lambda port: self._start(port, timeout), self.port, may_move=self._moves)
            self._moves = False

    def _start(self, port: int, timeout: float) -> None:
        self.port = port
        binary = shutil.which("redis-server")
        if binary is None:
            raise DeployError("redis-server is not installed; `make test` installs it")
        command = [binary, "--bind", self.host, "--port", str(self.port)]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        logged = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._process = Process(command, cwd=self.workdir, env=os.environ, stdout=self.log_path)
        if wait_until(self._answers_ping, timeout) and self.running:
            return
        returncode = self._process.stop(5)
        self._process = None
        log = self.log_path.read_bytes()[logged:].decode(errors="replace")
        if "Address already in use" in log:
            raise PortTaken(f"port {self.port} was taken")
        raise DeployError(
            f"redis-server did not answer PING on port {self.port} within {timeout} s "
            f"(exit status {returncode}); its log:\n{log}"
        )

    def _answers_ping(self) -> bool:
        if not self.running:
            return True  # no use waiting any longer; _start() tells why
        try:
            with contextlib.closing(self.client(socket_timeout=0.5)) as client:
                return bool(client.ping())
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """Shut Redis down (SIGTERM: it closes every client connection and exits)."""
        if self._process is not None:
            self._process.stop(timeout)
            self._process = None

    def kill(self) -> None:
        """Kill Redis at once (SIGKILL), as a crash would."""
        if self._process is not None:
            self._process.signal_group(signal.SIGKILL)
            self._process.wait(10)
            self._process = None

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Freeze Redis (SIGSTOP): connections stay open but nothing answers, as when a
        host hangs. It thaws (SIGCONT) when the block ends, whatever happens in it."""
        assert self._process is not None
        self._process.signal_group(signal.SIGSTOP)
        try:
            yield
        finally:
            self._process.signal_group(signal.SIGCONT)

    def flushall(self) -> None:
        with contextlib.closing(self.client()) as client:
            client.flushall()

    def vcap_entry(self) -> dict[str, Any]:
        """As a Redis broker writes it: found by its label and tags."""
        credentials = {"host": self.host, "port": self.port, "password": ""}
        return _vcap_entry(self.binding, "redis", credentials, tags=["redis"])


class HttpStub(HTTPServer):
    """A downstream service: a pytest-httpserver, threaded so that one slow answer holds
    up no other. It records every request and answers what it is told to
    (`expect_request(...).respond_with_json(...)`), anything else with a 500."""

    def __init__(self, binding: Binding, workdir: Path) -> None:
        super().__init__(host=LOOPBACK, port=0, threaded=True)  # workdir: nothing on disk
        self.binding = binding

    def stop(self) -> None:
        self.clear()
        if self.is_running():
            super().stop()

    def vcap_entry(self) -> dict[str, Any]:
        """A user-provided service, as `cf create-user-provided-service` makes it."""
        credentials = {"url": f"http://{self.host}:{self.port}", "critical": self.binding.critical}
        return _vcap_entry(self.binding, "user-provided", credentials)


def _vcap_entry(
    binding: Binding, label: str, credentials: dict[str, Any], tags: list[str] | None = None
) -> dict[str, Any]:
    return {
        "name": binding.name,
        "instance_name": binding.name,
        "binding_name": None,
        "label": label,
        "tags": tags or [],
        "credentials": credentials,
    }


KINDS: Mapping[str, Callable[[Binding, Path], Service]] = {REDIS: RedisService, HTTP: HttpStub}


def start_services(bindings: Iterable[Binding], workdir: Path) -> dict[str, Service]:
    """Each binding's service, started, by binding name; none left running on failure."""
    services: dict[str, Service] = {}
    try:
        for binding in bindings:
            directory = workdir / binding.name
            directory.mkdir(parents=True, exist_ok=True)
            services[binding.name] = KINDS[binding.kind](binding, directory)
            services[binding.name].start()
    except BaseException:
        stop_services(services)
        raise
    return services


def stop_services(services: Mapping[str, Service]) -> None:
    for service in services.values():
        service.stop()


def vcap_services(services: Iterable[Service]) -> str:
    """VCAP_SERVICES binding `services`: each entry listed under its label."""
    document: dict[str, list[dict[str, Any]]] = {}
    for service in services:
        entry = service.vcap_entry()
        document.setdefault(entry["label"], []).append(entry)
    return json.dumps(document)
