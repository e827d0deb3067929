"""The servers the benchmark compares, and exactly how each one is started.

Each is started under `taskset` on the server CPU set with a clean environment: no
Redis, no service bindings and no WEB_CONCURRENCY from the caller's shell, so every run
measures the defaults a fresh clone ships with. What a contender needs on disk (a
generated uwsgi.ini, an older commit's tree) is made once per run in a temporary
directory, the workspace, and removed with it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from benchmark import uwsgi_variants
from example_app.config import ENVIRONMENT_VARIABLES

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
# template-only: begin
SPRING = REPO / "benchmark" / "spring"
# template-only: end
BARE_MODULE = "benchmark.bare_app:app"

# Settings a developer's shell may carry that would change what is measured: every
# variable the service reads (each contender is given its own PORT and HOST); a prefix
# stands for every variable that starts with it.
_CALLER_SETTINGS: tuple[str, ...] = ENVIRONMENT_VARIABLES
# template-only: begin
_CALLER_SETTINGS += ("JAVA_OPTS", "JAVA_TOOL_OPTIONS", "GRANIAN_")
# template-only: end


@dataclass
class Launch:
    """What to run for one contender: argv, environment and directory, and what to remove
    after it stops."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path = REPO
    temp_dirs: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class Contender:
    key: str
    label: str
    # What the server does with connections, for the report.
    keep_alive: str
    # The server's settings (workers, threads, a JVM's), for the report.
    settings: str
    # (port, server CPU list) -> how to start it.
    launch: Callable[[int, str], Launch] = field(compare=False, repr=False)
    # How its configuration was derived, when it was (the report's commands).
    derived: str = ""
    # template-only: begin
    jit: bool = False  # it warms up for minutes (a JVM's JIT): plan.py's jit_ settings
    # template-only: end


KEYS: tuple[str, ...] = ("falcon-uwsgi", "falcon-bare")
# template-only: begin
# The template's showcase (a generated service leaves them out): the Spring baseline
# (benchmark/spring/, a JDK), Granian (a server the service does not ship), and uWSGI's
# HTTP router with keep-alive (the keep-alive choice of uwsgi.ini, re-measured).
KEYS += ("spring", "falcon-granian", "falcon-uwsgi-router")
# template-only: end


def build(keys: list[str], before: str | None, workspace: Path) -> list[Contender]:
    """The contenders to run, in the order given; the older commit's right after the
    shipped one, so before and after sit side by side in the tables."""
    contenders = []
    for key in keys:
        contenders.append(_BUILDERS[key](workspace))
        if key == "falcon-uwsgi" and before:
            contenders.append(shipped_at(before, workspace))
    if before and "falcon-uwsgi" not in keys:
        contenders.insert(0, shipped_at(before, workspace))
    return contenders


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CALLER_SETTINGS)}
    # The venv's uwsgi first, as `make run` does.
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def manifest_app(root: Path = REPO) -> dict[str, object]:
    """applications[0] of manifest.yml: the command and env `cf push` runs the service with."""
    manifest = yaml.safe_load((root / "manifest.yml").read_text())
    app: dict[str, object] = manifest["applications"][0]
    return app


def _service_env(port: int, root: Path = REPO) -> dict[str, str]:
    env = _clean_env()
    app_env = manifest_app(root).get("env") or {}
    assert isinstance(app_env, dict)
    env.update({str(k): str(v) for k, v in app_env.items()})
    env.update({"PORT": str(port), "HOST": "127.0.0.1"})
    return env


def _manifest_command(root: Path, ini: Path | None = None) -> str:
    """manifest.yml's command; with `ini`, pointed at that file instead of uwsgi.ini."""
    command = str(manifest_app(root)["command"])
    if ini is None:
        return command
    if "--ini uwsgi.ini" not in command:
        raise uwsgi_variants.IniError(
            f"manifest.yml's command no longer reads uwsgi.ini: {command}"
        )
    return command.replace("--ini uwsgi.ini", f"--ini {ini}")


def _uwsgi_launcher(root: Path, ini: Path | None = None) -> Callable[[int, str], Launch]:
    # manifest.yml's command through bash, as the platform runs it (bash execs uwsgi, so
    # the pid we hold is uWSGI's master and its workers are its children), from `root`.
    def launch(port: int, cpus: str) -> Launch:
        argv = ["taskset", "-c", cpus, "bash", "-c", _manifest_command(root, ini)]
        return Launch(argv, _service_env(port, root), cwd=root)

    return launch


def shipped(workspace: Path) -> Contender:
    return Contender(
        key="falcon-uwsgi",
        label="Falcon + uWSGI (as shipped)",
        keep_alive="none: uWSGI's http-socket closes the connection after every response, "
        "and uwsgi.ini says Connection: close",
        settings="manifest.yml command `uwsgi --ini uwsgi.ini`, 2 workers of 8 threads, middleware on",
        launch=_uwsgi_launcher(REPO),
    )


