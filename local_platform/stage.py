"""A space of the local platform (staging, production): its bound services, kept across
pushes as service instances are, and at most one running release of the app on one URL.
Every process is stopped by `teardown()`, or by the kernel when the deploying process
dies first (see processes.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from example_app.bindings import BINDINGS
from local_platform.app import App, AppManifest, app_environment
from local_platform.processes import DeployError, free_port, on_a_free_port
from local_platform.services import Service, start_services, stop_services

READY_TIMEOUT = 30.0


@dataclass(frozen=True)
class Release:
    """What was pushed: the app's directory and the manifest it was pushed with."""

    app_dir: Path
    manifest_path: Path

    @property
    def manifest(self) -> AppManifest:
        return AppManifest.read(self.manifest_path)


class Stage:
    """One space on a fixed loopback port (a free one unless given)."""

    def __init__(self, name: str, workdir: Path, port: int | None = None) -> None:
        self.name = name
        self.workdir = workdir / name
        self._port_given = port is not None
        self.port = port if port is not None else free_port()
        self.release: Release | None = None
        # One per binding of example_app/bindings.py, started by the first push.
        self.services: Mapping[str, Service] = {}
        self._app: App | None = None
        self._pushes = 0

    @property
    def url(self) -> str:
        return f"http://{App.host}:{self.port}"

    def push(self, release: Release) -> None:
        """Replace the running release (if any) with this one, and wait until it is ready."""
        manifest = release.manifest
        if not self.services:
            self.services = start_services(BINDINGS, self.workdir / "services")
        self.stop_app()
        # Before the first release is out, nobody knows this stage's URL yet.
        may_move = not self._port_given and self.release is None
        try:
            self._app = on_a_free_port(
                lambda port: self._start_app(release.app_dir, manifest, port),
                self.port,
                may_move=may_move,
            )
        except DeployError as error:
            raise DeployError(f"{self.name}: {error}") from None
        self.port = self._app.port
        self.release = release

    def _start_app(self, directory: Path, manifest: AppManifest, port: int) -> App:
        self._pushes += 1
        env = app_environment(manifest, port=port, space=self.name, services=self.services.values())
        app = App(directory, manifest, env, self.workdir / f"release-{self._pushes}")
        app.start()
        app.wait_answering("/health/ready", READY_TIMEOUT)  # stops it if not
        return app

    def stop_app(self) -> None:
        if self._app is not None:
            self._app.stop()
            self._app = None

    def teardown(self) -> None:
        """Stop the app and every service of this stage."""
        try:
            self.stop_app()
        finally:
            stop_services(self.services)
            self.services = {}


@contextlib.contextmanager
def deployed(
    app_dir: Path, workdir: Path, *, name: str = "local", env: Mapping[str, str] | None = None
) -> Iterator[Stage]:
    """The app in `app_dir` pushed with its manifest.yml (plus `env`), torn down after."""
    manifest_path = app_dir / "manifest.yml"
    if env:
        # As `cf push` with extra env in the manifest: a copy beside the workdir's logs.
        document = yaml.safe_load(manifest_path.read_text())
        document["applications"][0].setdefault("env", {}).update(env)
        manifest_path = workdir / "manifest.yml"
        manifest_path.write_text(yaml.safe_dump(document, sort_keys=False))
    stage = Stage(name, workdir)
    try:
        stage.push(Release(app_dir, manifest_path))
        yield stage
    finally:
        stage.teardown()
