"""A release: a checkout of one version, and the manifest it is pushed to a stage with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Release:
    directory: Path
    version: str
    commit: str
    tag: str


def stage_manifest_name(stage: str) -> str:
    return f"manifest.{stage}.yml"


def write_stage_manifest(release: Release, stage: str, route: str | None) -> Path:
    """manifest.yml as pushed to one stage, written beside it (never committed).

    The same app, command and bindings, plus what this delivery adds: the stage's route
    (cf v7+ takes routes from the manifest only), and in `env:` the version and commit
    that /info reports, so the e2e tests can tell the new release is the one answering.
    """
    source = release.directory / "manifest.yml"
    document = yaml.safe_load(source.read_text())
    app = document["applications"][0]
    app.setdefault("env", {}).update({"VERSION": release.version, "GIT_COMMIT": release.commit})
    if route is not None:
        app["routes"] = [{"route": route}]
    path = release.directory / stage_manifest_name(stage)
    header = f"# manifest.yml for {stage}, written by scripts/deliver.py for {release.tag}.\n"
    path.write_text(header + yaml.safe_dump(document, sort_keys=False))
    return path
