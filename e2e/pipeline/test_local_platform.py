"""The local platform behaves as the pipeline relies on: each stage has data of its own,
kept across pushes, and a teardown leaves nothing running."""

from __future__ import annotations

import uuid
from pathlib import Path

from e2e.client import Client
from e2e.local_platform import Release, Stage
from e2e.pipeline.conftest import served_version


def test_stages_keep_their_own_data_across_pushes(
    snapshot: Path, new_release: Path, tmp_path: Path
) -> None:
    staging, production = Stage("staging", tmp_path), Stage("production", tmp_path)
    key = f"platform-{uuid.uuid4().hex}"
    try:
        staging.push(Release(snapshot, snapshot / "manifest.yml"))
        production.push(Release(snapshot, snapshot / "manifest.yml"))
        assert Client(staging.url).put(f"/items/{key}", {"stage": "staging"}).status == 201

        # Staging and production never share data.
        assert Client(production.url).get(f"/items/{key}").status == 404

        # A push replaces the release, and the bound Redis (so the data) stays.
        staging.push(Release(new_release, new_release / "manifest.yml"))
        assert Client(staging.url).get("/info").json()["version"] == served_version(staging)
        assert served_version(staging) != served_version(production)
        assert Client(staging.url).get(f"/items/{key}").json() == {"stage": "staging"}
    finally:
        staging.teardown()
        production.teardown()

    for stage in (staging, production):
        try:
            Client(stage.url, timeout=2).get("/health/live")
        except OSError:
            continue
        raise AssertionError(f"{stage.name} still answers on {stage.url} after teardown")
