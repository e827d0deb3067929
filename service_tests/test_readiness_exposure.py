"""Readiness under uWSGI is public: it says whether Redis answers, never where Redis is or
what error it gave; the operator finds both in the log."""

from __future__ import annotations

from local_platform.services import RedisService
from service_tests.conftest import AppFactory
from service_tests.harness import AppServer


def test_readiness_does_not_show_where_redis_is(
    app_server: AppServer, redis_server: RedisService
) -> None:
    response = app_server.get("/health/ready")

    assert response.status == 200
    assert response.json()["checks"]["store"]["detail"] == "Redis answered"
    assert redis_server.host not in response.text
    assert str(redis_server.port) not in response.text


def test_with_redis_down_readiness_hides_the_error_and_the_log_has_it(
    start_app: AppFactory, redis_server: RedisService
) -> None:
    app = start_app()
    redis_server.kill()

    response = app.get("/health/ready")

    assert response.status == 503
    store = response.json()["checks"]["store"]
    assert (store["status"], store["detail"]) == ("down", "Redis is unavailable")
    assert redis_server.host not in response.text
    assert str(redis_server.port) not in response.text
    logged = app.wait_for_log(lambda line: line.get("message") == "health check failed")
    assert logged["level"] == "WARNING"
    assert f"{redis_server.host}:{redis_server.port}" in logged["detail"]
