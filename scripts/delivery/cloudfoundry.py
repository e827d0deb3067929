"""Delivering to Cloud Foundry through the cf CLI (v7 or v8): one org and space per stage,
a rolling (zero-downtime) push with the stage's manifest, rollback to the revision that
production ran before the push."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import yaml

from delivery.release import Release, stage_manifest_name, write_stage_manifest
from delivery.runner import Shell, say
from delivery.settings import Settings

PREFIX = {"staging": "CF_STAGING", "production": "CF_PROD"}


class CloudFoundry:
    def __init__(self, settings: Settings, shell: Shell, checkout: Path, fallback: Path) -> None:
        self._settings = settings
        self._shell = shell
        self._workdir = checkout
        # Before the clone (a dry run), this repository's manifest stands in for it.
        self._fallback_manifest = fallback
        # The revision production ran before this delivery's push: what a rollback restores.
        self._previous_revision: int | None = None

    @property
    def _app(self) -> str:
        """The app's name, from the delivered checkout's manifest.yml."""
        manifest = self._workdir / "manifest.yml"
        source = manifest if manifest.exists() else self._fallback_manifest
        return str(yaml.safe_load(source.read_text())["applications"][0]["name"])

    def _setting(self, stage: str, part: str) -> str:
        name = f"{PREFIX[stage]}_{part}"
        return self._settings.get(name) or f"<{name}>"

    def login(self) -> None:
        """`cf api` and `cf auth` when CF_API and CF_USERNAME are set; else the CLI is
        expected to be logged in already (`cf login` by hand, or a CI step before)."""
        api = self._settings.get("CF_API")
        if api is not None:
            self._shell.run(["cf", "api", api], cwd=self._workdir)
        if os.environ.get("CF_USERNAME"):
            # With no arguments, cf auth reads CF_USERNAME and CF_PASSWORD itself: the
            # password stays out of the command line, the process list and this log.
            self._shell.run(["cf", "auth"], cwd=self._workdir)
        elif api is None:
            say("  - no CF_API or CF_USERNAME: the cf CLI's current login is used")

    def select(self, stage: str) -> None:
        org, space = self._setting(stage, "ORG"), self._setting(stage, "SPACE")
        self._shell.run(["cf", "target", "-o", org, "-s", space], cwd=self._workdir)

    def note_running_release(
        self, stage: str, previous_release: Callable[[], Release | None]
    ) -> None:
        """Note the revision the stage runs now, for a rollback after a failed smoke test."""
        guid = self._shell.query(["cf", "app", self._app, "--guid"], cwd=self._workdir)
        if guid is None and not self._shell.dry_run:
            say(f"  - no app {self._app} in {stage} yet: this is its first release")
            return
        answer = self._shell.query(
            ["cf", "curl", f"/v3/apps/{(guid or '<guid>').strip()}/revisions/deployed"],
            cwd=self._workdir,
        )
        try:
            versions = [int(rev["version"]) for rev in json.loads(answer or "")["resources"]]
        except (ValueError, KeyError, TypeError):
            versions = []
        self._previous_revision = max(versions, default=None)
        if self._previous_revision is not None:
            say(f"  - {stage} runs revision {self._previous_revision} now")
        elif not self._shell.dry_run:
            say(f"  - {stage}'s revision is unknown: a rollback pushes the previous release")

    def push(self, stage: str, release: Release) -> None:
        route = self._setting(stage, "ROUTE")
        name = stage_manifest_name(stage)
        self._shell.action(
            f"write {name}: manifest.yml, route {route}, "
            f"VERSION={release.version}, GIT_COMMIT={release.commit}",
            lambda: write_stage_manifest(release, stage, route),
        )
        # Rolling: new instances start and pass their health checks before old ones stop.
        self._shell.run(
            ["cf", "push", self._app, "-f", name, "--strategy", "rolling"], cwd=release.directory
        )

    def url(self, stage: str) -> str:
        return self._settings.e2e_url(stage) or f"https://{self._setting(stage, 'ROUTE')}"

    def rollback_plan(self) -> str:
        revision = self._previous_revision or "<revision it ran before>"
        return f"cf rollback {self._app} --version {revision} -f"

    def rollback(self, stage: str, previous_release: Callable[[], Release | None]) -> str:
        """Put back what ran before; say what was done."""
        if self._previous_revision is not None:
            revision = str(self._previous_revision)
            self._shell.run(
                ["cf", "rollback", self._app, "--version", revision, "-f"], cwd=self._workdir
            )
            return f"rolled back to revision {revision}"
        # No revision known (app revisions turned off, or an older platform): push the
        # previous release again, when there was one.
        previous = previous_release()
        if previous is not None:
            self.push(stage, previous)
            return f"re-pushed the previous release {previous.tag}"
        # The app's first release failed: stop it rather than serve it.
        self._shell.run(["cf", "stop", self._app], cwd=self._workdir)
        return "no earlier release to go back to: stopped the app"

    def teardown(self) -> None:
        """Nothing to stop: the stages live on the platform."""
