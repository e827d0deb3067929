"""Redis taken away from a running app: clean 503s, readiness 503, no hung worker, and
recovery by itself when Redis is back. Each test has an app of its own.
(test_redis_freeze.py freezes Redis under load.)"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from example_app.redis_store import REDIS_COOL_DOWN, REDIS_TIMEOUT
from local_platform.answer import Answer
from local_platform.processes import wait_until
from local_platform.services import RedisService
from service_tests.conftest import AppFactory
from service_tests.harness import AppServer

ITEM_REQUESTS = (
    ("GET", "/items/apple", None),
    ("PUT", "/items/apple", b'{"colour": "red"}'),
    ("DELETE", "/items/apple", None),
    ("GET", "/items", None),
)


def send(app: AppServer, method: str, path: str, body: bytes | None):
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


def assert_store_unavailable(response) -> None:
    assert response.status == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["title"] == "Storage unavailable"


def test_with_redis_killed_item_requests_get_503_with_retry_after(
    start_app: AppFactory, redis_server: RedisService
) -> None:
    app = start_app()
    redis_server.kill()

    for method, path, body in ITEM_REQUESTS:
        assert_store_unavailable(send(app, method, path, body))


def test_with_redis_killed_readiness_is_503_at_the_next_probe(
    start_app: AppFactory, redis_server: RedisService
) -> None:
    app = start_app()
    assert app.get("/health/ready").status == 200

    redis_server.kill()
    ready = app.get("/health/ready")

    assert ready.status == 503
    assert ready.json()["checks"]["store"]["status"] == "down"
    assert app.get("/health/live").status == 200


def test_after_redis_returns_everything_recovers_without_a_restart(
    start_app: AppFactory, redis_server: RedisService
) -> None:
    app = start_app()
    assert send(app, "PUT", "/items/before", b"{}").status == 201
    redis_server.kill()
    assert_store_unavailable(send(app, "GET", "/items/before", None))

    redis_server.start()  # same port: where the app's binding says Redis is

    assert wait_until(lambda: app.get("/health/ready").status == 200, timeout=5)
    assert first_served(lambda: send(app, "PUT", "/items/after", b'{"ok": true}')).status == 201
    assert first_served(lambda: app.get("/items/after")).json() == {"ok": True}
    assert not app.exited  # the same process served throughout


def test_a_hung_redis_gives_503_within_the_timeouts_not_a_hung_worker(
    start_app: AppFactory, redis_server: RedisService
) -> None:
    app = start_app()
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


def test_no_request_during_the_outage_was_a_500(
    start_app: AppFactory, redis_server: RedisService
) -> None:
    app = start_app()
    redis_server.kill()
    for _ in range(5):
        for method, path, body in ITEM_REQUESTS:
            send(app, method, path, body)
        app.get("/health/ready")
    redis_server.start()
    wait_until(lambda: app.get("/health/ready").status == 200, timeout=5)

    statuses = [line["status"] for line in app.access_log()]
    assert 503 in statuses
    assert not [status for status in statuses if status >= 500 and status != 503]
    assert "Traceback" not in app.stdout_text() + app.stderr_text()


def test_a_put_refused_during_the_outage_stored_nothing(
    start_app: AppFactory, redis_server: RedisService
) -> None:
    app = start_app()
    redis_server.kill()
    assert_store_unavailable(send(app, "PUT", "/items/lost", json.dumps({"v": 1}).encode()))
    redis_server.start()
    wait_until(lambda: app.get("/health/ready").status == 200, timeout=5)

    assert first_served(lambda: app.get("/items/lost")).status == 404
