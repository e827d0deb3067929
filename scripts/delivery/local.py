"""Delivering to the local platform (local_platform/): staging and production are two
local deployments on their own ports, each with bound services of its own, so the whole
pipeline runs on one machine. Both are stopped when the pipeline ends."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from delivery.release import Release, stage_manifest_name, write_stage_manifest
from delivery.runner import Shell, StepFailed, say
from delivery.settings import Settings
from local_platform.processes import DeployError
from local_platform.stage import Release as LocalRelease
from local_platform.stage import Stage

PORT_SETTING = {"staging": "LOCAL_STAGING_PORT", "production": "LOCAL_PROD_PORT"}


class LocalPlatform:
    def __init__(self, settings: Settings, shell: Shell, workdir: Path) -> None:
        self._settings = settings
        self._shell = shell
        self._stages = {
            stage: Stage(stage, workdir, settings.port(setting))
            for stage, setting in PORT_SETTING.items()
        }
        self._current: str | None = None

    def login(self) -> None:
        """Nothing to log in to."""

    def select(self, stage: str) -> None:
        # The counterpart of `cf target`: later pushes go to this stage.
        self._current = stage
        self._shell.action(f"target {stage}: {self._stages[stage].url}", lambda: None)

    def note_running_release(
        self, stage: str, previous_release: Callable[[], Release | None]
    ) -> None:
        """Start the stage as it was before this delivery: running the previous release, if
        there is one (a local platform does not outlive a pipeline run). A rollback pushes
        that release again."""
        previous = previous_release()
        if previous is not None:
            say(f"  - {stage} runs {previous.tag}, the release before this one")
            self.push(stage, previous)

    def push(self, stage: str, release: Release) -> None:
        if stage != self._current:
            raise StepFailed(f"pushing to {stage} while {self._current} is targeted")
        name = stage_manifest_name(stage)
        self._shell.action(
            f"write {name}: manifest.yml, VERSION={release.version}, GIT_COMMIT={release.commit}",
            lambda: write_stage_manifest(release, stage, None),
        )
        target = self._stages[stage]
        pushed = LocalRelease(release.directory, release.directory / name)
        self._shell.action(
            f"push {release.tag} to {stage}: manifest.yml's command in {release.directory}"
            f" on {target.url}, with services of its own bound through VCAP_SERVICES",
            lambda: self._deploy(target, pushed),
        )

    def _deploy(self, target: Stage, release: LocalRelease) -> None:
        try:
            target.push(release)
        except DeployError as error:
            raise StepFailed(str(error)) from error

    def url(self, stage: str) -> str:
        return self._settings.e2e_url(stage) or self._stages[stage].url

    def rollback_plan(self) -> str:
        return "push the previous release's checkout again (or stop the app if none)"

    def rollback(self, stage: str, previous_release: Callable[[], Release | None]) -> str:
        previous = previous_release()
        if previous is not None:
            self.push(stage, previous)
            return f"re-pushed the previous release {previous.tag}"
        self._shell.action(f"stop the app in {stage}", self._stages[stage].stop_app)
        return "no earlier release to go back to: stopped the app"

    def teardown(self) -> None:
        for stage in self._stages.values():
            stage.teardown()
