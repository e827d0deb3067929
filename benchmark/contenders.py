"""The servers the benchmark compares, and exactly how each one is started.

Each is started under `taskset` on the server CPU set, from the repository root, with a
clean environment: no Redis, no service bindings and no WEB_CONCURRENCY from the caller's
shell, so every run measures the defaults a fresh clone ships with.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SPRING = REPO / "benchmark" / "spring"

# Settings a developer's shell may carry that would change what is measured.
_CALLER_SETTINGS = (
    "REDIS_URL",
    "VCAP_SERVICES",
    "VCAP_APP_PORT",
    "WEB_CONCURRENCY",
    "PRICING_URL",
    "PROMETHEUS_MULTIPROC_DIR",
    "LOG_LEVEL",
    "MAX_BODY_BYTES",
    "OUTBOUND_TIMEOUT",
    "PRICING_CRITICAL",
    "GIT_COMMIT",
    "JAVA_OPTS",
    "JAVA_TOOL_OPTIONS",
)


@dataclass
class Launch:
    """What to run for one contender: argv and environment, and what to remove after."""

    argv: list[str]
    env: dict[str, str]
    temp_dirs: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class Contender:
    key: str
    label: str
    # What the server does with connections (checked at run time too: see server.py).
    keep_alive: str
    # The WSGI workers or JVM settings, for the report.
    settings: str

    def launch(self, port: int, cpus: str) -> Launch:
        return _LAUNCHERS[self.key](port, cpus)


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CALLER_SETTINGS}
    env = {k: v for k, v in env.items() if not k.startswith("GRANIAN_")}
    # The venv's uwsgi and granian first, as `make run` does.
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def manifest_app() -> dict[str, object]:
    """applications[0] of manifest.yml: the command and env `cf push` runs the service with."""
    manifest = yaml.safe_load((REPO / "manifest.yml").read_text())
    app: dict[str, object] = manifest["applications"][0]
    return app


def _service_env(port: int) -> dict[str, str]:
    env = _clean_env()
    app_env = manifest_app().get("env") or {}
    assert isinstance(app_env, dict)
    env.update({str(k): str(v) for k, v in app_env.items()})
    env.update({"PORT": str(port), "HOST": "127.0.0.1"})
    return env


def _launch_shipped(port: int, cpus: str) -> Launch:
    # manifest.yml's command, through bash as the platform runs it (bash execs uwsgi, so
    # the pid we hold is uWSGI's master and its workers are its children).
    command = str(manifest_app()["command"])
    return Launch(["taskset", "-c", cpus, "bash", "-c", command], _service_env(port))


def _launch_granian(port: int, cpus: str) -> Launch:
    env = _service_env(port)
    # uwsgi.ini gives each instance a fresh Prometheus multiprocess directory; under
    # Granian nothing does, so do it here and /metrics adds up the workers the same way.
    metrics_dir = Path(tempfile.mkdtemp(prefix="bench-granian-metrics-"))
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    argv = [
        "taskset", "-c", cpus, str(VENV_BIN / "granian"),
        "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
        # uWSGI's shape: 2 worker processes (WEB_CONCURRENCY's default), one Python
        # thread each; Granian's default would run up to 128 threads per worker.
        "--workers", "2", "--blocking-threads", "1",
        "example_app.wsgi:app",
    ]  # fmt: skip
    return Launch(argv, env, temp_dirs=[metrics_dir])


def _launch_spring(port: int, cpus: str) -> Launch:
    env = _clean_env()
    env["PORT"] = str(port)
    return Launch(["taskset", "-c", cpus, str(SPRING / "run.sh")], env)


_LAUNCHERS = {
    "falcon-uwsgi": _launch_shipped,
    "spring": _launch_spring,
    "falcon-granian": _launch_granian,
}

SHIPPED = Contender(
    key="falcon-uwsgi",
    label="Falcon + uWSGI (as shipped)",
    keep_alive="none: uWSGI's http-socket closes the connection after every response",
    settings="manifest.yml command `uwsgi --ini uwsgi.ini`, 2 worker processes, middleware on",
)
SPRING_BASELINE = Contender(
    key="spring",
    label="Spring MVC + Tomcat (offline build)",
    keep_alive="HTTP/1.1 keep-alive, Tomcat closes after 100 requests per connection",
    settings="Spring 4.3.30 MVC, Tomcat 9.0.70 NIO (maxThreads 200), Jackson 2.14, "
    "JVM defaults (no JAVA_OPTS)",
)
GRANIAN = Contender(
    key="falcon-granian",
    label="Falcon + Granian",
    keep_alive="HTTP/1.1 keep-alive (Granian's default)",
    settings="granian --interface wsgi --workers 2 --blocking-threads 1, same app and env",
)
ALL = (SHIPPED, SPRING_BASELINE, GRANIAN)
BY_KEY = {c.key: c for c in ALL}
