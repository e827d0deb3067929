"""The local platform behaves as the pipeline relies on: each stage has data of its own,
kept across pushes, every binding is started by its kind, and a teardown leaves nothing
running."""

from __future__ import annotations

import uuid
from pathlib import Path

from e2e.client import Client
from e2e.pipeline.conftest import served_version
from example_app.bindings import PRICING
from local_platform.services import HttpStub
from local_platform.stage import Release, Stage


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


def test_a_stage_binds_the_downstream_service_to_a_recording_stub(
    snapshot: Path, tmp_path: Path
) -> None:
    stage = Stage("staging", tmp_path)
    key = f"platform-{uuid.uuid4().hex}"
    try:
        stage.push(Release(snapshot, snapshot / "manifest.yml"))
        pricing = stage.services[PRICING.name]
        assert isinstance(pricing, HttpStub)
        pricing.expect_request(f"/prices/{key}").respond_with_json({"amount": "2"})
        assert Client(stage.url).put(f"/items/{key}", {}).status == 201

        price = Client(stage.url).get(f"/items/{key}/price")

        assert (price.status, price.json()["price"]) == (200, {"amount": "2"})
        (request, _), *_ = pricing.log
        assert request.headers["X-Request-ID"] == price.headers["X-Request-ID"]
    finally:
        stage.teardown()
