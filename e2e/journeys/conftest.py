"""Where the journeys run: E2E_BASE_URL (a staging route, production as a smoke test), or,
when it is unset, a local deployment of this checkout made the way the platform would
(local_platform/), torn down when the run ends.

E2E_EXPECT_VERSION is the version the deployment must report; by default the one in this
checkout's manifest.yml, i.e. the version that was just deployed from it.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.client import Client
from e2e.journeys.deployment import Deployment
from local_platform.app import AppManifest
from local_platform.processes import wait_until
from local_platform.stage import deployed

REPO_ROOT = Path(__file__).resolve().parents[2]
# How long a deployment may take to answer at all: a rolling push can still be switching.
REACHABLE_TIMEOUT = float(os.environ.get("E2E_WAIT_SECONDS") or 30)


def _head_commit() -> str | None:
    result = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "HEAD"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or None


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    manifest_version = AppManifest.read(REPO_ROOT / "manifest.yml").env.get("VERSION", "")
    expected = os.environ.get("E2E_EXPECT_VERSION", "").strip() or manifest_version
    base_url = os.environ.get("E2E_BASE_URL", "").strip()
    if base_url:
        yield Deployment(base_url, expected)
        return
    commit = _head_commit()
    env = {"GIT_COMMIT": commit} if commit else {}
    with deployed(REPO_ROOT, tmp_path_factory.mktemp("platform"), env=env) as stage:
        yield Deployment(stage.url, expected)


@pytest.fixture(scope="session")
def client(deployment: Deployment) -> Client:
    client = Client(deployment.base_url)

    def answers() -> bool:
        try:
            return client.get("/health/live").status == 200
        except OSError:
            return False

    if not wait_until(answers, REACHABLE_TIMEOUT, interval=0.5):
        pytest.fail(f"{deployment.base_url} did not answer within {REACHABLE_TIMEOUT:.0f} s")
    return client


@pytest.fixture
def item_key(client: Client) -> Iterator[str]:
    """A key no one else uses, deleted after the journey whatever happened in it, so the
    journeys leave no data behind (they also run against production)."""
    key = f"e2e-{uuid.uuid4().hex}"
    try:
        yield key
    finally:
        status = client.delete(f"/items/{key}").status
        assert status in (204, 404), f"cleaning up item {key} answered {status}"
