"""Fixtures of the service tier: real processes, stopped at the end even when a test fails.

- `redis_server`: Debian's redis-server on a free loopback port (`host`, `port`, `url`,
  `client()`); `stop()`/`kill()` and `start()` take it away and bring it back on the same
  port. Each test starts with it running and empty.
- `pricing_stub`: a real HTTP server (pytest-httpserver) standing in for the downstream
  `pricing` service, cleared for each test: `expect_request(...).respond_with_json(...)`,
  `.log`, and `respond_with_handler(harness.SlowJsonAnswer(...))` for slow answers.
- `app_server`: the app under uWSGI, started with manifest.yml's own command and bound to
  both through VCAP_SERVICES, shared by the whole session.
- `start_app(**env)`: an app of a test's own, for tests that stop it or configure it
  differently; an override of None unsets a variable (`VCAP_SERVICES=None`: no bindings).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from service_tests.harness import (
    LOOPBACK,
    AppServer,
    PortTakenError,
    RedisServer,
    app_environment,
    free_port,
    vcap_application,
    vcap_services,
)

# The version the app under test is told it is, so /info's answer is known to come from
# the environment rather than from the package's default.
APP_VERSION = "9.8.7-service-tier"

AppFactory = Callable[..., AppServer]

# A free port can be taken between asking for it and binding it; then try another one.
PORT_ATTEMPTS = 3


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        for attempt in range(1, PORT_ATTEMPTS + 1):
            try:
                server.start()
                break
            except PortTakenError:
                if attempt == PORT_ATTEMPTS:
                    raise
                server = RedisServer(server.workdir)  # on another free port
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _isolated_redis(redis_server: RedisServer) -> Iterator[None]:
    """Each test starts with an empty, running Redis, whatever the test before did."""
    if redis_server.running:
        redis_server.flushall()
    yield
    if not redis_server.running:
        redis_server.start()


@pytest.fixture(scope="session")
def pricing_stub_server() -> Iterator[HTTPServer]:
    # Threaded, so that one slow answer does not hold up the app's other workers.
    server = HTTPServer(host=LOOPBACK, port=0, threaded=True)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()


@pytest.fixture
def pricing_stub(pricing_stub_server: HTTPServer) -> Iterator[HTTPServer]:
    """The downstream `pricing` service, with no handlers and an empty log for this test."""
    pricing_stub_server.clear()
    yield pricing_stub_server
    pricing_stub_server.clear()


def _services(redis_server: RedisServer, pricing_stub_server: HTTPServer) -> str:
    return vcap_services(redis_server, f"http://{LOOPBACK}:{pricing_stub_server.port}")


def _launch(
    workdir: Path,
    services: str,
    overrides: dict[str, str | None],
    *,
    wait_ready: bool,
    started: list[AppServer],
) -> AppServer:
    for attempt in range(1, PORT_ATTEMPTS + 1):
        port = free_port()
        env = app_environment(
            {
                "PORT": str(port),
                "HOST": LOOPBACK,
                "LOG_LEVEL": "INFO",
                "VERSION": APP_VERSION,
                "VCAP_SERVICES": services,
                "VCAP_APPLICATION": vcap_application(port),
                **overrides,
            }
        )
        app = AppServer(env, workdir / f"attempt-{attempt}", host=LOOPBACK, port=port)
        app.workdir.mkdir()
        started.append(app)  # stopped by the fixture even if the wait is interrupted
        try:
            app.start(wait_ready=wait_ready)
        except PortTakenError:
            if attempt < PORT_ATTEMPTS:
                continue
            raise
        return app
    raise AssertionError("unreachable")  # pragma: no cover


@pytest.fixture(scope="session")
def app_server(
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: RedisServer,
    pricing_stub_server: HTTPServer,
) -> Iterator[AppServer]:
    """The app as the platform runs it, shared by every test that does not stop it."""
    started: list[AppServer] = []
    try:
        yield _launch(
            tmp_path_factory.mktemp("app"),
            _services(redis_server, pricing_stub_server),
            {},
            wait_ready=True,
            started=started,
        )
    finally:
        for app in started:
            app.stop()


@pytest.fixture
def start_app(
    tmp_path: Path, redis_server: RedisServer, pricing_stub_server: HTTPServer
) -> Iterator[AppFactory]:
    """Start an app of this test's own: `start_app(LOG_LEVEL="DEBUG", REDIS_URL=None)`.

    With `wait_ready=False` it returns at once, for a start-up that is meant to fail.
    Every app started here is stopped when the test ends.
    """
    started: list[AppServer] = []

    def start(*, wait_ready: bool = True, **overrides: str | None) -> AppServer:
        workdir = tmp_path / f"app-{len(started) + 1}"
        workdir.mkdir()
        return _launch(
            workdir,
            _services(redis_server, pricing_stub_server),
            overrides,
            wait_ready=wait_ready,
            started=started,
        )

    try:
        yield start
    finally:
        for app in started:
            app.stop()
