"""Liveness checks nothing; readiness runs every check and answers 503 when one fails."""

from __future__ import annotations

import pytest

from example_app.health import CheckResult


class PassingCheck:
    name = "database"

    def check(self):
        return CheckResult(
            ok=True, detail="db.internal:5432 answered in 2 ms", public_detail="answered in 2 ms"
        )


class FailingCheck:
    name = "cache"

    def check(self):
        return CheckResult(ok=False, detail="10.0.0.7:11211 refused the connection")


class RaisingCheck:
    name = "queue"

    def check(self):
        raise ConnectionError("queue host unreachable")


@pytest.fixture
def ready_client(make_client):
    return make_client(health_checks=(PassingCheck(),))


@pytest.mark.parametrize("checks", [(), (FailingCheck(), RaisingCheck())], ids=["none", "failing"])
def test_liveness_is_200_up_whatever_the_checks_say(make_client, checks):
    result = make_client(health_checks=checks).simulate_get("/health/live")

    assert (result.status_code, result.json) == (200, {"status": "up"})


def test_readiness_with_only_the_memory_store_is_200_ready_and_says_what_it_is(client):
    result = client.simulate_get("/health/ready")

    assert (result.status_code, result.json["status"]) == (200, "ready")
    assert list(result.json["checks"]) == ["store"]
    store = result.json["checks"]["store"]
    assert (store["status"], store["detail"]) == (
        "up",
        "memory: embedded, per worker, lost on restart",
    )


def test_readiness_with_a_passing_check_is_200_showing_its_public_detail(ready_client):
    result = ready_client.simulate_get("/health/ready")

    assert (result.status_code, result.json["status"]) == (200, "ready")
    check = result.json["checks"]["database"]
    assert (check["status"], check["detail"]) == ("up", "answered in 2 ms")


def test_readiness_never_shows_a_checks_operator_detail(make_client):
    client = make_client(health_checks=(PassingCheck(), FailingCheck()))

    result = client.simulate_get("/health/ready")

    assert "internal" not in result.text
    assert "10.0.0.7" not in result.text
    assert "refused" not in result.text


def test_a_check_without_a_public_detail_is_check_passed_or_check_failed(make_client):
    class QuietPassingCheck:
        name = "quiet"

        def check(self):
            return CheckResult(ok=True, detail="10.0.0.8:9000 is fine")

    client = make_client(health_checks=(QuietPassingCheck(), FailingCheck()))

    checks = client.simulate_get("/health/ready").json["checks"]

    assert checks["quiet"]["detail"] == "check passed"
    assert checks["cache"]["detail"] == "check failed"


def test_a_failing_check_is_logged_as_a_warning_with_its_operator_detail(make_client, logs):
    make_client(health_checks=(FailingCheck(),)).simulate_get("/health/ready")

    [entry] = logs.by_logger("example_app.health")
    assert (entry["level"], entry["message"], entry["check"]) == (
        "WARNING",
        "health check failed",
        "cache",
    )
    assert entry["detail"] == "10.0.0.7:11211 refused the connection"


def test_a_passing_check_is_not_logged(ready_client, logs):
    ready_client.simulate_get("/health/ready")

    assert logs.by_logger("example_app.health") == []


def test_readiness_is_503_when_one_check_fails_listing_each_with_its_duration(make_client):
    client = make_client(health_checks=(PassingCheck(), FailingCheck()))

    result = client.simulate_get("/health/ready")

    assert (result.status_code, result.json["status"]) == (503, "not ready")
    checks = result.json["checks"]
    assert {name: check["status"] for name, check in checks.items()} == {
        "store": "up",
        "database": "up",
        "cache": "down",
    }
    assert checks["cache"]["detail"] == "check failed"
    for check in checks.values():
        assert set(check) == {"status", "detail", "duration_ms"}
        assert check["duration_ms"] >= 0


def test_a_check_that_raises_is_down_without_leaking_the_error(make_client):
    client = make_client(health_checks=(PassingCheck(), RaisingCheck()))

    result = client.simulate_get("/health/ready")

    assert (result.status_code, result.json["status"]) == (503, "not ready")
    assert result.json["checks"]["queue"]["status"] == "down"
    assert result.json["checks"]["queue"]["detail"] == "check failed"
    for leak in ("unreachable", "ConnectionError", "Traceback"):
        assert leak not in result.text


def test_a_raising_check_is_logged_as_a_warning_with_its_traceback(make_client, logs):
    make_client(health_checks=(RaisingCheck(),)).simulate_get("/health/ready")

    [entry] = logs.by_logger("example_app.health")
    assert (entry["level"], entry["check"]) == ("WARNING", "queue")
    assert "ConnectionError: queue host unreachable" in entry["exception"]


def test_readiness_runs_every_check_on_every_request(make_client):
    class CountingCheck:
        name = "counting"
        calls = 0

        def check(self):
            self.calls += 1
            return CheckResult(ok=True, detail="", public_detail=f"call {self.calls}")

    counting = CountingCheck()
    client = make_client(health_checks=(counting,))

    client.simulate_get("/health/ready")
    result = client.simulate_get("/health/ready")

    assert counting.calls == 2
    assert result.json["checks"]["counting"]["detail"] == "call 2"
