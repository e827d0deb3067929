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


def test_liveness_is_200_up(client):
    result = client.simulate_get("/health/live")

    assert result.status_code == 200
    assert result.json == {"status": "up"}


def test_liveness_ignores_failing_checks(make_client):
    client = make_client(health_checks=(FailingCheck(), RaisingCheck()))

    result = client.simulate_get("/health/live")

    assert result.status_code == 200
    assert result.json == {"status": "up"}


MEMORY_STORE_DETAIL = "memory: embedded, per worker, lost on restart"


def test_readiness_with_only_the_memory_store_is_200_ready(client):
    result = client.simulate_get("/health/ready")

    assert result.status_code == 200
    assert result.json["status"] == "ready"
    assert list(result.json["checks"]) == ["store"]


def test_readiness_store_check_describes_the_memory_store(client):
    result = client.simulate_get("/health/ready")

    store = result.json["checks"]["store"]
    assert (store["status"], store["detail"]) == ("up", MEMORY_STORE_DETAIL)


def test_readiness_with_a_passing_check_is_200_ready(ready_client):
    result = ready_client.simulate_get("/health/ready")

    assert result.status_code == 200
    assert result.json["status"] == "ready"


def test_readiness_shows_a_passing_checks_public_detail(ready_client):
    result = ready_client.simulate_get("/health/ready")

    check = result.json["checks"]["database"]
    assert check["status"] == "up"
    assert check["detail"] == "answered in 2 ms"


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
    client = make_client(health_checks=(FailingCheck(),))

    client.simulate_get("/health/ready")

    [entry] = logs.by_logger("example_app.health")
    assert entry["level"] == "WARNING"
    assert entry["message"] == "health check failed"
    assert entry["check"] == "cache"
    assert entry["detail"] == "10.0.0.7:11211 refused the connection"


def test_a_passing_check_is_not_logged(ready_client, logs):
    ready_client.simulate_get("/health/ready")

    assert logs.by_logger("example_app.health") == []


def test_readiness_lists_status_detail_and_duration_for_each_check(make_client):
    client = make_client(health_checks=(PassingCheck(), FailingCheck()))

    result = client.simulate_get("/health/ready")

    checks = result.json["checks"]
    assert set(checks) == {"store", "database", "cache"}
    for check in checks.values():
        assert set(check) == {"status", "detail", "duration_ms"}
        assert isinstance(check["duration_ms"], (int, float))
        assert check["duration_ms"] >= 0


def test_readiness_is_503_when_one_of_two_checks_fails(make_client):
    client = make_client(health_checks=(PassingCheck(), FailingCheck()))

    result = client.simulate_get("/health/ready")

    assert result.status_code == 503
    assert result.json["status"] == "not ready"
    assert result.json["checks"]["database"]["status"] == "up"
    assert result.json["checks"]["cache"] == {
        "status": "down",
        "detail": "check failed",
        "duration_ms": result.json["checks"]["cache"]["duration_ms"],
    }


def test_readiness_is_503_when_a_check_raises(make_client):
    client = make_client(health_checks=(PassingCheck(), RaisingCheck()))

    result = client.simulate_get("/health/ready")

    assert result.status_code == 503
    assert result.json["status"] == "not ready"


def test_readiness_body_says_a_check_that_raised_failed(make_client):
    client = make_client(health_checks=(PassingCheck(), RaisingCheck()))

    result = client.simulate_get("/health/ready")

    queue = result.json["checks"]["queue"]
    assert queue["status"] == "down"
    assert queue["detail"] == "check failed"


def test_readiness_body_does_not_leak_the_raised_error(make_client):
    client = make_client(health_checks=(RaisingCheck(),))

    result = client.simulate_get("/health/ready")

    assert "unreachable" not in result.text
    assert "ConnectionError" not in result.text
    assert "Traceback" not in result.text


def test_a_raising_check_is_logged_as_a_warning_with_its_traceback(make_client, logs):
    client = make_client(health_checks=(RaisingCheck(),))

    client.simulate_get("/health/ready")

    [entry] = logs.by_logger("example_app.health")
    assert entry["level"] == "WARNING"
    assert entry["message"] == "health check failed"
    assert entry["check"] == "queue"
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
