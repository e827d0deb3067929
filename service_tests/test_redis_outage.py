"""Redis taken away from a running app: clean 503s, readiness 503, no hung worker, and
recovery by itself when Redis is back. The module shares one app: each test starts once
it serves items again. (test_redis_freeze.py freezes Redis under load.)"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping

import pytest

from example_app.redis_store import REDIS_COOL_DOWN, REDIS_TIMEOUT
from local_platform.answer import Answer
from local_platform.processes import wait_until
from local_platform.services import RedisService, Service
from service_tests.conftest import running_app
from service_tests.harness import AppServer

ITEM_REQUESTS = (
    ("GET", "/items/apple", None),
    ("PUT", "/items/apple", b'{"colour": "red"}'),
    ("DELETE", "/items/apple", None),
    ("GET", "/items", None),
)


def send(app: AppServer, method: str, path: str, body: bytes | None) -> Answer:
    headers = {"Content-Type": "application/json"} if body else {}
    return app.request(method, path, body, headers, timeout=10)


def first_served(request: Callable[[], Answer]) -> Answer:
    """The first answer to `request` that is not a 503, asked again until one comes.

    After a failure each worker fails fast for REDIS_COOL_DOWN (the store's circuit
    breaker), so a worker may answer 503 for that long after Redis is back."""
    deadline = time.monotonic() + 2 * REDIS_COOL_DOWN
    answer = request()
    while answer.status == 503 and time.monotonic() < deadline:
        time.sleep(0.05)
        answer = request()
    return answer


@pytest.fixture(scope="module")
def outage_app(
    tmp_path_factory: pytest.TempPathFactory, bound_services: Mapping[str, Service]
) -> Iterator[AppServer]:
    with running_app(tmp_path_factory.mktemp("outage"), bound_services) as app:
        yield app


@pytest.fixture
def app(outage_app: AppServer, _isolated_redis: None) -> AppServer:
    """The module's app, once Redis (restarted after the test before) serves again."""
    assert wait_until(lambda: outage_app.get("/health/ready").status == 200, timeout=5)
    # A worker's breaker opened by the test before lets a request try Redis again at
    # most REDIS_COOL_DOWN after its last failure; no request has failed since Redis came back.
    time.sleep(REDIS_COOL_DOWN)
    return outage_app


def assert_store_unavailable(response: Answer) -> None:
    assert response.status == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["title"] == "Storage unavailable"


def test_with_redis_killed_every_item_request_gets_503_with_retry_after_never_500(
    app: AppServer, redis_server: RedisService
) -> None:
    redis_server.kill()

    # The first requests meet the refused connection, the later ones the open breaker.
    for _ in range(3):
        for method, path, body in ITEM_REQUESTS:
            assert_store_unavailable(send(app, method, path, body))
    assert "Traceback" not in app.stdout_text() + app.stderr_text()


def test_with_redis_killed_readiness_is_503_at_the_next_probe(
    app: AppServer, redis_server: RedisService
) -> None:
    redis_server.kill()
    ready = app.get("/health/ready")

    assert ready.status == 503
    assert ready.json()["checks"]["store"]["status"] == "down"
    assert app.get("/health/live").status == 200


def test_after_redis_returns_everything_recovers_without_a_restart_and_nothing_refused_is_kept(
    app: AppServer, redis_server: RedisService
) -> None:
    assert send(app, "PUT", "/items/before", b"{}").status == 201
    redis_server.kill()
    assert_store_unavailable(send(app, "GET", "/items/before", None))
    assert_store_unavailable(send(app, "PUT", "/items/lost", b'{"v": 1}'))

    redis_server.start()  # same port: where the app's binding says Redis is

    assert wait_until(lambda: app.get("/health/ready").status == 200, timeout=5)
    assert first_served(lambda: send(app, "PUT", "/items/after", b'{"ok": true}')).status == 201
    assert first_served(lambda: app.get("/items/after")).json() == {"ok": True}
    assert first_served(lambda: app.get("/items/lost")).status == 404
    assert not app.exited  # the same process served throughout


def test_a_hung_redis_gives_503_within_the_timeouts_not_a_hung_worker(
    app: AppServer, redis_server: RedisService
) -> None:
    assert send(app, "PUT", "/items/apple", b"{}").status == 201

    with redis_server.paused():
        started = time.monotonic()
        response = send(app, "GET", "/items/apple", None)
        waited = time.monotonic() - started
        ready = app.get("/health/ready")

    assert_store_unavailable(response)
    assert ready.status == 503
    # One REDIS_TIMEOUT (a timeout is not retried), far below harakiri.
    assert waited < REDIS_TIMEOUT + 0.5, f"the request took {waited:.2f} s"
    assert first_served(lambda: app.get("/items/apple")).status == 200  # thawed: served again
