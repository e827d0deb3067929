"""A local stand-in for the platform: deploys the app the way Cloud Foundry would.

What `cf push` does with manifest.yml, done on this machine: run applications[0].command
through `bash -c` in the app's directory, with the manifest's `env:`, the port in PORT,
VCAP_APPLICATION, and a real redis-server bound through VCAP_SERVICES under the name in
the manifest's `services:`. A `Stage` is one space: its own Redis (kept across pushes, as a
bound service instance is), at most one running release of the app, one fixed URL.

Unlike the platform: one instance, listening on 127.0.0.1 only, and a push stops the old
release before it starts the new one (no router to switch traffic between them).

Every process is stopped by `teardown()`; if the process that deployed dies first, the
kernel stops them too (Linux), so a killed test run leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from e2e.client import Client
from example_app.config import ENVIRONMENT_VARIABLES

LOOPBACK = "127.0.0.1"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
PORT_ATTEMPTS = 3

# What the app reads from its environment: never inherited from the deploying shell, only
# given by the manifest and the platform, as on Cloud Foundry.
APP_VARIABLES = ENVIRONMENT_VARIABLES


class DeployError(RuntimeError):
    """A release did not start, or did not become ready in time."""


class _PortTaken(DeployError):
    pass


@dataclass(frozen=True)
class AppManifest:
    """What the platform reads from applications[0] of a manifest."""

    name: str
    command: str
    env: dict[str, str]
    services: tuple[str, ...]

    @classmethod
    def read(cls, path: Path) -> AppManifest:
        app = yaml.safe_load(path.read_text())["applications"][0]
        return cls(
            name=str(app["name"]),
            command=str(app["command"]),
            env={name: _env_text(value) for name, value in (app.get("env") or {}).items()},
            services=tuple(str(service) for service in app.get("services") or ()),
        )


def _env_text(value: Any) -> str:
    # The platform hands every manifest value to the app as text; YAML's true is "true".
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True


# prctl is looked up here, in the parent: a forked child should only call it.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
_PR_SET_PDEATHSIG = 1


def _in_child_before_exec() -> None:
    # A session of its own: its process group is everything it starts (uWSGI's workers),
    # so stopping signals all of it and nothing else. And SIGTERM when the deploying
    # process dies without tearing down (a killed CI job), so nothing is left serving.
    os.setsid()
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class _Process:
    """A server process with its output in log files; stop() ends its whole group."""

    def __init__(self, command: list[str], *, cwd: Path, env: Mapping[str, str], logs: Path):
        logs.mkdir(parents=True, exist_ok=True)
        self.stderr_path = logs / "stderr.log"
        with (logs / "stdout.log").open("ab") as out, self.stderr_path.open("ab") as err:
            self.popen = subprocess.Popen(
                command,
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                preexec_fn=_in_child_before_exec,  # noqa: PLW1509 - single-threaded callers
            )

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def stderr_tail(self, lines: int = 30) -> str:
        text = self.stderr_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM (uWSGI drains, Redis exits), then SIGKILL for whatever is left."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self.popen.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(5)


class RedisInstance:
    """A bound Redis service instance: Debian's redis-server, no persistence."""

    def __init__(self, name: str, workdir: Path) -> None:
        self.name = name
        self.workdir = workdir
        self.port = 0
        self._process: _Process | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise DeployError("redis-server is not installed (`make test` installs it)")
        for attempt in range(1, PORT_ATTEMPTS + 1):
            self.port = free_port()
            command = [binary, "--bind", LOOPBACK, "--port", str(self.port)]
            command += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
            self._process = _Process(
                command, cwd=self.workdir, env=os.environ, logs=self.workdir / "redis"
            )
            if wait_until(self._answers, 10) and self._process.running:
                return
            log = self._process.stderr_tail()
            self._process.stop()
            if attempt == PORT_ATTEMPTS or "Address already in use" not in log:
                raise DeployError(f"redis-server did not start on port {self.port}:\n{log}")

    def _answers(self) -> bool:
        if self._process is None or not self._process.running:
            return True  # no use waiting; start() tells why
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def binding(self) -> dict[str, Any]:
        """This instance's entry in VCAP_SERVICES, as a Redis broker writes it."""
        return {
            "name": self.name,
            "instance_name": self.name,
            "label": "redis",
            "tags": ["redis"],
            "plan": "local",
            "credentials": {"host": LOOPBACK, "port": self.port, "password": ""},
        }

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None


@dataclass(frozen=True)
class Release:
    """What was pushed: the app's directory and the manifest it was pushed with."""

    app_dir: Path
    manifest_path: Path

    @property
    def manifest(self) -> AppManifest:
        return AppManifest.read(self.manifest_path)


