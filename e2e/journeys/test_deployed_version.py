from e2e.client import Client
from e2e.journeys.deployment import Deployment


def test_health_and_info_report_the_deployed_version(
    client: Client, deployment: Deployment
) -> None:
    live = client.get("/health/live")
    assert (live.status, live.json()) == (200, {"status": "up"})

    ready = client.get("/health/ready")
    assert ready.status == 200, ready.text
    assert ready.json()["checks"]["store"]["status"] == "up"

    info = client.get("/info").json()
    assert info["version"] == deployment.expected_version
    # Bound to its Redis, not running on the embedded store (data would not survive).
    assert info["store"] == "redis"
