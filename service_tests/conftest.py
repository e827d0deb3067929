"""Fixtures of the service tier: real processes, stopped at the end even when a test fails.

- `bound_services`: one service per binding of example_app/bindings.py, started by its
  kind on the local platform (local_platform/services.py) for the whole session.
- `redis_server`: the bound Redis (`host`, `port`, `url`, `client()`); `stop()`/`kill()`
  and `start()` take it away and bring it back on the same port, `paused()` freezes it.
  Each test starts with it running and empty.
- `pricing_stub`: the downstream `pricing` service, a real HTTP server (pytest-httpserver)
  cleared for each test: `expect_request(...).respond_with_json(...)`, `.log`, and
  `respond_with_handler(harness.SlowJsonAnswer(...))` for slow answers.
- `app_server`: the app under uWSGI, started with manifest.yml's own command and bound to
  them all through VCAP_SERVICES, shared by the whole session.
- `start_app(**env)`: an app of a test's own, for tests that stop it or configure it
  differently; an override of None unsets a variable (`VCAP_SERVICES=None`: no bindings).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path

import pytest

from example_app.bindings import BINDINGS, PRICING, STORE
from local_platform.app import AppManifest, app_environment
from local_platform.processes import free_port, on_a_free_port
from local_platform.services import HttpStub, RedisService, Service, start_services, stop_services
from service_tests.harness import REPO_ROOT, AppServer

# The version the app under test is told it is, so /info's answer is known to come from
# the environment rather than from the package's default.
APP_VERSION = "9.8.7-service-tier"
# Where the app finds the sitecustomize that has coverage measure uWSGI's threads.
THREAD_COVERAGE = Path(__file__).with_name("thread_coverage")

AppFactory = Callable[..., AppServer]
# The apps a test started (start_app), for its failure report.
_STARTED_APPS = pytest.StashKey[list[AppServer]]()
# How much of an app's stderr (uWSGI's own messages) a failure report shows.
_STDERR_TAIL_CHARACTERS = 4000


@pytest.fixture(scope="session")
def bound_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mapping[str, Service]]:
    services = start_services(BINDINGS, tmp_path_factory.mktemp("services"))
    try:
        yield services
    finally:
        stop_services(services)


@pytest.fixture(scope="session")
def redis_server(bound_services: Mapping[str, Service]) -> RedisService:
    service = bound_services[STORE.name]
    assert isinstance(service, RedisService)
    return service


@pytest.fixture(autouse=True)
def _isolated_redis(redis_server: RedisService) -> Iterator[None]:
    """Each test starts with an empty, running Redis, whatever the test before did."""
    if redis_server.running:
        redis_server.flushall()
    yield
    if not redis_server.running:
        redis_server.start()


@pytest.fixture(scope="session")
def pricing_stub_server(bound_services: Mapping[str, Service]) -> HttpStub:
    service = bound_services[PRICING.name]
    assert isinstance(service, HttpStub)
    return service


@pytest.fixture
def pricing_stub(pricing_stub_server: HttpStub) -> Iterator[HttpStub]:
    """The downstream `pricing` service, with no handlers and an empty log for this test."""
    pricing_stub_server.clear()
    yield pricing_stub_server
    pricing_stub_server.clear()


def _launch(
    workdir: Path,
    services: Mapping[str, Service],
    overrides: dict[str, str | None],
    *,
    wait_ready: bool,
    started: list[AppServer],
) -> AppServer:
    manifest = AppManifest.read(REPO_ROOT / "manifest.yml")

    def start_on(port: int) -> AppServer:
        env = app_environment(
            manifest,
            port=port,
            space="service-tests",
            services=services.values(),
            overrides={"VERSION": APP_VERSION, "PYTHONPATH": str(THREAD_COVERAGE), **overrides},
        )
        app = AppServer(REPO_ROOT, manifest, env, workdir / f"attempt-{len(started) + 1}")
        started.append(app)  # stopped by the fixture even if the wait is interrupted
        app.start(wait_ready=wait_ready)
        return app

    return on_a_free_port(start_on, free_port(), may_move=True)


@contextlib.contextmanager
def running_app(workdir: Path, services: Mapping[str, Service]) -> Iterator[AppServer]:
    """An app started and ready, stopped when the block ends: for a session's or a
    module's fixture (`start_app` is a test's)."""
    started: list[AppServer] = []
    try:
        yield _launch(workdir, services, {}, wait_ready=True, started=started)
    finally:
        for app in started:
            app.stop()


@pytest.fixture(scope="session")
def app_server(
    tmp_path_factory: pytest.TempPathFactory, bound_services: Mapping[str, Service]
) -> Iterator[AppServer]:
    """The app as the platform runs it, shared by every test that does not stop it."""
    with running_app(tmp_path_factory.mktemp("app"), bound_services) as app:
        yield app


@pytest.fixture
def start_app(
    request: pytest.FixtureRequest, tmp_path: Path, bound_services: Mapping[str, Service]
) -> Iterator[AppFactory]:
    """Start an app of this test's own: `start_app(LOG_LEVEL="DEBUG", REDIS_URL=None)`.

    With `wait_ready=False` it returns at once, for a start-up that is meant to fail.
    Every app started here is stopped when the test ends; if the test fails, its report
    shows the end of each one's stderr.
    """
    started: list[AppServer] = []
    request.node.stash[_STARTED_APPS] = started

    def start(*, wait_ready: bool = True, **overrides: str | None) -> AppServer:
        workdir = tmp_path / f"app-{len(started) + 1}"
        return _launch(workdir, bound_services, overrides, wait_ready=wait_ready, started=started)

    try:
        yield start
    finally:
        for app in started:
            app.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # A failure that happens once in many runs (an exit that hangs, a worker that dies)
    # is explained by uWSGI's messages, and the app's files are gone with the test.
    report: pytest.TestReport = yield
    if report.when == "call" and report.failed:
        started = item.stash.get(_STARTED_APPS, None) or []
        for number, app in enumerate(started, start=1):
            if not app.stderr_path.exists():  # it failed before it was started
                continue
            tail = app.stderr_text()[-_STDERR_TAIL_CHARACTERS:]
            report.sections.append((f"stderr of app {number} (its end)", tail))
    return report