class Stage:
    """One space of the local platform (staging, production) on a fixed loopback port."""

    def __init__(self, name: str, workdir: Path, port: int | None = None) -> None:
        self.name = name
        self.workdir = workdir
        self._port_given = port is not None
        self.port = port if port is not None else free_port()
        self.release: Release | None = None
        self._redis: dict[str, RedisInstance] = {}
        self._app: _Process | None = None
        self._pushes = 0

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def push(self, release: Release) -> None:
        """Replace the running release (if any) with this one, and wait until it is ready."""
        manifest = release.manifest
        # Bound service instances outlive releases: the data stays across pushes.
        for service in manifest.services:
            if service not in self._redis:
                instance = RedisInstance(service, self._mkdir(f"service-{service}"))
                self._redis[service] = instance
                instance.start()
        self.stop_app()
        for attempt in range(1, PORT_ATTEMPTS + 1):
            self._pushes += 1
            self._app = _Process(
                ["bash", "-c", manifest.command],
                cwd=release.app_dir,
                env=self._app_environment(manifest),
                logs=self._mkdir(f"release-{self._pushes}"),
            )
            try:
                self._wait_ready()
                break
            except _PortTaken:
                # A port picked as free can be taken before the app binds it; before the
                # first release is out, nobody knows this stage's URL yet: pick another.
                if self._port_given or self.release is not None or attempt == PORT_ATTEMPTS:
                    raise
                self.port = free_port()
        self.release = release

    def stop_app(self) -> None:
        if self._app is not None:
            self._app.stop()
            self._app = None
            # uwsgi.ini keeps the workers' metrics in a directory named by the port.
            shutil.rmtree(f"/tmp/example-app-metrics-{self.port}", ignore_errors=True)

    def teardown(self) -> None:
        """Stop the app and every service instance of this stage."""
        try:
            self.stop_app()
        finally:
            for instance in self._redis.values():
                instance.stop()
            self._redis.clear()

    def _mkdir(self, name: str) -> Path:
        path = self.workdir / self.name / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _app_environment(self, manifest: AppManifest) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if name not in APP_VARIABLES}
        # manifest.yml's `uwsgi` is the one installed beside the running Python.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env.update(manifest.env)
        env.update(
            {
                "PORT": str(self.port),
                # Loopback only on this machine; on the platform the app listens on 0.0.0.0.
                "HOST": LOOPBACK,
                "VCAP_APPLICATION": json.dumps(self._vcap_application(manifest.name)),
                "VCAP_SERVICES": json.dumps(
                    {"redis": [self._redis[name].binding() for name in manifest.services]}
                    if manifest.services
                    else {}
                ),
            }
        )
        return env

    def _vcap_application(self, name: str) -> dict[str, Any]:
        uri = f"{LOOPBACK}:{self.port}"
        return {
            "application_id": str(uuid.uuid4()),
            "application_name": name,
            "application_uris": [uri],
            "application_version": str(uuid.uuid4()),
            "instance_index": 0,
            "name": name,
            "organization_name": "local",
            "port": self.port,
            "space_name": self.name,
            "uris": [uri],
        }

    def _wait_ready(self) -> None:
        app = self._app
        assert app is not None
        client = Client(self.url, timeout=2)

        def ready_or_exited() -> bool:
            if not app.running:
                return True
            try:
                return client.get("/health/ready").status == 200
            except OSError:
                return False

        became_ready = wait_until(ready_or_exited, READY_TIMEOUT)
        if became_ready and app.running:
            return
        log = app.stderr_tail()
        app.stop()
        self._app = None
        if "Address already in use" in log:
            raise _PortTaken(f"{self.name}: port {self.port} is taken")
        why = "exited at start" if became_ready else f"was not ready in {READY_TIMEOUT:.0f} s"
        raise DeployError(f"{self.name}: the app {why}; its stderr:\n{log}")


@contextlib.contextmanager
def deployed(
    app_dir: Path, workdir: Path, *, name: str = "local", env: Mapping[str, str] | None = None
) -> Iterator[Stage]:
    """The app in `app_dir` pushed with its manifest.yml (plus `env`), torn down after."""
    manifest_path = app_dir / "manifest.yml"
    if env:
        # As `cf push` with extra env in the manifest: a copy beside the workdir's logs.
        document = yaml.safe_load(manifest_path.read_text())
        document["applications"][0].setdefault("env", {}).update(env)
        manifest_path = workdir / "manifest.yml"
        manifest_path.write_text(yaml.safe_dump(document, sort_keys=False))
    stage = Stage(name, workdir)
    try:
        stage.push(Release(app_dir, manifest_path))
        yield stage
    finally:
        stage.teardown()
