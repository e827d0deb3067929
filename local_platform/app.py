"""The app as the platform runs it: manifest.yml's command, configured only through the
environment, with nothing inherited from the shell that the app reads."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import sys
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from example_app.config import ENVIRONMENT_VARIABLES
from local_platform.processes import LOOPBACK, DeployError, PortTaken, Process, wait_until
from local_platform.services import Service, vcap_services


@dataclass(frozen=True)
class AppManifest:
    """What the platform reads from applications[0] of a manifest."""

    name: str
    command: str
    env: dict[str, str]

    @classmethod
    def read(cls, path: Path) -> AppManifest:
        app = yaml.safe_load(path.read_text())["applications"][0]
        return cls(
            name=str(app["name"]),
            command=str(app["command"]),
            env={name: _env_text(value) for name, value in (app.get("env") or {}).items()},
        )


def _env_text(value: Any) -> str:
    # The platform hands every manifest value to the app as text; YAML's true is "true".
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def app_environment(
    manifest: AppManifest,
    *,
    port: int,
    space: str,
    services: Iterable[Service],
    overrides: Mapping[str, str | None] | None = None,
) -> dict[str, str]:
    """This process's environment less what the app reads, plus what the platform gives
    it, plus `overrides` (None unsets a variable). PATH starts with the running Python's
    bin directory, so manifest.yml's `uwsgi` is the one installed beside it."""
    env = {name: value for name, value in os.environ.items() if name not in ENVIRONMENT_VARIABLES}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(manifest.env)
    env["PORT"] = str(port)
    # Loopback only on this machine; on the platform the app listens on 0.0.0.0.
    env["HOST"] = LOOPBACK
    env["VCAP_APPLICATION"] = vcap_application(manifest.name, port, space)
    env["VCAP_SERVICES"] = vcap_services(services)
    for name, value in (overrides or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def vcap_application(name: str, port: int, space: str) -> str:
    """VCAP_APPLICATION as Cloud Foundry writes it for instance 0 of the app."""
    uri = f"{LOOPBACK}:{port}"
    return json.dumps(
        {
            "application_id": str(uuid.uuid4()),
            "application_name": name,
            "application_uris": [uri],
            "application_version": str(uuid.uuid4()),
            "instance_index": 0,
            "limits": {"disk": 1024, "fds": 16384, "mem": 128},
            "name": name,
            "organization_name": "local",
            "port": port,
            "space_name": space,
            "uris": [uri],
        }
    )


class App:
    """`bash -c "<manifest command>"` in the app's directory; bash execs the command, so
    its pid is uWSGI's master. stdout (the app's JSON log lines) and stderr (uWSGI's own
    messages) go to files in `workdir`."""

    host = LOOPBACK

    def __init__(
        self, directory: Path, manifest: AppManifest, env: Mapping[str, str], workdir: Path
    ) -> None:
        """`env` as app_environment() makes it: the port is its PORT."""
        self.directory = directory
        self.command = manifest.command
        self.env = dict(env)
        self.port = int(env["PORT"])
        self.workdir = workdir
        self.stdout_path = workdir / "stdout.log"
        self.stderr_path = workdir / "stderr.log"
        self.process: Process | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, "the app was not started"
        return self.process.pid

    @property
    def metrics_dir(self) -> Path:
        # Where uwsgi.ini's `env = PROMETHEUS_MULTIPROC_DIR=...` points the workers.
        return Path(f"/tmp/example-app-metrics-{self.port}")

    @property
    def exited(self) -> bool:
        return self.process is not None and not self.process.running

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.popen.poll()

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = Process(
            ["bash", "-c", self.command],
            cwd=self.directory,
            env=self.env,
            stdout=self.stdout_path,
            stderr=self.stderr_path,
        )

    def wait_answering(self, path: str, timeout: float) -> None:
        """Wait until GET `path` answers 200. If the app exits or time runs out, stop it
        and raise PortTaken or DeployError, with uWSGI's stderr."""
        answered = wait_until(lambda: self.exited or self._answers(path), timeout, 0.1)
        if answered and not self.exited:
            return
        exited = self.exited
        if "Address already in use" in self.stderr_text():
            self.stop(keep_metrics=True)  # the metrics directory is the other server's
            raise PortTaken(f"port {self.port} was taken")
        self.stop()
        reason = "exited at start" if exited else f"did not answer {path} within {timeout} s"
        raise DeployError(
            f"the app on port {self.port} {reason} (exit status {self.returncode});"
            f" its stderr:\n{self.stderr_text()}"
        )

    def _answers(self, path: str) -> bool:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=1.0)
        try:
            connection.request("GET", path)
            return connection.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()

    def stdout_text(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait_exit(self, timeout: float) -> int | None:
        """The exit status, or None if the process still runs after `timeout` seconds."""
        assert self.process is not None, "the app was not started"
        return self.process.wait(timeout)

    def stop(self, timeout: float = 15.0, *, keep_metrics: bool = False) -> int | None:
        """SIGTERM (uWSGI drains), SIGKILL as a last resort; clears the metrics directory."""
        if self.process is None:
            return None
        returncode = self.process.stop(timeout)
        if not keep_metrics:
            shutil.rmtree(self.metrics_dir, ignore_errors=True)
        return returncode