def bare(workspace: Path) -> Contender:
    ini_text = uwsgi_variants.bare((REPO / "uwsgi.ini").read_text(), BARE_MODULE)
    ini = uwsgi_variants.write(ini_text, workspace, "uwsgi-bare.ini")
    return Contender(
        key="falcon-bare",
        label="bare Falcon + uWSGI (no middleware)",
        keep_alive="none, as shipped (the same uwsgi.ini)",
        settings=f"uwsgi.ini with `module = {BARE_MODULE}` (benchmark/bare_app.py: one "
        "resource, Falcon's defaults, no middleware), same command, env and directory",
        launch=_uwsgi_launcher(REPO, ini),
        derived=f"uwsgi-bare.ini: uwsgi.ini with module = {BARE_MODULE}",
    )


def shipped_at(ref: str, workspace: Path) -> Contender:
    """The shipped service at an older commit: its tree (git archive), its manifest.yml's
    command and env, the same venv. Before and after a change, measured side by side."""
    commit = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"])
    if not commit:
        raise ValueError(f"--before {ref}: not a commit in this repository")
    root = workspace / f"tree-{commit[:12]}"
    root.mkdir()
    archive = subprocess.Popen(["git", "-C", str(REPO), "archive", commit], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(root)], stdin=archive.stdout, check=True)
    assert archive.stdout is not None
    archive.stdout.close()
    if archive.wait() != 0:
        raise ValueError(f"--before {ref}: git archive failed")
    return Contender(
        key=f"falcon-uwsgi@{ref}",
        label=f"Falcon + uWSGI at {ref}" + ("" if commit.startswith(ref) else f" ({commit[:7]})"),
        keep_alive="that commit's uwsgi.ini",
        settings=f"`git archive {commit[:12]}` in a temporary directory, its manifest.yml "
        "command and env, run from there with this venv",
        launch=_uwsgi_launcher(root),
        derived=f"the tree of commit {commit} (git archive), run from its own directory",
    )


def _git(args: list[str]) -> str:
    completed = subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False
    )
    return completed.stdout.strip() if completed.returncode == 0 else ""


_BUILDERS: dict[str, Callable[[Path], Contender]] = {
    "falcon-uwsgi": shipped,
    "falcon-bare": bare,
}
# template-only: begin


def router(workspace: Path) -> Contender:
    ini = uwsgi_variants.write(
        uwsgi_variants.router((REPO / "uwsgi.ini").read_text()),
        workspace,
        "uwsgi-router.ini",
    )
    timeout = uwsgi_variants.ROUTER_IDLE_TIMEOUT_S
    return Contender(
        key="falcon-uwsgi-router",
        label="Falcon + uWSGI HTTP router (keep-alive)",
        keep_alive=f"HTTP/1.1 keep-alive in uWSGI's HTTP router, idle timeout {timeout} s; "
        "the router opens a uwsgi-protocol connection to a worker per request",
        settings=f"uwsgi.ini with `http = ...`, `http-keepalive = {timeout}` instead of "
        "`http-socket`, no Connection: close; 2 workers and 1 router process",
        launch=_uwsgi_launcher(REPO, ini),
        derived=f"uwsgi-router.ini: uwsgi.ini with http = ..., http-keepalive = {timeout} "
        "for http-socket = ..., without add-header = Connection: close",
    )


def granian(workspace: Path) -> Contender:
    if not (VENV_BIN / "granian").exists():
        raise ValueError("granian is not installed in this venv (benchmark/requirements.txt)")
    return Contender(
        key="falcon-granian",
        label="Falcon + Granian",
        keep_alive="HTTP/1.1 keep-alive (Granian's default)",
        settings="granian --interface wsgi --workers 2 --blocking-threads 1, same app and env",
        launch=lambda port, cpus: _launch_granian(port, cpus, workspace),
    )


def _launch_granian(port: int, cpus: str, workspace: Path) -> Launch:
    env = _service_env(port)
    # uwsgi.ini gives each instance a fresh Prometheus multiprocess directory; under
    # Granian nothing does, so do it here and /metrics adds up the workers the same way.
    metrics_dir = workspace / f"granian-metrics-{port}"
    metrics_dir.mkdir()
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    argv = [
        "taskset", "-c", cpus, str(VENV_BIN / "granian"),
        "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
        # 2 worker processes, as uwsgi.ini's default. One Python thread each was uWSGI's
        # shape before uwsgi.ini's threads = 8; Granian's default is up to 128 per worker.
        "--workers", "2", "--blocking-threads", "1",
        "example_app.wsgi:app",
    ]  # fmt: skip
    return Launch(argv, env, temp_dirs=[metrics_dir])


def spring(workspace: Path) -> Contender:
    if not (SPRING / "build/classpath.txt").exists():
        raise ValueError("the Spring baseline is not built: run benchmark/spring/build.sh")
    return Contender(
        key="spring",
        label="Spring MVC + Tomcat (offline build)",
        keep_alive="HTTP/1.1 keep-alive, Tomcat closes after 100 requests per connection "
        "or 60 s idle",
        settings="Spring 4.3.30 MVC, Tomcat 9.0.70 NIO (maxThreads 200), Jackson 2.14, "
        "JVM defaults (no JAVA_OPTS)",
        launch=_launch_spring,
        jit=True,
    )


def _launch_spring(port: int, cpus: str) -> Launch:
    env = _clean_env()
    env["PORT"] = str(port)
    return Launch(["taskset", "-c", cpus, str(SPRING / "run.sh")], env)


_BUILDERS |= {"spring": spring, "falcon-granian": granian, "falcon-uwsgi-router": router}
# template-only: end
